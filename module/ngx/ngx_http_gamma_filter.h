/*
 * nginx-gamma: HTTPRoute filters applied to requests and responses.
 */

#ifndef NGX_HTTP_GAMMA_FILTER_H
#define NGX_HTTP_GAMMA_FILTER_H


#include "ngx_http_gamma_module.h"


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


#endif /* NGX_HTTP_GAMMA_FILTER_H */
