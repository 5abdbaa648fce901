/*
 * nginx-gamma: gRPC in the mesh.  What nginx-gamma answers itself (no
 * matching rule, a backend that cannot be reached, no mesh state yet) a
 * gRPC client gets as a gRPC status in a trailers-only response with
 * HTTP 200, never an HTML error page.  A request sent through
 * "grpc_pass grpc://<upstream>" keeps the client's :authority (grpc_pass
 * would send the upstream's name).  And the $gamma_grpc_* variables.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_filter.h"


/* gRPC status codes (grpc/doc/statuscodes.md) */
#define NGX_HTTP_GAMMA_GRPC_UNKNOWN              2
#define NGX_HTTP_GAMMA_GRPC_DEADLINE_EXCEEDED    4
#define NGX_HTTP_GAMMA_GRPC_PERMISSION_DENIED    7
#define NGX_HTTP_GAMMA_GRPC_RESOURCE_EXHAUSTED   8
#define NGX_HTTP_GAMMA_GRPC_UNIMPLEMENTED        12
#define NGX_HTTP_GAMMA_GRPC_INTERNAL             13
#define NGX_HTTP_GAMMA_GRPC_UNAVAILABLE          14
#define NGX_HTTP_GAMMA_GRPC_UNAUTHENTICATED      16

/* HPACK bits of the request head ngx_http_grpc_module writes */
#define NGX_HTTP_GAMMA_H2_PREFACE  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define NGX_HTTP_GAMMA_H2_FRAME_HEADER     9
#define NGX_HTTP_GAMMA_H2_HEADERS_FRAME    0x01
#define NGX_HTTP_GAMMA_H2_END_HEADERS      0x04
#define NGX_HTTP_GAMMA_H2_FRAME_SIZE       16384
#define NGX_HTTP_GAMMA_HPACK_AUTHORITY     0x41   /* literal, indexed 1 */
#define NGX_HTTP_GAMMA_HPACK_METHOD        0x42
#define NGX_HTTP_GAMMA_HPACK_PATH          0x44


typedef enum {
    NGX_HTTP_GAMMA_GRPC_VAR_SERVICE = 0,
    NGX_HTTP_GAMMA_GRPC_VAR_METHOD,
    NGX_HTTP_GAMMA_GRPC_VAR_STATUS,
    NGX_HTTP_GAMMA_GRPC_VAR_ROUTE_TYPE
} ngx_http_gamma_grpc_var_e;


/* an nginx status, and what a gRPC client is told instead */
typedef struct {
    ngx_uint_t   http;
    ngx_uint_t   grpc;
    ngx_str_t    message;
} ngx_http_gamma_grpc_answer_t;


static const ngx_http_gamma_grpc_answer_t *ngx_http_gamma_grpc_map(
    ngx_uint_t status);
static ngx_int_t ngx_http_gamma_grpc_answer(ngx_http_request_t *r,
    const ngx_http_gamma_grpc_answer_t *a);
static ngx_int_t ngx_http_gamma_grpc_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static ngx_int_t ngx_http_gamma_grpc_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gamma_grpc_path(ngx_http_request_t *r,
    ngx_str_t *service, ngx_str_t *method);
static ngx_table_elt_t *ngx_http_gamma_grpc_find(ngx_list_t *list,
    const char *lname, size_t len);
static u_char *ngx_http_gamma_grpc_headers_frame(ngx_buf_t *b);
static u_char *ngx_http_gamma_hpack_skip_string(u_char *p, u_char *end);
static u_char *ngx_http_gamma_hpack_write_string(u_char *p, ngx_str_t *s);


static ngx_str_t  ngx_http_gamma_h2c_location = ngx_string("@gamma_h2c");

/* $gamma_upstream_host: the :authority sent upstream */
static ngx_str_t   ngx_http_gamma_grpc_host = ngx_string("gamma_upstream_host");
static ngx_int_t   ngx_http_gamma_grpc_host_index = NGX_ERROR;


static ngx_http_gamma_grpc_answer_t  ngx_http_gamma_grpc_answers[] = {
    { NGX_HTTP_NOT_FOUND, NGX_HTTP_GAMMA_GRPC_UNIMPLEMENTED,
      ngx_string("gamma: no route rule matches the method") },
    { NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_GAMMA_GRPC_UNAVAILABLE,
      ngx_string("gamma: no valid backend") },
    { NGX_HTTP_BAD_GATEWAY, NGX_HTTP_GAMMA_GRPC_UNAVAILABLE,
      ngx_string("gamma: backend unreachable") },
    { NGX_HTTP_SERVICE_UNAVAILABLE, NGX_HTTP_GAMMA_GRPC_UNAVAILABLE,
      ngx_string("gamma: no ready endpoint") },
    { NGX_HTTP_GATEWAY_TIME_OUT, NGX_HTTP_GAMMA_GRPC_DEADLINE_EXCEEDED,
      ngx_string("gamma: backend timed out") },
    { NGX_HTTP_MISDIRECTED_REQUEST, NGX_HTTP_GAMMA_GRPC_UNAVAILABLE,
      ngx_string("gamma: not a Service ClusterIP:port") },
    { NGX_HTTP_TOO_MANY_REQUESTS, NGX_HTTP_GAMMA_GRPC_UNAVAILABLE,
      ngx_string("gamma: too many requests") },
    { NGX_HTTP_BAD_REQUEST, NGX_HTTP_GAMMA_GRPC_INTERNAL,
      ngx_string("gamma: bad request") },
    { NGX_HTTP_UNAUTHORIZED, NGX_HTTP_GAMMA_GRPC_UNAUTHENTICATED,
      ngx_string("gamma: unauthenticated") },
    { NGX_HTTP_FORBIDDEN, NGX_HTTP_GAMMA_GRPC_PERMISSION_DENIED,
      ngx_string("gamma: forbidden") },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      NGX_HTTP_GAMMA_GRPC_RESOURCE_EXHAUSTED,
      ngx_string("gamma: request too large") },
    { 0, NGX_HTTP_GAMMA_GRPC_UNKNOWN, ngx_string("gamma: proxy error") }
};


static ngx_http_variable_t  ngx_http_gamma_grpc_vars[] = {

    { ngx_string("gamma_grpc_service"), NULL, ngx_http_gamma_grpc_variable,
      NGX_HTTP_GAMMA_GRPC_VAR_SERVICE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_grpc_method"), NULL, ngx_http_gamma_grpc_variable,
      NGX_HTTP_GAMMA_GRPC_VAR_METHOD, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_grpc_status"), NULL, ngx_http_gamma_grpc_variable,
      NGX_HTTP_GAMMA_GRPC_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_route_type"), NULL, ngx_http_gamma_grpc_variable,
      NGX_HTTP_GAMMA_GRPC_VAR_ROUTE_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_gamma_grpc_init(ngx_conf_t *cf)
{
    if (ngx_http_gamma_add_variable_table(cf, ngx_http_gamma_grpc_vars)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_gamma_grpc_host_index =
        ngx_http_get_variable_index(cf, &ngx_http_gamma_grpc_host);

    if (ngx_http_gamma_grpc_host_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A backend whose Service port has appProtocol kubernetes.io/h2c (spec
 * 1.16), for a client that came over HTTP/1.x (the router calls this
 * when it routed the request there): proxy_pass cannot speak HTTP/2, so
 * the routed request goes on with the configuration of the server's
 * "location @gamma_h2c" (grpc_pass to the mesh upstream), as if
 * nginx had found that location for it: its content handler, the phases
 * not run again, every module's context kept.  ngx_http_named_location()
 * is not used: it clears the modules' contexts, runs the phases again and
 * takes a reference on the request that a phase handler must give back
 * with ngx_http_finalize_request(r, NGX_DONE) (as try_files does),
 * otherwise the connection is never closed.
 */
void
ngx_http_gamma_grpc_h2c(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_core_loc_conf_t  **clcfp;

    if (ctx->h2c || r != r->main || r->http_version >= NGX_HTTP_VERSION_20) {
        return;
    }

    ctx->h2c = 1;
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    for (clcfp = cscf->named_locations; clcfp && *clcfp; clcfp++) {
        if ((*clcfp)->name.len == ngx_http_gamma_h2c_location.len
            && ngx_strncmp((*clcfp)->name.data,
                           ngx_http_gamma_h2c_location.data,
                           ngx_http_gamma_h2c_location.len) == 0)
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "gamma grpc: %s over h2c in @gamma_h2c",
                           ctx->backend->label.data);

            r->loc_conf = (*clcfp)->loc_conf;
            ngx_http_update_location_config(r);

            return;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gamma: backend %s speaks h2c, but this server has no "
                  "\"location @gamma_h2c\": HTTP/1.1 is used",
                  ctx->backend->label.data);
}


/* gRPC is HTTP/2 with an application/grpc[+proto|;...] body */
ngx_int_t
ngx_http_gamma_grpc_request(ngx_http_request_t *r)
{
    size_t            len;
    ngx_table_elt_t  *ct;

    ct = r->headers_in.content_type;

    if (r->http_version < NGX_HTTP_VERSION_20 || ct == NULL) {
        return 0;
    }

    len = sizeof("application/grpc") - 1;

    return ct->value.len >= len
           && ngx_strncasecmp(ct->value.data, (u_char *) "application/grpc",
                              len) == 0
           && (ct->value.len == len || ct->value.data[len] == '+'
               || ct->value.data[len] == ';');
}


/*
 * Of the header filter (ngx_http_gamma_filter.c).  Only answers nginx
 * made itself carry r->err_status (the special response handler sets
 * it); a backend's own response passes untouched.
 */
ngx_int_t
ngx_http_gamma_grpc_header(ngx_http_request_t *r)
{
    ngx_http_gamma_loc_conf_t  *glcf;

    if (r != r->main || r->err_status < NGX_HTTP_BAD_REQUEST) {
        return NGX_OK;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gamma_module);

    if (!glcf->enable || !ngx_http_gamma_grpc_request(r)) {
        return NGX_OK;
    }

    return ngx_http_gamma_grpc_answer(r,
                                      ngx_http_gamma_grpc_map(r->err_status));
}


static const ngx_http_gamma_grpc_answer_t *
ngx_http_gamma_grpc_map(ngx_uint_t status)
{
    ngx_http_gamma_grpc_answer_t  *a;

    for (a = ngx_http_gamma_grpc_answers; a->http; a++) {
        if (a->http == status) {
            return a;
        }
    }

    return a;
}


/* a trailers-only response: one HEADERS frame with END_STREAM */
static ngx_int_t
ngx_http_gamma_grpc_answer(ngx_http_request_t *r,
    const ngx_http_gamma_grpc_answer_t *a)
{
    u_char     *p;
    ngx_str_t   code, message;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    code.data = p;
    code.len = ngx_sprintf(p, "%ui", a->grpc) - p;
    message = a->message;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gamma: HTTP %ui answered as grpc-status %V",
                  r->err_status, &code);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.status_line.len = 0;
    ngx_str_set(&r->headers_out.content_type, "application/grpc");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    ngx_http_clear_content_length(r);
    ngx_http_clear_location(r);

    r->header_only = 1;

    if (ngx_http_gamma_grpc_add_header(r, "grpc-status", &code) != NGX_OK
        || ngx_http_gamma_grpc_add_header(r, "grpc-message", &message)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_grpc_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->lowcase_key = (u_char *) name;
    h->value = *value;

    return NGX_OK;
}


/*
 * grpc_pass sends ":authority: <upstream name>" unless "grpc_set_header
 * Host" is set.  Called once the request head is built (the balancer's
 * peer init runs after create_request), it puts the client's :authority
 * (or the one a filter set) in its place, so the operator's plain
 * "grpc_pass grpc://gamma_mesh" needs nothing more.  The head is what
 * ngx_http_grpc_module writes: one HEADERS frame, :method, :scheme,
 * :path, then :authority as a literal with incremental indexing.
 * Anything else is left as it is.
 */
ngx_int_t
ngx_http_gamma_grpc_authority(ngx_http_request_t *r)
{
    u_char                     *p, *q, *f, *end, *a0, *a1, *n;
    size_t                      len, size;
    ngx_buf_t                  *b;
    ngx_str_t                   value, *host;
    ngx_chain_t                *cl;
    ngx_http_variable_value_t  *vv;

    cl = r->upstream->request_bufs;

    /* an HTTP/1 request head (proxy_pass) is left at once */
    if (cl == NULL || !ngx_http_gamma_grpc_head(cl->buf)) {
        return NGX_OK;
    }

    b = cl->buf;
    p = ngx_http_gamma_grpc_headers_frame(b);

    if (p == NULL) {
        return NGX_OK;
    }

    vv = ngx_http_get_indexed_variable(r, ngx_http_gamma_grpc_host_index);

    if (vv == NULL || vv->not_found || vv->len == 0 || vv->len > 4096) {
        return NGX_OK;
    }

    value.data = vv->data;
    value.len = vv->len;
    host = &value;

    if (!(p[4] & NGX_HTTP_GAMMA_H2_END_HEADERS)
        || p[5] != 0 || p[6] != 0 || p[7] != 0 || p[8] != 1)
    {
        return NGX_OK;
    }

    len = ((size_t) p[0] << 16) | ((size_t) p[1] << 8) | p[2];
    q = p + NGX_HTTP_GAMMA_H2_FRAME_HEADER;
    end = q + len;

    if (len > NGX_HTTP_GAMMA_H2_FRAME_SIZE || end > b->last) {
        return NGX_OK;
    }

    /* :method, indexed GET/POST or a literal */
    if (q < end && (*q == 0x82 || *q == 0x83)) {
        q++;

    } else if (q < end && *q == NGX_HTTP_GAMMA_HPACK_METHOD) {
        q = ngx_http_gamma_hpack_skip_string(q + 1, end);
    }

    /* :scheme http or https */
    if (q == NULL || q >= end || (*q != 0x86 && *q != 0x87)) {
        return NGX_OK;
    }

    q++;

    /* :path, "/" indexed or a literal */
    if (q < end && *q == 0x84) {
        q++;

    } else if (q < end && *q == NGX_HTTP_GAMMA_HPACK_PATH) {
        q = ngx_http_gamma_hpack_skip_string(q + 1, end);
    }

    if (q == NULL || q >= end || *q != NGX_HTTP_GAMMA_HPACK_AUTHORITY) {
        return NGX_OK;
    }

    a0 = q;
    a1 = ngx_http_gamma_hpack_skip_string(q + 1, end);

    if (a1 == NULL) {
        return NGX_OK;
    }

    /* the new string: up to 3 octets of length, then the bytes */
    len = len - (a1 - a0) + 1 + 3 + host->len;

    if (len > NGX_HTTP_GAMMA_H2_FRAME_SIZE) {
        return NGX_OK;
    }

    size = (b->last - b->pos) - (a1 - a0) + 1 + 3 + host->len;

    n = ngx_pnalloc(r->pool, size);
    if (n == NULL) {
        return NGX_ERROR;
    }

    q = ngx_cpymem(n, b->pos, a0 - b->pos);
    *q++ = NGX_HTTP_GAMMA_HPACK_AUTHORITY;
    q = ngx_http_gamma_hpack_write_string(q, host);
    len = (q - n) - (p - b->pos) - NGX_HTTP_GAMMA_H2_FRAME_HEADER
          + (end - a1);
    q = ngx_cpymem(q, a1, b->last - a1);

    f = n + (p - b->pos);
    f[0] = (u_char) ((len >> 16) & 0xff);
    f[1] = (u_char) ((len >> 8) & 0xff);
    f[2] = (u_char) (len & 0xff);

    /* a retry rewinds pos to start */
    b->start = n;
    b->pos = n;
    b->last = q;
    b->end = q;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gamma grpc: :authority \"%V\"", host);

    return NGX_OK;
}


/* the HEADERS frame, after the preface and SETTINGS of a new connection */
static u_char *
ngx_http_gamma_grpc_headers_frame(ngx_buf_t *b)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   n;

    p = b->pos;

    if ((size_t) (b->last - p) >= sizeof(NGX_HTTP_GAMMA_H2_PREFACE) - 1
        && ngx_memcmp(p, NGX_HTTP_GAMMA_H2_PREFACE,
                      sizeof(NGX_HTTP_GAMMA_H2_PREFACE) - 1) == 0)
    {
        p += sizeof(NGX_HTTP_GAMMA_H2_PREFACE) - 1;
    }

    for (n = 0; n < 4; n++) {
        if (b->last - p < NGX_HTTP_GAMMA_H2_FRAME_HEADER) {
            return NULL;
        }

        if (p[3] == NGX_HTTP_GAMMA_H2_HEADERS_FRAME) {
            return p;
        }

        len = ((size_t) p[0] << 16) | ((size_t) p[1] << 8) | p[2];

        if ((size_t) (b->last - p) < NGX_HTTP_GAMMA_H2_FRAME_HEADER + len) {
            return NULL;
        }

        p += NGX_HTTP_GAMMA_H2_FRAME_HEADER + len;
    }

    return NULL;
}


/* an HPACK string literal: H flag, a 7-bit prefix length, the octets */
static u_char *
ngx_http_gamma_hpack_skip_string(u_char *p, u_char *end)
{
    size_t      len;
    ngx_uint_t  shift;

    if (p >= end) {
        return NULL;
    }

    len = *p++ & 0x7f;

    if (len == 0x7f) {
        for (shift = 0; /* void */; shift += 7) {
            if (p >= end || shift > 21) {
                return NULL;
            }

            len += (size_t) (*p & 0x7f) << shift;

            if (!(*p++ & 0x80)) {
                break;
            }
        }
    }

    return (size_t) (end - p) >= len ? p + len : NULL;
}


static u_char *
ngx_http_gamma_hpack_write_string(u_char *p, ngx_str_t *s)
{
    size_t  len;

    len = s->len;

    if (len < 0x7f) {
        *p++ = (u_char) len;

    } else {
        *p++ = 0x7f;
        len -= 0x7f;

        while (len >= 0x80) {
            *p++ = (u_char) (0x80 | (len & 0x7f));
            len >>= 7;
        }

        *p++ = (u_char) len;
    }

    return ngx_cpymem(p, s->data, s->len);
}


static ngx_int_t
ngx_http_gamma_grpc_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t              service, method, *value;
    ngx_table_elt_t       *h;
    ngx_http_gamma_ctx_t  *ctx;

    static ngx_str_t  types[] = { ngx_string("http"), ngx_string("grpc") };

    value = NULL;

    if (data == NGX_HTTP_GAMMA_GRPC_VAR_ROUTE_TYPE) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

        if (ctx && ctx->rule) {
            value = &types[ctx->rule->grpc];
        }

    } else if (data == NGX_HTTP_GAMMA_GRPC_VAR_STATUS) {
        h = ngx_http_gamma_grpc_find(&r->headers_out.headers,
                                     "grpc-status", 11);
        if (h == NULL) {
            h = ngx_http_gamma_grpc_find(&r->headers_out.trailers,
                                         "grpc-status", 11);
        }

        value = h ? &h->value : NULL;

    } else if (ngx_http_gamma_grpc_request(r)
               && ngx_http_gamma_grpc_path(r, &service, &method) == NGX_OK)
    {
        value = (data == NGX_HTTP_GAMMA_GRPC_VAR_SERVICE) ? &service
                                                          : &method;
    }

    if (value == NULL || value->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = value->data;
    v->len = value->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* "/pkg.Service/Method" */
static ngx_int_t
ngx_http_gamma_grpc_path(ngx_http_request_t *r, ngx_str_t *service,
    ngx_str_t *method)
{
    u_char  *p, *slash, *end;

    p = r->uri.data;
    end = p + r->uri.len;

    if (r->uri.len < 4 || *p != '/') {
        return NGX_DECLINED;
    }

    slash = ngx_strlchr(p + 1, end, '/');

    if (slash == NULL || slash == p + 1 || slash + 1 == end
        || ngx_strlchr(slash + 1, end, '/') != NULL)
    {
        return NGX_DECLINED;
    }

    service->data = p + 1;
    service->len = slash - (p + 1);
    method->data = slash + 1;
    method->len = end - (slash + 1);

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_gamma_grpc_find(ngx_list_t *list, const char *lname, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &list->part;
    h = part->elts;

    if (h == NULL) {
        return NULL;
    }

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) lname, len) == 0)
        {
            return &h[i];
        }
    }
}
