/*
 * nginx-gamma: how the core reports problems without knowing nginx.
 */

#ifndef GM_LOG_H
#define GM_LOG_H


#include <stdint.h>


typedef enum {
    GM_LOG_ERR = 0,
    GM_LOG_WARN,
    GM_LOG_NOTICE,
    GM_LOG_INFO,
    GM_LOG_DEBUG
} gm_log_level_e;


/* msg is one complete line without a trailing newline */
typedef void (*gm_log_pt)(void *data, gm_log_level_e level, const char *msg);

typedef struct {
    gm_log_pt   handler;
    void       *data;
} gm_log_t;

/*
 * A log that lets at most "burst" lines through per window and counts the
 * rest: a manifest with 36,000 bad objects logs the first ones and how
 * many more there were, not 36,000 lines.  Hand out &limit->log.
 */
typedef struct {
    gm_log_t         log;
    const gm_log_t  *next;
    unsigned         burst;
    unsigned         window_ms;
    int64_t          start_ms;
    unsigned         passed;
    unsigned long    suppressed;
    gm_log_level_e   level;         /* the most severe one suppressed */
} gm_log_limit_t;


void gm_log(const gm_log_t *log, gm_log_level_e level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void gm_log_limit_init(gm_log_limit_t *ll, const gm_log_t *next,
    unsigned burst, unsigned window_ms);
/* logs how many lines were suppressed, if any */
void gm_log_limit_flush(gm_log_limit_t *ll);
/* the same, once the window is over: for sources without a natural end */
void gm_log_limit_tick(gm_log_limit_t *ll);


#endif /* GM_LOG_H */
