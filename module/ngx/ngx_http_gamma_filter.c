/*
 * nginx-gamma: HTTPRoute filters applied to requests and responses.
 *
 * The router runs the rule's filters once a rule matched, then the chosen
 * backendRef's filters; each list runs in the order listed, and a filter
 * that answers the request (a redirect, a CORS preflight) ends it.  The
 * response side (ResponseHeaderModifier, CORS headers) runs in a header
 * filter, rule filters first, and applies to every response of a matched
 * rule, the ones nginx-gamma generates itself included.  Each filter type
 * lives in its own file; this one dispatches.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


static ngx_int_t ngx_http_gamma_filter_run(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_filters_t *fs);
static ngx_http_gamma_filter_ctx_t *ngx_http_gamma_filter_ctx(
    ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx);
static void ngx_http_gamma_filter_response_add(
    ngx_http_gamma_filter_ctx_t *fctx, const gm_filters_t *fs);
static ngx_int_t ngx_http_gamma_filter_apply(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_filter_ctx_t *fctx,
    const gm_route_filter_t *f);
static ngx_int_t ngx_http_gamma_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_gamma_header_filter_main(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx) __attribute__((noinline));
static ngx_int_t ngx_http_gamma_header_filter_run(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx) __attribute__((noinline));


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


ngx_int_t
ngx_http_gamma_filter_rule(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    if (ctx->rule == NULL || !ctx->rule->has_filters) {
        return NGX_DECLINED;
    }

    return ngx_http_gamma_filter_run(r, ctx, ctx->rule->ext->filters);
}


ngx_int_t
ngx_http_gamma_filter_backend(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    const gm_filters_t  *fs;

    if (ctx->weighted == NULL || ctx->rule == NULL
        || !ctx->rule->has_backend_filters)
    {
        return NGX_DECLINED;
    }

    /* ctx->weighted is one of ctx->rule's backends */
    fs = gm_rule_backend_filters(ctx->rule,
                                 ctx->weighted - ctx->rule->backends);
    if (fs == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_gamma_filter_run(r, ctx, fs);
}


ngx_int_t
ngx_http_gamma_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gamma_header_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_filter_run(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    const gm_filters_t *fs)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i;
    ngx_http_gamma_filter_ctx_t  *fctx;

    fctx = ngx_http_gamma_filter_ctx(r, ctx);
    if (fctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the response side applies whatever request filter answers */
    ngx_http_gamma_filter_response_add(fctx, fs);

    for (i = 0; i < fs->nfilters; i++) {
        rc = ngx_http_gamma_filter_apply(r, ctx, fctx, &fs->filters[i]);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return NGX_DECLINED;
}


static ngx_http_gamma_filter_ctx_t *
ngx_http_gamma_filter_ctx(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    if (ctx->filter == NULL) {
        ctx->filter = ngx_pcalloc(r->pool,
                                  sizeof(ngx_http_gamma_filter_ctx_t));
    }

    return ctx->filter;
}


static void
ngx_http_gamma_filter_response_add(ngx_http_gamma_filter_ctx_t *fctx,
    const gm_filters_t *fs)
{
    ngx_uint_t                i;
    const gm_route_filter_t  *f;

    if (!fs->response) {
        return;
    }

    for (i = 0; i < fs->nfilters; i++) {
        f = &fs->filters[i];

        if ((f->type == GM_FILTER_RESPONSE_HEADER_MODIFIER
             || f->type == GM_FILTER_CORS)
            && fctx->nresponse < NGX_HTTP_GAMMA_MAX_RESPONSE_FILTERS)
        {
            fctx->response[fctx->nresponse++] = f;
        }
    }
}


static ngx_int_t
ngx_http_gamma_filter_apply(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_route_filter_t *f)
{
    switch (f->type) {

    case GM_FILTER_REQUEST_HEADER_MODIFIER:
        return ngx_http_gamma_headers_request(r, fctx, &f->u.header);

    case GM_FILTER_URL_REWRITE:
        return ngx_http_gamma_rewrite(r, fctx, &f->u.rewrite);

    case GM_FILTER_REQUEST_REDIRECT:
        return ngx_http_gamma_redirect(r, ctx, &f->u.redirect);

    case GM_FILTER_REQUEST_MIRROR:
        return ngx_http_gamma_mirror_add(r, fctx, &f->u.mirror);

    case GM_FILTER_CORS:
        /* a preflight is answered here, the headers come with the answer */
        return ngx_http_gamma_cors_preflight(r, fctx);

    default:
        /* ResponseHeaderModifier: the header filter */
        return NGX_DECLINED;
    }
}


/*
 * The module's one header filter (each filter in the chain costs every
 * response a call): in this order, a session's token for the client
 * (ngx_http_gamma_session.c), the 503 of a retry the budget refused, the
 * rule's response filters, and the gRPC form of nginx's own errors
 * (ngx_http_gamma_grpc.c).  Subrequests (mirrors) pass untouched.
 */
static ngx_int_t
ngx_http_gamma_header_filter(ngx_http_request_t *r)
{
    ngx_http_gamma_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (r == r->main
        && ((ctx != NULL
             && (ctx->session != NULL || ctx->retry_denied == 1
                 || ctx->filter != NULL))
            || r->err_status >= NGX_HTTP_BAD_REQUEST))
    {
        return ngx_http_gamma_header_filter_main(r, ctx);
    }

    return ngx_http_next_header_filter(r);
}


/* out of line: the common response has none of it, and a lighter frame */
static ngx_int_t
ngx_http_gamma_header_filter_main(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    if (ctx != NULL) {
        if (ctx->session != NULL
            && ngx_http_gamma_session_header(r, ctx) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ctx->retry_denied == 1) {
            return ngx_http_gamma_retry_denied(r, ctx);
        }

        if (ctx->filter != NULL
            && ngx_http_gamma_header_filter_run(r, ctx->filter) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (r->err_status >= NGX_HTTP_BAD_REQUEST
        && ngx_http_gamma_grpc_header(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/* out of line: most responses have no filter, and pass by quickly */
static ngx_int_t
ngx_http_gamma_header_filter_run(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx)
{
    ngx_int_t                 rc;
    ngx_uint_t                i;
    const gm_route_filter_t  *f;

    for (i = 0; i < fctx->nresponse; i++) {
        f = fctx->response[i];

        rc = (f->type == GM_FILTER_CORS)
             ? ngx_http_gamma_cors_response(r, fctx, &f->u.cors)
             : ngx_http_gamma_headers_response(r, &f->u.header);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
