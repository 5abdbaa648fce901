/*
 * nginx-gamma: the HTTPS client of the Kubernetes source.  Requests to the
 * API server share one libcurl multi handle (HTTP/2 multiplexed when the
 * server offers it) and are driven from the watcher thread only.
 */

#ifndef GM_KUBE_CLIENT_H
#define GM_KUBE_CLIENT_H


#include <stddef.h>
#include <stdint.h>

#include "gm_log.h"


#define GM_KUBE_MAX_BODY   (64 * 1024 * 1024)     /* one list page */
#define GM_KUBE_MAX_EVENT  (16 * 1024 * 1024)     /* one watch event */


typedef struct gm_kube_client_s  gm_kube_client_t;
typedef struct gm_kube_req_s     gm_kube_req_t;

typedef struct {
    int           code;           /* CURLcode: 0 when the transfer ended */
    long          status;         /* HTTP status: 0 when none arrived */
    const char   *error;          /* why it failed, when code != 0 */
    char         *body;           /* NUL-terminated; "" for a stream */
    size_t        body_len;       /* an error status keeps its body */
    long          retry_after_s;  /* Retry-After; 0 when absent */
    int64_t       duration_ms;
    unsigned      aborted:1;      /* the line handler stopped it */
    unsigned      stalled:1;      /* no byte for the stall timeout */
} gm_kube_result_t;

/* one line of a 200 stream, NUL-terminated in place; non-zero aborts */
typedef int (*gm_kube_line_pt)(void *data, char *line, size_t len);
/* the request ended; res lives until the handler returns */
typedef void (*gm_kube_done_pt)(void *data, gm_kube_result_t *res);

typedef struct {
    const char   *url;            /* https://host:port */
    const char   *ca_file;        /* NULL: the system's CA store */
    const char   *token_file;     /* NULL: no token */
    unsigned      stall_timeout_ms;
} gm_kube_client_conf_t;


gm_kube_client_t *gm_kube_client_create(const gm_kube_client_conf_t *conf,
    const gm_log_t *log);
/* cancels what is in flight, without calling handlers */
void gm_kube_client_destroy(gm_kube_client_t *c);

/* see gm_kube_source_wait() */
int gm_kube_client_wait(gm_kube_client_t *c, int stop_fd, int timeout_ms);
/* moves the transfers on and calls the handlers of those that ended */
void gm_kube_client_run(gm_kube_client_t *c);

/*
 * Starts "GET <url><path_query>".  With a line handler a 200 body is a
 * stream handed out line by line; without, the body is collected.
 * NULL on failure (logged).
 */
gm_kube_req_t *gm_kube_request(gm_kube_client_t *c, const char *path_query,
    gm_kube_line_pt line, gm_kube_done_pt done, void *data);
/* a request that receives no byte for ms ends as stalled (a watch) */
void gm_kube_request_stall_timeout(gm_kube_req_t *r, unsigned ms);
/*
 * Starts "<method> <url><path_query>" with a JSON body (NULL: none); the
 * response body is collected.  NULL on failure (logged).
 */
gm_kube_req_t *gm_kube_request_body(gm_kube_client_t *c, const char *method,
    const char *path_query, const char *body, gm_kube_done_pt done,
    void *data);

/* ends a request without calling its done handler */
void gm_kube_request_cancel(gm_kube_req_t *r);

/* after a 401: the token file is read again for the next request */
void gm_kube_client_token_expire(gm_kube_client_t *c);

int64_t gm_kube_now_ms(void);


#endif /* GM_KUBE_CLIENT_H */
