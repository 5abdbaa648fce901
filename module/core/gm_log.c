/*
 * nginx-gamma: how the core reports problems without knowing nginx.
 */

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "gm_limits.h"
#include "gm_log.h"


static void gm_log_limited(void *data, gm_log_level_e level,
    const char *msg);
static int64_t gm_log_now_ms(void);


void
gm_log(const gm_log_t *log, gm_log_level_e level, const char *fmt, ...)
{
    char     buf[GM_LOG_LINE_MAX];
    va_list  args;

    if (log == NULL || log->handler == NULL) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    log->handler(log->data, level, buf);
}


void
gm_log_limit_init(gm_log_limit_t *ll, const gm_log_t *next, unsigned burst,
    unsigned window_ms)
{
    ll->log.handler = gm_log_limited;
    ll->log.data = ll;
    ll->next = next;
    ll->burst = burst;
    ll->window_ms = window_ms;
    /* the first line opens the first window (not the limiter's start) */
    ll->start_ms = gm_log_now_ms() - window_ms;
    ll->passed = 0;
    ll->suppressed = 0;
    ll->level = GM_LOG_DEBUG;
}


static void
gm_log_limited(void *data, gm_log_level_e level, const char *msg)
{
    gm_log_limit_t  *ll = data;

    int64_t  now;

    if (ll->next == NULL || ll->next->handler == NULL) {
        return;
    }

    now = gm_log_now_ms();

    if (now - ll->start_ms >= ll->window_ms) {
        gm_log_limit_flush(ll);
        ll->start_ms = now;
        ll->passed = 0;
    }

    /* debug lines are cheap to drop and never counted against the rest */
    if (level == GM_LOG_DEBUG) {
        ll->next->handler(ll->next->data, level, msg);
        return;
    }

    if (ll->passed < ll->burst) {
        ll->passed++;
        ll->next->handler(ll->next->data, level, msg);
        return;
    }

    ll->suppressed++;

    if (level < ll->level) {
        ll->level = level;
    }
}


void
gm_log_limit_flush(gm_log_limit_t *ll)
{
    if (ll->suppressed == 0) {
        return;
    }

    gm_log(ll->next, ll->level, "%lu more lines like the above suppressed "
           "(at most %u are logged every %u ms)", ll->suppressed, ll->burst,
           ll->window_ms);

    ll->suppressed = 0;
    ll->level = GM_LOG_DEBUG;
}


void
gm_log_limit_tick(gm_log_limit_t *ll)
{
    if (ll->suppressed && gm_log_now_ms() - ll->start_ms >= ll->window_ms) {
        gm_log_limit_flush(ll);
    }
}


static int64_t
gm_log_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
