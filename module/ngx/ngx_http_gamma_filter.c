/*
 * nginx-gamma: HTTPRoute filters applied to requests and responses.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


ngx_int_t
ngx_http_gamma_filter_rule(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    return NGX_DECLINED;
}


ngx_int_t
ngx_http_gamma_filter_backend(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    return NGX_DECLINED;
}


ngx_int_t
ngx_http_gamma_filter_init(ngx_conf_t *cf)
{
    return NGX_OK;
}
