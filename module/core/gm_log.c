/*
 * nginx-gamma: how the core reports problems without knowing nginx.
 */

#include <stdarg.h>
#include <stdio.h>

#include "gm_log.h"


void
gm_log(const gm_log_t *log, gm_log_level_e level, const char *fmt, ...)
{
    char     buf[1024];
    va_list  args;

    if (log == NULL || log->handler == NULL) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    log->handler(log->data, level, buf);
}
