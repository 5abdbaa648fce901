/*
 * nginx-gamma: error log lines from the watcher thread.
 *
 * ngx_log_error() is not for threads: it stamps a line with nginx's
 * cached time, which only the process's event loop may move, and skips
 * the write while ngx_time() equals the log's disk_full_time (0 until a
 * disk fills).  Refreshing that cache from the thread
 * (ngx_time_sigsafe_update()) raced with the event loop: ngx_time() read
 * 0 for a while and lines were silently lost (t/059 lost 37 rejections in
 * a row, "snapshot N published" went missing).  Here the line is stamped
 * with the thread's own clock and written to every log of the chain whose
 * level admits it, as ngx_log_error_core() does.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <time.h>

#include "ngx_http_gamma_module.h"


static ngx_str_t  ngx_http_gamma_log_level_names[] = {
    ngx_null_string,
    ngx_string("emerg"),
    ngx_string("alert"),
    ngx_string("crit"),
    ngx_string("error"),
    ngx_string("warn"),
    ngx_string("notice"),
    ngx_string("info"),
    ngx_string("debug")
};


void
ngx_http_gamma_thread_log(ngx_uint_t level, ngx_log_t *log, const char *fmt,
    ...)
{
    u_char          *p, *last;
    va_list          args;
    struct tm        tm;
    struct timeval   tv;
    u_char           line[NGX_MAX_ERROR_STR];

    if (log == NULL || log->log_level < level || level > NGX_LOG_DEBUG) {
        return;
    }

    ngx_gettimeofday(&tv);
    localtime_r(&tv.tv_sec, &tm);

    last = line + NGX_MAX_ERROR_STR - 1;

    p = ngx_slprintf(line, last, "%4d/%02d/%02d %02d:%02d:%02d [%V] %P#"
                     NGX_TID_T_FMT ": ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     &ngx_http_gamma_log_level_names[level], ngx_log_pid,
                     ngx_log_tid);

    va_start(args, fmt);
    p = ngx_vslprintf(p, last, fmt, args);
    va_end(args);

    *p++ = LF;

    /* the chain is sorted by level, the most verbose first */
    for ( /* void */ ; log != NULL; log = log->next) {
        if (log->log_level < level) {
            break;
        }

        if (log->writer) {
            log->writer(log, level, line, p - line);
            continue;
        }

        (void) ngx_write_fd(log->file->fd, line, p - line);
    }
}
