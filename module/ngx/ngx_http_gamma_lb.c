/*
 * nginx-gamma: TrafficPolicy loadBalancer, where a request starts among
 * the ready endpoints of its backend (retries walk on from there):
 *
 *   RoundRobin      the backend's cursor, shared by the workers (default)
 *   LeastRequest    two endpoints drawn at random, the one with fewer
 *                   requests in flight (counted in the shared snapshot)
 *   ConsistentHash  rendezvous hashing of a header's or a cookie's value:
 *                   an endpoint that goes moves only its own keys; a
 *                   request without the value falls back to RoundRobin
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gm_hash.h"
#include "ngx_http_gamma_module.h"


static ngx_uint_t ngx_http_gamma_lb_least(const gm_sockaddr_t *eps,
    ngx_uint_t n);
static ngx_int_t ngx_http_gamma_lb_key(ngx_http_request_t *r,
    const gm_policy_values_t *v, ngx_str_t *key);
static uint64_t ngx_http_gamma_lb_hash(const u_char *p, size_t len,
    uint64_t h);


ngx_uint_t
ngx_http_gamma_lb_start(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    gm_backend_t *b, ngx_uint_t *least)
{
    uint64_t                   h, best, key_hash;
    ngx_str_t                  key;
    ngx_uint_t                 i, at;
    const gm_policy_values_t  *v;

    *least = 0;
    v = ctx->eff ? &ctx->eff->v : NULL;

    if (v == NULL || !(v->set & GM_PF_LB_TYPE) || b->nendpoints < 2) {
        /* the snapshot is shared by every worker: an atomic cursor */
        return __atomic_fetch_add(&b->rr, 1, __ATOMIC_RELAXED);
    }

    switch (v->lb_type) {

    case GM_LB_LEAST_REQUEST:
        *least = 1;
        return ngx_http_gamma_lb_least(b->endpoints, b->nendpoints);

    case GM_LB_CONSISTENT_HASH:
        if (ngx_http_gamma_lb_key(r, v, &key) != NGX_OK) {
            break;
        }

        key_hash = ngx_http_gamma_lb_hash(key.data, key.len, GM_FNV64_BASIS);
        at = 0;
        best = 0;

        for (i = 0; i < b->nendpoints; i++) {
            h = ngx_http_gamma_lb_hash((u_char *) b->endpoints[i].text,
                                       b->endpoints[i].text_len, key_hash);

            if (i == 0 || h > best) {
                best = h;
                at = i;
            }
        }

        return at;

    default:
        break;
    }

    return __atomic_fetch_add(&b->rr, 1, __ATOMIC_RELAXED);
}


/* the power of two choices */
static ngx_uint_t
ngx_http_gamma_lb_least(const gm_sockaddr_t *eps, ngx_uint_t n)
{
    uint32_t    a1, a2;
    ngx_uint_t  i, j;

    i = (ngx_uint_t) ngx_random() % n;
    j = (ngx_uint_t) ngx_random() % (n - 1);

    if (j >= i) {
        j++;
    }

    a1 = __atomic_load_n(&eps[i].active, __ATOMIC_RELAXED);
    a2 = __atomic_load_n(&eps[j].active, __ATOMIC_RELAXED);

    return (a2 < a1) ? j : i;
}


void
ngx_http_gamma_lb_active(const gm_sockaddr_t *ep, ngx_int_t delta)
{
    uint32_t  *active;

    /* the endpoints are in the shared snapshot, written only so */
    active = (uint32_t *) &ep->active;

    if (delta > 0) {
        __atomic_fetch_add(active, 1, __ATOMIC_RELAXED);

    } else {
        __atomic_fetch_sub(active, 1, __ATOMIC_RELAXED);
    }
}


static ngx_int_t
ngx_http_gamma_lb_key(ngx_http_request_t *r, const gm_policy_values_t *v,
    ngx_str_t *key)
{
    ngx_str_t  name;

    if ((v->set & GM_PF_LB_HEADER) && v->lb_header.len) {
        name.data = (u_char *) v->lb_header.data;
        name.len = v->lb_header.len;

        return ngx_http_gamma_request_header(r, &name, key);
    }

    if ((v->set & GM_PF_LB_COOKIE) && v->lb_cookie.len) {
        name.data = (u_char *) v->lb_cookie.data;
        name.len = v->lb_cookie.len;

        return ngx_http_gamma_request_cookie(r, &name, key);
    }

    return NGX_DECLINED;
}


/* a request header by its lowercase name: the first one */
ngx_int_t
ngx_http_gamma_request_header(ngx_http_request_t *r, ngx_str_t *lname,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_DECLINED;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == lname->len
            && ngx_strncmp(h[i].lowcase_key, lname->data, lname->len) == 0)
        {
            *value = h[i].value;
            return NGX_OK;
        }
    }
}


ngx_int_t
ngx_http_gamma_request_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
#if (nginx_version >= 1023000)
    return (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name,
                                              value)
            == NULL) ? NGX_DECLINED : NGX_OK;
#else
    return (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name,
                                              value)
            == NGX_DECLINED) ? NGX_DECLINED : NGX_OK;
#endif
}


static uint64_t
ngx_http_gamma_lb_hash(const u_char *p, size_t len, uint64_t h)
{
    h = gm_fnv64_add(h, p, len);

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}
