/*
 * nginx-gamma: the CORS filter (GEP-1767).
 *
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered here with 200 and no body; the backend never sees it.  An
 * allowed origin gets its own value back in Access-Control-Allow-Origin,
 * never "*", which is right whether or not the request carries
 * credentials; a wildcard method or header list echoes what the preflight
 * asked for.  An origin that is not allowed gets no CORS headers, and the
 * browser refuses.  Responses to other requests with an allowed Origin get
 * Allow-Origin, Allow-Credentials and Expose-Headers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


static ngx_int_t ngx_http_gamma_cors_preflight_headers(ngx_http_request_t *r,
    const gm_cors_t *cors);
static ngx_int_t ngx_http_gamma_cors_list(ngx_http_request_t *r,
    const char *name, const gm_str_t *list, unsigned any, const char *echo);
static ngx_int_t ngx_http_gamma_cors_expose(ngx_http_request_t *r,
    const gm_cors_t *cors);
static ngx_int_t ngx_http_gamma_cors_names(ngx_http_request_t *r,
    const gm_str_t *also, ngx_str_t *names);


ngx_int_t
ngx_http_gamma_cors_preflight(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_OPTIONS
        || ngx_http_gamma_header_in(r, "origin") == NULL
        || ngx_http_gamma_header_in(r, "access-control-request-method")
           == NULL)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the header filter adds the CORS headers, as to any response */
    fctx->preflight = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    /* answered here, finalized as the content phase would */
    ngx_http_finalize_request(r, ngx_http_send_header(r));

    return NGX_DONE;
}


ngx_int_t
ngx_http_gamma_cors_response(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_cors_t *cors)
{
    ngx_str_t         value;
    ngx_table_elt_t  *origin;

    origin = ngx_http_gamma_header_in(r, "origin");

    if (origin == NULL
        || !gm_cors_origin_allowed(cors, (char *) origin->value.data,
                                   origin->value.len))
    {
        return NGX_OK;
    }

    if (ngx_http_gamma_header_out(r, "Access-Control-Allow-Origin",
                                  &origin->value, 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "true");

    if (cors->credentials
        && ngx_http_gamma_header_out(r, "Access-Control-Allow-Credentials",
                                     &value, 0)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if ((fctx->preflight
         && ngx_http_gamma_cors_preflight_headers(r, cors) != NGX_OK)
        || ngx_http_gamma_cors_expose(r, cors) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the answer depends on the Origin: caches must know */
    ngx_str_set(&value, "Origin");

    return ngx_http_gamma_header_out(r, "Vary", &value, 1);
}


static ngx_int_t
ngx_http_gamma_cors_preflight_headers(ngx_http_request_t *r,
    const gm_cors_t *cors)
{
    ngx_str_t  age;

    age.data = (u_char *) cors->max_age.data;
    age.len = cors->max_age.len;

    if (ngx_http_gamma_cors_list(r, "Access-Control-Allow-Methods",
                                 &cors->methods, cors->any_method,
                                 "access-control-request-method")
        != NGX_OK
        || ngx_http_gamma_cors_list(r, "Access-Control-Allow-Headers",
                                    &cors->headers, cors->any_header,
                                    "access-control-request-headers")
           != NGX_OK
        || ngx_http_gamma_header_out(r, "Access-Control-Max-Age", &age, 0)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a wildcard echoes the request header echo, the list otherwise */
static ngx_int_t
ngx_http_gamma_cors_list(ngx_http_request_t *r, const char *name,
    const gm_str_t *list, unsigned any, const char *echo)
{
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    if (any) {
        h = ngx_http_gamma_header_in(r, echo);

        if (h == NULL) {
            return NGX_OK;
        }

        value = h->value;

    } else {
        value.data = (u_char *) list->data;
        value.len = list->len;
    }

    return ngx_http_gamma_header_out(r, name, &value, 0);
}


/* "*" means nothing to a credentialed request: then the names it has */
static ngx_int_t
ngx_http_gamma_cors_expose(ngx_http_request_t *r, const gm_cors_t *cors)
{
    ngx_str_t  value;

    if (cors->any_expose && !cors->credentials) {
        ngx_str_set(&value, "*");

    } else if (cors->any_expose) {
        if (ngx_http_gamma_cors_names(r, &cors->expose, &value) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        value.data = (u_char *) cors->expose.data;
        value.len = cors->expose.len;
    }

    if (value.len == 0) {
        return NGX_OK;
    }

    return ngx_http_gamma_header_out(r, "Access-Control-Expose-Headers",
                                     &value, 0);
}


/* the configured names, then those of the response's own headers */
static ngx_int_t
ngx_http_gamma_cors_names(ngx_http_request_t *r, const gm_str_t *also,
    ngx_str_t *names)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = also->len;

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            len += h[i].hash ? h[i].key.len + 2 : 0;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    names->data = p;
    p = ngx_cpymem(p, also->data, also->len);

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0
                || (h[i].key.len > 15
                    && ngx_strncasecmp(h[i].key.data,
                                       (u_char *) "access-control-", 15)
                       == 0))
            {
                continue;
            }

            if (p != names->data) {
                *p++ = ',';
                *p++ = ' ';
            }

            p = ngx_cpymem(p, h[i].key.data, h[i].key.len);
        }
    }

    names->len = p - names->data;

    return NGX_OK;
}
