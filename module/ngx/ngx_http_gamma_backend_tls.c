/*
 * nginx-gamma: TLS to backends that a BackendTLSPolicy covers, chosen per
 * request although proxy_ssl_* are per location.
 *
 * The design: the request leaves through the same upstream and location
 * as plain ones.  When the balancer initialises the peer of a TLS backend
 * it sets u->ssl and points this request's own copy of the upstream
 * configuration (the one the timeouts already use) at an SSL_CTX that the
 * worker keeps per CA bundle (the bundle's hash is the key; the system's
 * store is one more), with the policy's hostname as SNI.  nginx's
 * ssl_verify stays off: the peer is verified by OpenSSL during the
 * handshake (SSL_VERIFY_PEER against that CA) and, for the leaf, by our
 * callback against validation.hostname, or against subjectAltNames
 * (Hostname or URI, any may match) when the policy lists them.  A failed
 * verification fails the handshake: 502, never plain text (nginx logs a
 * failed client handshake at crit, after our line with the reason; the
 * check cannot wait until after the handshake, as nginx's own
 * proxy_ssl_verify does, because nginx's host check knows no SANs).
 * Sessions are kept per worker by endpoint and policy (set_session and
 * save_session of the peer, through nginx's proxy_ssl_session_reuse
 * machinery), and the upstream's keepalive keeps the TLS connections.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


#if (NGX_HTTP_SSL)

/* SSL_CTXs kept per worker, one per CA bundle; sessions by endpoint */
#define NGX_HTTP_GAMMA_TLS_CTXS       64
#define NGX_HTTP_GAMMA_TLS_SESSIONS   256


typedef struct {
    uint64_t                  id;         /* the bundle's hash, or 0 */
    unsigned                  system:1;
    ngx_ssl_t                *ssl;
} ngx_http_gamma_tls_ctx_t;

typedef struct {
    uint64_t                  key;
    ngx_ssl_session_t        *session;
} ngx_http_gamma_tls_session_t;

struct ngx_http_gamma_tls_s {
    ngx_http_gamma_tls_ctx_t      ctxs[NGX_HTTP_GAMMA_TLS_CTXS];
    ngx_uint_t                    nctxs;
    ngx_uint_t                    next;       /* the one to replace */
    ngx_http_gamma_tls_session_t  sessions[NGX_HTTP_GAMMA_TLS_SESSIONS];
};


static ngx_ssl_t *ngx_http_gamma_tls_ssl(ngx_http_request_t *r,
    const gm_backend_tls_t *tls);
static ngx_ssl_t *ngx_http_gamma_tls_create(ngx_log_t *log,
    const gm_backend_tls_t *tls);
static ngx_int_t ngx_http_gamma_tls_load_ca(ngx_ssl_t *ssl, ngx_log_t *log,
    const gm_backend_tls_t *tls);
static ngx_http_gamma_tls_t *ngx_http_gamma_tls_state(ngx_http_request_t *r);
static ngx_int_t ngx_http_gamma_tls_set_session(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_gamma_tls_save_session(ngx_peer_connection_t *pc,
    void *data);
static ngx_http_gamma_tls_session_t *ngx_http_gamma_tls_slot(
    ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx);
static int ngx_http_gamma_tls_verify(int ok, X509_STORE_CTX *xs);
static ngx_int_t ngx_http_gamma_tls_match(X509 *cert,
    const gm_backend_tls_t *tls);
static ngx_int_t ngx_http_gamma_tls_match_uri(X509 *cert,
    const gm_str_t *uri);


/* the router's check: a policy whose CA cannot be had fails the request */
ngx_int_t
ngx_http_gamma_tls_check(ngx_http_request_t *r, gm_backend_t *b)
{
    if (b->ext->tls == NULL || b->ext->tls->error.len == 0) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gamma: backend %s needs TLS (BackendTLSPolicy %s) but %s, "
                  "answering 502", b->label.data, b->ext->tls->policy.data,
                  b->ext->tls->error.data);

    return NGX_HTTP_BAD_GATEWAY;
}


/*
 * Called by the balancer's init_peer with this request's own copy of the
 * upstream configuration: the request goes out over TLS.
 */
ngx_int_t
ngx_http_gamma_tls_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_conf_t *conf, const gm_backend_tls_t *tls)
{
    ngx_ssl_t                 *ssl;
    ngx_http_upstream_t       *u;
    ngx_http_complex_value_t  *name;

    ssl = ngx_http_gamma_tls_ssl(r, tls);
    if (ssl == NULL) {
        return NGX_ERROR;
    }

    name = ngx_pcalloc(r->pool, sizeof(ngx_http_complex_value_t));
    if (name == NULL) {
        return NGX_ERROR;
    }

    /* a complex value without lengths is a constant */
    name->value.data = (u_char *) tls->hostname.data;
    name->value.len = tls->hostname.len;

    u = r->upstream;
    u->ssl = 1;

    conf->ssl = ssl;
    conf->ssl_name = name;
    conf->ssl_server_name = 1;
    conf->ssl_verify = 0;             /* done by ngx_http_gamma_tls_verify */
    conf->ssl_session_reuse = 1;

    u->peer.set_session = ngx_http_gamma_tls_set_session;
    u->peer.save_session = ngx_http_gamma_tls_save_session;

    return NGX_OK;
}


static ngx_ssl_t *
ngx_http_gamma_tls_ssl(ngx_http_request_t *r, const gm_backend_tls_t *tls)
{
    ngx_uint_t                 i;
    ngx_ssl_t                 *ssl;
    ngx_http_gamma_tls_t      *st;
    ngx_http_gamma_tls_ctx_t  *tc;

    st = ngx_http_gamma_tls_state(r);
    if (st == NULL) {
        return NULL;
    }

    for (i = 0; i < st->nctxs; i++) {
        tc = &st->ctxs[i];

        if (tc->system == tls->system_ca && tc->id == tls->ca_id) {
            return tc->ssl;
        }
    }

    ssl = ngx_http_gamma_tls_create(r->connection->log, tls);
    if (ssl == NULL) {
        return NULL;
    }

    /* a full cache forgets its oldest; connections hold their own ref */
    if (st->nctxs < NGX_HTTP_GAMMA_TLS_CTXS) {
        tc = &st->ctxs[st->nctxs++];

    } else {
        tc = &st->ctxs[st->next];
        st->next = (st->next + 1) % NGX_HTTP_GAMMA_TLS_CTXS;
        SSL_CTX_free(tc->ssl->ctx);
        ngx_free(tc->ssl);
    }

    tc->id = tls->ca_id;
    tc->system = tls->system_ca;
    tc->ssl = ssl;

    return ssl;
}


static ngx_ssl_t *
ngx_http_gamma_tls_create(ngx_log_t *log, const gm_backend_tls_t *tls)
{
    ngx_ssl_t  *ssl;

    ssl = ngx_calloc(sizeof(ngx_ssl_t), log);
    if (ssl == NULL) {
        return NULL;
    }

    ssl->log = log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL) != NGX_OK)
    {
        ngx_free(ssl);
        return NULL;
    }

    if (ngx_http_gamma_tls_load_ca(ssl, log, tls) != NGX_OK
        || ngx_ssl_client_session_cache(NULL, ssl, 1) != NGX_OK)
    {
        SSL_CTX_free(ssl->ctx);
        ngx_free(ssl);
        return NULL;
    }

    SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_PEER, ngx_http_gamma_tls_verify);

    return ssl;
}


static ngx_int_t
ngx_http_gamma_tls_load_ca(ngx_ssl_t *ssl, ngx_log_t *log,
    const gm_backend_tls_t *tls)
{
    BIO         *bio;
    X509        *x;
    X509_STORE  *store;
    ngx_uint_t   n;

    if (tls->system_ca) {
        if (SSL_CTX_set_default_verify_paths(ssl->ctx) != 1) {
            ngx_ssl_error(NGX_LOG_ERR, log, 0, "gamma: the system's CA "
                          "certificates cannot be loaded (BackendTLSPolicy "
                          "%s)", tls->policy.data);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    bio = BIO_new_mem_buf(tls->ca_pem.data, (int) tls->ca_pem.len);
    if (bio == NULL) {
        return NGX_ERROR;
    }

    store = SSL_CTX_get_cert_store(ssl->ctx);
    n = 0;

    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        n += (X509_STORE_add_cert(store, x) == 1);
        X509_free(x);
    }

    ERR_clear_error();
    BIO_free(bio);

    if (n == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "gamma: the CA bundle of "
                      "BackendTLSPolicy %s holds no PEM certificate",
                      tls->policy.data);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the worker exits: its SSL_CTXs and saved sessions go with it */
void
ngx_http_gamma_tls_exit(ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_uint_t             i;
    ngx_http_gamma_tls_t  *st;

    st = gmcf->tls;

    if (st == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_GAMMA_TLS_SESSIONS; i++) {
        if (st->sessions[i].session) {
            ngx_ssl_free_session(st->sessions[i].session);
            st->sessions[i].session = NULL;
        }
    }

    for (i = 0; i < NGX_HTTP_GAMMA_TLS_CTXS; i++) {
        if (st->ctxs[i].ssl) {
            SSL_CTX_free(st->ctxs[i].ssl->ctx);
            ngx_free(st->ctxs[i].ssl);
            st->ctxs[i].ssl = NULL;
        }
    }

    gmcf->tls = NULL;
}


/* the worker's TLS state, made on first use (after fork) */
static ngx_http_gamma_tls_t *
ngx_http_gamma_tls_state(ngx_http_request_t *r)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);

    if (gmcf->tls == NULL) {
        gmcf->tls = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_gamma_tls_t));
    }

    return gmcf->tls;
}


/*
 * Called once the connection has its SSL object: the session of this
 * endpoint and policy, if the worker has one.
 */
static ngx_int_t
ngx_http_gamma_tls_set_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_request_t            *r;
    ngx_http_gamma_ctx_t          *ctx;
    ngx_http_gamma_tls_session_t  *slot;

    r = pc->connection->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);
    slot = ctx ? ngx_http_gamma_tls_slot(r, ctx) : NULL;

    if (slot == NULL || slot->session == NULL) {
        return NGX_OK;
    }

    return ngx_ssl_set_session(pc->connection, slot->session);
}


static void
ngx_http_gamma_tls_save_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_ssl_session_t             *session;
    ngx_http_request_t            *r;
    ngx_http_gamma_ctx_t          *ctx;
    ngx_http_gamma_tls_session_t  *slot;

    r = pc->connection->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);
    slot = ctx ? ngx_http_gamma_tls_slot(r, ctx) : NULL;

    if (slot == NULL) {
        return;
    }

    session = ngx_ssl_get_session(pc->connection);
    if (session == NULL) {
        return;
    }

    if (slot->session) {
        ngx_ssl_free_session(slot->session);
    }

    slot->session = session;
}


/* a session is only offered again to the endpoint, under the same policy */
static ngx_http_gamma_tls_session_t *
ngx_http_gamma_tls_slot(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    uint64_t                       key;
    ngx_http_gamma_tls_t          *st;
    const gm_backend_tls_t        *tls;
    ngx_http_gamma_tls_session_t  *slot;

    if (ctx->backend == NULL || ctx->backend->ext->tls == NULL
        || ctx->endpoint == NULL)
    {
        return NULL;
    }

    st = ngx_http_gamma_tls_state(r);
    if (st == NULL) {
        return NULL;
    }

    tls = ctx->backend->ext->tls;

    key = ngx_crc32_long((u_char *) ctx->endpoint->text,
                         ctx->endpoint->text_len);
    key = (key << 32) ^ ngx_crc32_long((u_char *) tls->policy.data,
                                       tls->policy.len);
    key ^= tls->ca_id ^ ngx_crc32_long((u_char *) tls->hostname.data,
                                       tls->hostname.len);

    slot = &st->sessions[key % NGX_HTTP_GAMMA_TLS_SESSIONS];

    if (slot->key != key) {
        if (slot->session) {
            ngx_ssl_free_session(slot->session);
            slot->session = NULL;
        }

        slot->key = key;
    }

    return slot;
}


/* OpenSSL checked the chain; the leaf must match the policy's names */
static int
ngx_http_gamma_tls_verify(int ok, X509_STORE_CTX *xs)
{
    SSL                     *ssl;
    X509                    *cert;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_gamma_ctx_t    *ctx;
    const gm_backend_tls_t  *tls;

    ssl = X509_STORE_CTX_get_ex_data(xs,
                                     SSL_get_ex_data_X509_STORE_CTX_idx());
    c = ssl ? ngx_ssl_get_connection(ssl) : NULL;

    if (c == NULL) {
        return 0;
    }

    r = c->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (ctx == NULL || ctx->backend == NULL || ctx->backend->ext->tls == NULL) {
        return 0;
    }

    tls = ctx->backend->ext->tls;

    if (!ok) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "gamma: backend %s: the "
                      "certificate does not verify against the CA of "
                      "BackendTLSPolicy %s: %s", ctx->backend->label.data,
                      tls->policy.data, X509_verify_cert_error_string(
                          X509_STORE_CTX_get_error(xs)));
        return 0;
    }

    if (X509_STORE_CTX_get_error_depth(xs) != 0) {
        return 1;
    }

    cert = X509_STORE_CTX_get_current_cert(xs);

    if (cert == NULL || ngx_http_gamma_tls_match(cert, tls) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "gamma: backend %s: the "
                      "certificate matches no name of BackendTLSPolicy %s "
                      "(%s %s)", ctx->backend->label.data, tls->policy.data,
                      tls->nsans ? "subjectAltNames, first"
                                 : "validation.hostname",
                      tls->nsans ? tls->sans[0].value.data
                                 : tls->hostname.data);
        X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
        return 0;
    }

    return 1;
}


/* the hostname, or any of the subjectAltNames when the policy has them */
static ngx_int_t
ngx_http_gamma_tls_match(X509 *cert, const gm_backend_tls_t *tls)
{
    size_t           i;
    const gm_san_t  *san;

    if (tls->nsans == 0) {
        return X509_check_host(cert, tls->hostname.data, tls->hostname.len,
                               0, NULL) == 1 ? NGX_OK : NGX_DECLINED;
    }

    for (i = 0; i < tls->nsans; i++) {
        san = &tls->sans[i];

        if (san->type == GM_SAN_HOSTNAME) {
            if (X509_check_host(cert, san->value.data, san->value.len, 0,
                                NULL) == 1)
            {
                return NGX_OK;
            }

        } else if (ngx_http_gamma_tls_match_uri(cert, &san->value) == NGX_OK)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gamma_tls_match_uri(X509 *cert, const gm_str_t *uri)
{
    int                 i, n;
    ngx_int_t           rc;
    GENERAL_NAME       *gn;
    GENERAL_NAMES      *names;
    const ASN1_STRING  *s;

    names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;
    n = sk_GENERAL_NAME_num(names);

    for (i = 0; i < n && rc != NGX_OK; i++) {
        gn = sk_GENERAL_NAME_value(names, i);

        if (gn->type != GEN_URI) {
            continue;
        }

        s = gn->d.uniformResourceIdentifier;

        if ((size_t) ASN1_STRING_length(s) == uri->len
            && ngx_memcmp(ASN1_STRING_get0_data(s), uri->data, uri->len) == 0)
        {
            rc = NGX_OK;
        }
    }

    GENERAL_NAMES_free(names);

    return rc;
}


#else


ngx_int_t
ngx_http_gamma_tls_check(ngx_http_request_t *r, gm_backend_t *b)
{
    if (b->ext->tls == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gamma: backend %s needs TLS (BackendTLSPolicy %s) but "
                  "nginx was built without SSL, answering 502",
                  b->label.data, b->ext->tls->policy.data);

    return NGX_HTTP_BAD_GATEWAY;
}


ngx_int_t
ngx_http_gamma_tls_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_conf_t *conf, const gm_backend_tls_t *tls)
{
    return NGX_ERROR;
}


void
ngx_http_gamma_tls_exit(ngx_http_gamma_main_conf_t *gmcf)
{
}


#endif
