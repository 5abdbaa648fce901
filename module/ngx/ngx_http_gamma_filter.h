/*
 * nginx-gamma: HTTPRoute filters applied to requests and responses.
 */

#ifndef NGX_HTTP_GAMMA_FILTER_H
#define NGX_HTTP_GAMMA_FILTER_H


#include "ngx_http_gamma_module.h"
#include "gm_filter.h"


/* a rule and a backendRef: each a ResponseHeaderModifier and a CORS */
#define NGX_HTTP_GAMMA_MAX_RESPONSE_FILTERS  4

/* how long a mirror may take, connect to response header, in ms */
#define NGX_HTTP_GAMMA_MIRROR_TIMEOUT        1000


/* a mirror to send: the request as the filters before it left it */
typedef struct {
    const gm_mirror_t           *mirror;
    ngx_str_t                    uri;
    ngx_str_t                    args;
    ngx_str_t                    host;
    ngx_list_t                   headers;
    ngx_http_request_t          *sr;
    ngx_event_t                  timer;
    unsigned                     valid_unparsed_uri:1;
    unsigned                     done:1;
    unsigned                     timed_out:1;
    unsigned                     failed:1;    /* not sent, error, 5xx */
} ngx_http_gamma_mirror_t;


/* per request, hung off ngx_http_gamma_ctx_t.filter */
struct ngx_http_gamma_filter_ctx_s {
    /* the Host sent upstream when a filter changed it */
    ngx_str_t                    upstream_host;
    /* ResponseHeaderModifier and CORS filters, in the order listed */
    const gm_route_filter_t     *response[NGX_HTTP_GAMMA_MAX_RESPONSE_FILTERS];
    ngx_uint_t                   nresponse;
    ngx_array_t                 *mirrors;     /* ngx_http_gamma_mirror_t */
    ngx_http_gamma_mirror_t     *mirror;      /* in a mirror subrequest */
    /* the location's content handler, which the mirrors' wraps */
    ngx_http_handler_pt          content;
    unsigned                     preflight:1; /* answering a CORS preflight */
    unsigned                     headers_own:1;   /* not the parent's list */
};

typedef struct ngx_http_gamma_filter_ctx_s  ngx_http_gamma_filter_ctx_t;


/*
 * The matching rule's filters, before a backend is chosen.  NGX_DECLINED
 * goes on to the backend; anything else (a redirect, a CORS preflight
 * answered here, an error) is the request's result.
 */
ngx_int_t ngx_http_gamma_filter_rule(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);

/* the chosen backendRef's filters; same return convention */
ngx_int_t ngx_http_gamma_filter_backend(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);

/* postconfiguration: response header filters and the like */
ngx_int_t ngx_http_gamma_filter_init(ngx_conf_t *cf);

/* ngx_http_gamma_headers.c */
ngx_int_t ngx_http_gamma_headers_request(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_header_mod_t *hm);
ngx_int_t ngx_http_gamma_headers_response(ngx_http_request_t *r,
    const gm_header_mod_t *hm);
ngx_int_t ngx_http_gamma_header_out(ngx_http_request_t *r,
    const char *name, ngx_str_t *value, ngx_uint_t add);
ngx_table_elt_t *ngx_http_gamma_header_in(ngx_http_request_t *r,
    const char *lname);
ngx_int_t ngx_http_gamma_headers_copy(ngx_pool_t *pool, ngx_list_t *dst,
    ngx_list_t *src);

/* ngx_http_gamma_rewrite.c */
ngx_int_t ngx_http_gamma_rewrite(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_rewrite_t *rw);
ngx_int_t ngx_http_gamma_rewrite_path(ngx_http_request_t *r,
    const gm_path_mod_t *pm, ngx_str_t *path);

/* ngx_http_gamma_redirect.c */
ngx_int_t ngx_http_gamma_redirect(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_redirect_t *rd);

/* ngx_http_gamma_mirror.c */
ngx_int_t ngx_http_gamma_mirror_add(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_mirror_t *m);

/* ngx_http_gamma_cors.c */
ngx_int_t ngx_http_gamma_cors_preflight(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx);
ngx_int_t ngx_http_gamma_cors_response(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_cors_t *cors);


#endif /* NGX_HTTP_GAMMA_FILTER_H */
