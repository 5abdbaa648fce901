/*
 * nginx-gamma: RequestHeaderModifier and ResponseHeaderModifier.
 *
 * Names match whatever their case.  "set" leaves one instance with the new
 * value, "add" appends ",value" to the last instance (one line, no space:
 * what the API's conformance expects) or adds the header, "remove" drops
 * every instance.  The request Host is not in the list the upstream sees:
 * set or add of Host changes $gamma_upstream_host, remove is ignored.
 * Hop-by-hop and framing headers never reach here (gm_filter.c).  Response
 * headers that nginx keeps outside its header list (Content-Type) or that
 * it adds itself when absent (Server, Date) are handled by their fields.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


/* response headers nginx also tracks by a field of r->headers_out */
typedef struct {
    ngx_str_t     lname;
    ngx_uint_t    offset;
    ngx_uint_t    placeholder;   /* NULL makes nginx add its own */
} ngx_http_gamma_out_header_t;


static ngx_int_t ngx_http_gamma_request_remove(ngx_http_request_t *r,
    const gm_header_op_t *op);
static ngx_int_t ngx_http_gamma_request_set(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_header_op_t *op);
static ngx_int_t ngx_http_gamma_request_add(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_header_op_t *op);
static ngx_int_t ngx_http_gamma_response_remove(ngx_http_request_t *r,
    const gm_header_op_t *op);
static ngx_int_t ngx_http_gamma_response_add(ngx_http_request_t *r,
    const gm_header_op_t *op);
static ngx_int_t ngx_http_gamma_response_new(ngx_http_request_t *r,
    const gm_header_op_t *op);
static ngx_table_elt_t **ngx_http_gamma_out_field(ngx_http_request_t *r,
    const gm_str_t *lname, ngx_uint_t *placeholder);
static void ngx_http_gamma_content_type(ngx_http_request_t *r,
    ngx_str_t *value);

static ngx_uint_t ngx_http_gamma_header_scan(ngx_list_t *list,
    const gm_str_t *lname, ngx_table_elt_t **first, ngx_table_elt_t **last);
static ngx_table_elt_t *ngx_http_gamma_header_push(ngx_list_t *list,
    const gm_header_op_t *op, ngx_uint_t hash);
static void ngx_http_gamma_header_assign(ngx_table_elt_t *h,
    const gm_header_op_t *op, ngx_uint_t hash);
static ngx_int_t ngx_http_gamma_header_join(ngx_pool_t *pool,
    ngx_str_t *value, const gm_str_t *more);
static ngx_int_t ngx_http_gamma_headers_drop(ngx_pool_t *pool,
    ngx_list_t *list, const gm_str_t *lname, ngx_table_elt_t *keep);
static ngx_uint_t ngx_http_gamma_is_host(const gm_header_op_t *op);


static ngx_http_gamma_out_header_t  ngx_http_gamma_out_headers[] = {

    { ngx_string("server"),
      offsetof(ngx_http_headers_out_t, server), 1 },

    { ngx_string("date"),
      offsetof(ngx_http_headers_out_t, date), 1 },

    { ngx_string("location"),
      offsetof(ngx_http_headers_out_t, location), 0 },

    { ngx_string("last-modified"),
      offsetof(ngx_http_headers_out_t, last_modified), 0 },

    { ngx_string("content-encoding"),
      offsetof(ngx_http_headers_out_t, content_encoding), 0 },

    { ngx_string("etag"),
      offsetof(ngx_http_headers_out_t, etag), 0 },

    { ngx_string("expires"),
      offsetof(ngx_http_headers_out_t, expires), 0 },

    { ngx_string("refresh"),
      offsetof(ngx_http_headers_out_t, refresh), 0 },

    { ngx_string("content-range"),
      offsetof(ngx_http_headers_out_t, content_range), 0 },

    { ngx_string("accept-ranges"),
      offsetof(ngx_http_headers_out_t, accept_ranges), 0 },

    { ngx_string("www-authenticate"),
      offsetof(ngx_http_headers_out_t, www_authenticate), 0 },

    { ngx_null_string, 0, 0 }
};


ngx_int_t
ngx_http_gamma_headers_request(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_header_mod_t *hm)
{
    size_t  i;

    /* a subrequest shares its parent's header list: it gets its own */
    if (r != r->main && !fctx->headers_own) {
        if (ngx_http_gamma_headers_copy(r->pool, &r->headers_in.headers,
                                        &r->headers_in.headers)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        fctx->headers_own = 1;
    }

    /* the API allows one action per name: their order does not matter */

    for (i = 0; i < hm->nremove; i++) {
        if (ngx_http_gamma_request_remove(r, &hm->remove[i]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    for (i = 0; i < hm->nset; i++) {
        if (ngx_http_gamma_request_set(r, fctx, &hm->set[i]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    for (i = 0; i < hm->nadd; i++) {
        if (ngx_http_gamma_request_add(r, fctx, &hm->add[i]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_gamma_headers_response(ngx_http_request_t *r,
    const gm_header_mod_t *hm)
{
    size_t  i;

    for (i = 0; i < hm->nremove; i++) {
        if (ngx_http_gamma_response_remove(r, &hm->remove[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < hm->nset; i++) {
        if (ngx_http_gamma_response_remove(r, &hm->set[i]) != NGX_OK
            || ngx_http_gamma_response_new(r, &hm->set[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < hm->nadd; i++) {
        if (ngx_http_gamma_response_add(r, &hm->add[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a response header the module itself sets or adds (CORS) */
ngx_int_t
ngx_http_gamma_header_out(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, ngx_uint_t add)
{
    u_char          *p;
    gm_header_op_t   op;

    op.name.data = (char *) name;
    op.name.len = ngx_strlen(name);
    op.value.data = (char *) value->data;
    op.value.len = value->len;

    p = ngx_pnalloc(r->pool, op.name.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(p, (u_char *) name, op.name.len + 1);
    op.lname.data = (char *) p;
    op.lname.len = op.name.len;

    if (add) {
        return ngx_http_gamma_response_add(r, &op);
    }

    if (ngx_http_gamma_response_remove(r, &op) != NGX_OK) {
        return NGX_ERROR;
    }

    return value->len ? ngx_http_gamma_response_new(r, &op) : NGX_OK;
}


/* the first instance of a request header, by its lowercase name */
ngx_table_elt_t *
ngx_http_gamma_header_in(ngx_http_request_t *r, const char *lname)
{
    gm_str_t          name;
    ngx_table_elt_t  *first, *last;

    name.data = (char *) lname;
    name.len = ngx_strlen(lname);

    if (ngx_http_gamma_header_scan(&r->headers_in.headers, &name, &first,
                                   &last)
        == 0)
    {
        return NULL;
    }

    return first;
}


/* a copy of the list: later changes to one do not show in the other */
ngx_int_t
ngx_http_gamma_headers_copy(ngx_pool_t *pool, ngx_list_t *dst,
    ngx_list_t *src)
{
    gm_str_t  none;

    none.data = NULL;
    none.len = 0;

    *dst = *src;

    return ngx_http_gamma_headers_drop(pool, dst, &none, NULL);
}


static ngx_int_t
ngx_http_gamma_request_remove(ngx_http_request_t *r, const gm_header_op_t *op)
{
    ngx_table_elt_t  *first, *last;

    /* a request carries one Host: removing it is not possible */
    if (ngx_http_gamma_is_host(op)
        || ngx_http_gamma_header_scan(&r->headers_in.headers, &op->lname,
                                      &first, &last)
           == 0)
    {
        return NGX_OK;
    }

    return ngx_http_gamma_headers_drop(r->pool, &r->headers_in.headers,
                                       &op->lname, NULL);
}


static ngx_int_t
ngx_http_gamma_request_set(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_header_op_t *op)
{
    ngx_uint_t        n, hash;
    ngx_table_elt_t  *first, *last;

    if (ngx_http_gamma_is_host(op)) {
        fctx->upstream_host.data = (u_char *) op->value.data;
        fctx->upstream_host.len = op->value.len;
        return NGX_OK;
    }

    hash = ngx_hash_key((u_char *) op->lname.data, op->lname.len);
    n = ngx_http_gamma_header_scan(&r->headers_in.headers, &op->lname,
                                   &first, &last);

    if (n == 0) {
        return ngx_http_gamma_header_push(&r->headers_in.headers, op, hash)
               ? NGX_OK : NGX_ERROR;
    }

    /* the first instance keeps its place; nginx may point at it */
    ngx_http_gamma_header_assign(first, op, hash);

    if (n == 1) {
        return NGX_OK;
    }

    return ngx_http_gamma_headers_drop(r->pool, &r->headers_in.headers,
                                       &op->lname, first);
}


static ngx_int_t
ngx_http_gamma_request_add(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_header_op_t *op)
{
    ngx_uint_t        hash;
    ngx_table_elt_t  *first, *last;

    if (ngx_http_gamma_is_host(op)) {
        return ngx_http_gamma_request_set(r, fctx, op);
    }

    if (ngx_http_gamma_header_scan(&r->headers_in.headers, &op->lname,
                                   &first, &last))
    {
        return ngx_http_gamma_header_join(r->pool, &last->value, &op->value);
    }

    hash = ngx_hash_key((u_char *) op->lname.data, op->lname.len);

    return ngx_http_gamma_header_push(&r->headers_in.headers, op, hash)
           ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_gamma_response_remove(ngx_http_request_t *r,
    const gm_header_op_t *op)
{
    ngx_uint_t          i, placeholder;
    ngx_list_part_t    *part;
    ngx_table_elt_t    *h, **field;
    gm_header_op_t      none;

    if (gm_str_eq_cstr(&op->lname, "content-type")) {
        ngx_http_gamma_content_type(r, NULL);
        return NGX_OK;
    }

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == op->lname.len
                && ngx_strncasecmp(h[i].key.data, (u_char *) op->lname.data,
                                   op->lname.len) == 0)
            {
                h[i].hash = 0;
            }
        }
    }

    field = ngx_http_gamma_out_field(r, &op->lname, &placeholder);

    if (field == NULL) {
        return NGX_OK;
    }

    *field = NULL;

    if (gm_str_eq_cstr(&op->lname, "last-modified")) {
        r->headers_out.last_modified_time = -1;
    }

    if (!placeholder) {
        return NGX_OK;
    }

    /* an instance nginx skips: it adds no Server or Date of its own */
    none = *op;
    none.value.len = 0;
    *field = ngx_http_gamma_header_push(&r->headers_out.headers, &none, 0);

    return *field ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_gamma_response_add(ngx_http_request_t *r, const gm_header_op_t *op)
{
    ngx_table_elt_t  *first, *last;

    if (gm_str_eq_cstr(&op->lname, "content-type")
        && r->headers_out.content_type.len)
    {
        if (ngx_http_gamma_header_join(r->pool, &r->headers_out.content_type,
                                       &op->value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_http_gamma_content_type(r, &r->headers_out.content_type);
        return NGX_OK;
    }

    if (ngx_http_gamma_header_scan(&r->headers_out.headers, &op->lname,
                                   &first, &last))
    {
        return ngx_http_gamma_header_join(r->pool, &last->value, &op->value);
    }

    return ngx_http_gamma_response_new(r, op);
}


static ngx_int_t
ngx_http_gamma_response_new(ngx_http_request_t *r, const gm_header_op_t *op)
{
    ngx_str_t          value;
    ngx_uint_t         placeholder;
    ngx_table_elt_t   *h, **field;

    if (gm_str_eq_cstr(&op->lname, "content-type")) {
        value.data = (u_char *) op->value.data;
        value.len = op->value.len;
        ngx_http_gamma_content_type(r, &value);
        return NGX_OK;
    }

    h = ngx_http_gamma_header_push(&r->headers_out.headers, op, 1);
    if (h == NULL) {
        return NGX_ERROR;
    }

    field = ngx_http_gamma_out_field(r, &op->lname, &placeholder);

    if (field) {
        *field = h;
    }

    if (gm_str_eq_cstr(&op->lname, "last-modified")) {
        r->headers_out.last_modified_time = -1;
    }

    return NGX_OK;
}


static ngx_table_elt_t **
ngx_http_gamma_out_field(ngx_http_request_t *r, const gm_str_t *lname,
    ngx_uint_t *placeholder)
{
    ngx_http_gamma_out_header_t  *oh;

    for (oh = ngx_http_gamma_out_headers; oh->lname.len; oh++) {
        if (oh->lname.len == lname->len
            && ngx_strncmp(oh->lname.data, lname->data, lname->len) == 0)
        {
            *placeholder = oh->placeholder;
            return (ngx_table_elt_t **) ((char *) &r->headers_out
                                         + oh->offset);
        }
    }

    return NULL;
}


/* value NULL removes it; no charset is appended to a value set here */
static void
ngx_http_gamma_content_type(ngx_http_request_t *r, ngx_str_t *value)
{
    if (value == NULL) {
        ngx_str_null(&r->headers_out.content_type);

    } else {
        r->headers_out.content_type = *value;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_type_hash = 0;
    ngx_str_null(&r->headers_out.charset);
}


/* the instances nginx will send: their number, the first and the last */
static ngx_uint_t
ngx_http_gamma_header_scan(ngx_list_t *list, const gm_str_t *lname,
    ngx_table_elt_t **first, ngx_table_elt_t **last)
{
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = 0;
    *first = NULL;
    *last = NULL;

    for (part = &list->part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0
                || h[i].key.len != lname->len
                || ngx_strncasecmp(h[i].key.data, (u_char *) lname->data,
                                   lname->len) != 0)
            {
                continue;
            }

            if (n++ == 0) {
                *first = &h[i];
            }

            *last = &h[i];
        }
    }

    return n;
}


static ngx_table_elt_t *
ngx_http_gamma_header_push(ngx_list_t *list, const gm_header_op_t *op,
    ngx_uint_t hash)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(list);
    if (h == NULL) {
        return NULL;
    }

    ngx_http_gamma_header_assign(h, op, hash);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


/* names and values live in the snapshot, which outlives the request */
static void
ngx_http_gamma_header_assign(ngx_table_elt_t *h, const gm_header_op_t *op,
    ngx_uint_t hash)
{
    h->hash = hash;
    h->key.data = (u_char *) op->name.data;
    h->key.len = op->name.len;
    h->lowcase_key = (u_char *) op->lname.data;
    h->value.data = (u_char *) op->value.data;
    h->value.len = op->value.len;
}


/* "old,more": what the API's conformance tests expect of "add" */
static ngx_int_t
ngx_http_gamma_header_join(ngx_pool_t *pool, ngx_str_t *value,
    const gm_str_t *more)
{
    u_char  *p;

    p = ngx_pnalloc(pool, value->len + 1 + more->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, value->data, value->len);
    p[value->len] = ',';
    ngx_memcpy(p + value->len + 1, more->data, more->len);

    value->data = p;
    value->len += 1 + more->len;

    return NGX_OK;
}


/*
 * A new list without the instances of lname (but keep): nginx has no
 * list removal, and the proxy module sends every element it finds.
 */
static ngx_int_t
ngx_http_gamma_headers_drop(ngx_pool_t *pool, ngx_list_t *list,
    const gm_str_t *lname, ngx_table_elt_t *keep)
{
    ngx_uint_t        i, n;
    ngx_list_t        copy;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *to;

    n = 0;

    for (part = &list->part; part; part = part->next) {
        n += part->nelts;
    }

    if (ngx_list_init(&copy, pool, n ? n : 1, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (part = &list->part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (&h[i] != keep
                && h[i].key.len == lname->len
                && ngx_strncasecmp(h[i].key.data, (u_char *) lname->data,
                                   lname->len) == 0)
            {
                continue;
            }

            to = ngx_list_push(&copy);
            *to = h[i];
        }
    }

    /* one part, sized to fit: "last" must point into the list itself */
    *list = copy;
    list->last = &list->part;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gamma_is_host(const gm_header_op_t *op)
{
    return gm_str_eq_cstr(&op->lname, "host");
}
