/*
 * nginx-gamma: the HTTPS client of the Kubernetes source.
 *
 * TLS is always verified; the CA file is read again for every new
 * connection, so a rotated ca.crt takes effect without a restart.  A
 * stream that sends no byte for the stall timeout is ended here: the
 * server's own timeoutSeconds and bookmarks keep a healthy one talking.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gm_curl.h"
#include "gm_kube_auth.h"
#include "gm_kube_client.h"


#define GM_KUBE_CONNECT_TIMEOUT_MS  10000
#define GM_KUBE_MAX_ERROR_BODY      65536


struct gm_kube_client_s {
    CURLM             *multi;
    char              *url;
    char              *ca_file;
    gm_kube_token_t   *token;
    const gm_log_t    *log;
    unsigned           stall_timeout_ms;
    gm_kube_req_t     *reqs;
};

struct gm_kube_req_s {
    gm_kube_req_t       *next;
    gm_kube_client_t    *client;
    CURL                *easy;
    struct curl_slist   *headers;
    gm_kube_line_pt      line;
    gm_kube_done_pt      done;
    void                *data;
    char                *buf;
    size_t               len;
    size_t               cap;
    size_t               scanned;     /* bytes of buf known to hold no \n */
    int64_t              start_ms;
    int64_t              last_ms;
    unsigned             stall_ms;
    char                 error[CURL_ERROR_SIZE];
    char                 reason[CURL_ERROR_SIZE + 256];
    unsigned             aborted:1;
};


static gm_kube_req_t *gm_kube_request_start(gm_kube_client_t *c,
    const char *method, const char *path_query, const char *body,
    gm_kube_line_pt line, gm_kube_done_pt done, void *data);
static CURL *gm_kube_easy(gm_kube_client_t *c, gm_kube_req_t *r,
    const char *url);
static struct curl_slist *gm_kube_headers(gm_kube_client_t *c);
static size_t gm_kube_write(char *ptr, size_t size, size_t n, void *data);
static int gm_kube_append(gm_kube_req_t *r, const char *p, size_t n,
    size_t max);
static int gm_kube_split(gm_kube_req_t *r);
static void gm_kube_finish(gm_kube_req_t *r, int code, unsigned stalled);
static const char *gm_kube_reason(gm_kube_req_t *r, int code);
static void gm_kube_unlink(gm_kube_req_t *r);
static void gm_kube_req_free(gm_kube_req_t *r);
static void gm_kube_check_stalls(gm_kube_client_t *c);


gm_kube_client_t *
gm_kube_client_create(const gm_kube_client_conf_t *conf, const gm_log_t *log)
{
    gm_kube_client_t  *c;

    c = calloc(1, sizeof(gm_kube_client_t));
    if (c == NULL) {
        return NULL;
    }

    c->log = log;
    c->stall_timeout_ms = conf->stall_timeout_ms;
    c->url = strdup(conf->url);
    c->ca_file = conf->ca_file ? strdup(conf->ca_file) : NULL;
    c->token = gm_kube_token_create(conf->token_file, log);
    c->multi = curl_multi_init();

    if (c->url == NULL || (conf->ca_file && c->ca_file == NULL)
        || c->token == NULL || c->multi == NULL)
    {
        gm_kube_client_destroy(c);
        return NULL;
    }

    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);

    return c;
}


void
gm_kube_client_destroy(gm_kube_client_t *c)
{
    if (c == NULL) {
        return;
    }

    while (c->reqs) {
        gm_kube_request_cancel(c->reqs);
    }

    if (c->multi) {
        curl_multi_cleanup(c->multi);
    }

    gm_kube_token_destroy(c->token);
    free(c->ca_file);
    free(c->url);
    free(c);
}


int
gm_kube_client_wait(gm_kube_client_t *c, int stop_fd, int timeout_ms)
{
    int64_t               now, due;
    CURLMcode             rc;
    gm_kube_req_t        *r;
    struct curl_waitfd    stop;

    now = gm_kube_now_ms();

    for (r = c->reqs; r; r = r->next) {
        due = r->last_ms + r->stall_ms - now;
        due = due < 0 ? 0 : due;

        if (timeout_ms < 0 || due < timeout_ms) {
            timeout_ms = (int) due;
        }
    }

    stop.fd = stop_fd;
    stop.events = CURL_WAIT_POLLIN;
    stop.revents = 0;

    rc = curl_multi_poll(c->multi, &stop, 1,
                         timeout_ms < 0 ? 60000 : timeout_ms, NULL);

    if (rc != CURLM_OK) {
        gm_log(c->log, GM_LOG_ERR, "kubernetes: curl_multi_poll() failed: %s",
               curl_multi_strerror(rc));
        return -1;
    }

    return stop.revents ? -1 : 0;
}


void
gm_kube_client_run(gm_kube_client_t *c)
{
    int           running, left;
    CURLMsg      *msg;
    gm_kube_req_t *r;

    curl_multi_perform(c->multi, &running);

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);

        if (r != NULL) {
            gm_kube_finish(r, msg->data.result, 0);
        }
    }

    gm_kube_check_stalls(c);
}


gm_kube_req_t *
gm_kube_request(gm_kube_client_t *c, const char *path_query,
    gm_kube_line_pt line, gm_kube_done_pt done, void *data)
{
    return gm_kube_request_start(c, NULL, path_query, NULL, line, done, data);
}


gm_kube_req_t *
gm_kube_request_body(gm_kube_client_t *c, const char *method,
    const char *path_query, const char *body, gm_kube_done_pt done,
    void *data)
{
    return gm_kube_request_start(c, method, path_query, body, NULL, done,
                                 data);
}


/* method NULL: GET; a body is JSON */

static gm_kube_req_t *
gm_kube_request_start(gm_kube_client_t *c, const char *method,
    const char *path_query, const char *body, gm_kube_line_pt line,
    gm_kube_done_pt done, void *data)
{
    char               *url;
    gm_kube_req_t      *r;
    struct curl_slist  *h;

    r = calloc(1, sizeof(gm_kube_req_t));
    url = malloc(strlen(c->url) + strlen(path_query) + 1);

    if (r == NULL || url == NULL) {
        free(r);
        free(url);
        return NULL;
    }

    strcpy(stpcpy(url, c->url), path_query);

    r->client = c;
    r->line = line;
    r->done = done;
    r->data = data;
    r->start_ms = gm_kube_now_ms();
    r->last_ms = r->start_ms;
    r->stall_ms = c->stall_timeout_ms;
    r->headers = gm_kube_headers(c);
    r->easy = gm_kube_easy(c, r, url);

    free(url);

    if (body && r->headers && r->easy) {
        h = curl_slist_append(r->headers, "Content-Type: application/json");
        r->headers = h ? h : r->headers;
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body);
    }

    if (method && r->easy) {
        curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
    }

    if (r->headers == NULL || r->easy == NULL
        || curl_multi_add_handle(c->multi, r->easy) != CURLM_OK)
    {
        gm_log(c->log, GM_LOG_ERR, "kubernetes: cannot start a request");
        gm_kube_req_free(r);
        return NULL;
    }

    r->next = c->reqs;
    c->reqs = r;

    return r;
}


static CURL *
gm_kube_easy(gm_kube_client_t *c, gm_kube_req_t *r, const char *url)
{
    CURL  *easy;

    easy = curl_easy_init();
    if (easy == NULL) {
        return NULL;
    }

    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, gm_kube_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (c->stall_timeout_ms < GM_KUBE_CONNECT_TIMEOUT_MS
                             ? c->stall_timeout_ms
                             : GM_KUBE_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "nginx-gamma");

    if (c->ca_file) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
    }

    if (r->line == NULL) {
        /* lists compress well; the API server never compresses watches */
        curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
    }

    return easy;
}


static struct curl_slist *
gm_kube_headers(gm_kube_client_t *c)
{
    char               *auth;
    const char         *token;
    struct curl_slist  *h, *more;

    h = curl_slist_append(NULL, "Accept: application/json");
    if (h == NULL) {
        return NULL;
    }

    token = gm_kube_token_get(c->token, gm_kube_now_ms());

    if (token == NULL) {
        return h;
    }

    if (asprintf(&auth, "Authorization: Bearer %s", token) == -1) {
        curl_slist_free_all(h);
        return NULL;
    }

    more = curl_slist_append(h, auth);

    explicit_bzero(auth, strlen(auth));
    free(auth);

    if (more == NULL) {
        curl_slist_free_all(h);
    }

    return more;
}


static size_t
gm_kube_write(char *ptr, size_t size, size_t n, void *data)
{
    gm_kube_req_t  *r = data;

    long  status;

    r->last_ms = gm_kube_now_ms();
    n *= size;

    status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);

    if (r->line == NULL || status != 200) {
        /* a list page, or the Status object of an error */
        if (gm_kube_append(r, ptr, n, status == 200 || r->line == NULL
                                      ? GM_KUBE_MAX_BODY
                                      : GM_KUBE_MAX_ERROR_BODY)
            != 0)
        {
            return CURL_WRITEFUNC_ERROR;
        }

        return n;
    }

    if (gm_kube_append(r, ptr, n, GM_KUBE_MAX_EVENT) != 0
        || gm_kube_split(r) != 0)
    {
        return CURL_WRITEFUNC_ERROR;
    }

    return n;
}


static int
gm_kube_append(gm_kube_req_t *r, const char *p, size_t n, size_t max)
{
    char    *buf;
    size_t   cap;

    if (r->len + n > max) {
        snprintf(r->reason, sizeof(r->reason),
                 "%s larger than %zu bytes", r->line ? "an event" : "a body",
                 max);
        r->aborted = 1;
        return -1;
    }

    if (r->len + n + 1 > r->cap) {
        cap = r->cap ? r->cap : 16384;

        while (cap < r->len + n + 1) {
            cap *= 2;
        }

        buf = realloc(r->buf, cap);
        if (buf == NULL) {
            snprintf(r->reason, sizeof(r->reason), "out of memory");
            r->aborted = 1;
            return -1;
        }

        r->buf = buf;
        r->cap = cap;
    }

    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';

    return 0;
}


/* hands out the complete lines: events need not follow chunk boundaries */
static int
gm_kube_split(gm_kube_req_t *r)
{
    char    *start, *from, *nl, *end;

    start = r->buf;
    from = r->buf + r->scanned;
    end = r->buf + r->len;

    while ((nl = memchr(from, '\n', end - from)) != NULL) {
        *nl = '\0';

        if (nl > start && r->line(r->data, start, nl - start) != 0) {
            r->aborted = 1;
            return -1;
        }

        start = nl + 1;
        from = start;
    }

    r->len = end - start;
    memmove(r->buf, start, r->len);
    r->buf[r->len] = '\0';
    r->scanned = r->len;

    return 0;
}


static void
gm_kube_finish(gm_kube_req_t *r, int code, unsigned stalled)
{
    gm_kube_result_t  res;
    curl_off_t        retry;

    memset(&res, 0, sizeof(res));

    res.code = code;
    res.aborted = r->aborted;
    res.stalled = stalled;
    res.duration_ms = gm_kube_now_ms() - r->start_ms;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);

    retry = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry);
    res.retry_after_s = (long) retry;

    res.body = (r->line && res.status == 200) || r->buf == NULL ? ""
                                                                 : r->buf;
    res.body_len = res.body == r->buf ? r->len : 0;

    if (code != CURLE_OK) {
        res.error = gm_kube_reason(r, code);
    }

    gm_kube_unlink(r);
    r->done(r->data, &res);
    gm_kube_req_free(r);
}


static const char *
gm_kube_reason(gm_kube_req_t *r, int code)
{
    gm_kube_client_t  *c = r->client;

    const char  *text;

    if (r->reason[0]) {
        return r->reason;
    }

    text = r->error[0] ? r->error : curl_easy_strerror(code);

    switch (code) {

    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
        snprintf(r->reason, sizeof(r->reason),
                 "TLS with the API server %s failed, check the CA file "
                 "\"%s\": %s", c->url,
                 c->ca_file ? c->ca_file : "(system CA store)", text);
        break;

    default:
        snprintf(r->reason, sizeof(r->reason), "%s", text);
    }

    return r->reason;
}


void
gm_kube_request_stall_timeout(gm_kube_req_t *r, unsigned ms)
{
    r->stall_ms = ms;
}


void
gm_kube_request_cancel(gm_kube_req_t *r)
{
    gm_kube_unlink(r);
    gm_kube_req_free(r);
}


static void
gm_kube_unlink(gm_kube_req_t *r)
{
    gm_kube_req_t  **pr;

    for (pr = &r->client->reqs; *pr; pr = &(*pr)->next) {
        if (*pr == r) {
            *pr = r->next;
            break;
        }
    }

    if (r->easy) {
        curl_multi_remove_handle(r->client->multi, r->easy);
    }
}


static void
gm_kube_req_free(gm_kube_req_t *r)
{
    if (r->easy) {
        curl_easy_cleanup(r->easy);
    }

    curl_slist_free_all(r->headers);
    free(r->buf);
    free(r);
}


static void
gm_kube_check_stalls(gm_kube_client_t *c)
{
    int64_t         now;
    gm_kube_req_t  *r, *next;

    now = gm_kube_now_ms();

    for (r = c->reqs; r; r = next) {
        next = r->next;

        if (now - r->last_ms < (int64_t) r->stall_ms) {
            continue;
        }

        snprintf(r->reason, sizeof(r->reason), "no data for %u ms",
                 r->stall_ms);

        /* the handler may start requests: walk again from the start */
        gm_kube_finish(r, CURLE_OPERATION_TIMEDOUT, 1);
        next = c->reqs;
    }
}


void
gm_kube_client_token_expire(gm_kube_client_t *c)
{
    gm_kube_token_expire(c->token);
}


int64_t
gm_kube_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
