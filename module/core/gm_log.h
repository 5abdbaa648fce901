/*
 * nginx-gamma: how the core reports problems without knowing nginx.
 */

#ifndef GM_LOG_H
#define GM_LOG_H


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


void gm_log(const gm_log_t *log, gm_log_level_e level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


#endif /* GM_LOG_H */
