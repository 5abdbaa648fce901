/*
 * nginx-gamma: terse builders of test objects; see fixture.h.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"


/* appends to arr, whatever the width of its count n */
#define FX_PUSH(a, arr, n)                                                   \
    fx_push_count(a, (void **) &(arr), &(n), sizeof(n), sizeof(*(arr)))


static gm_object_t *fx_new(gm_kind_e kind, const char *ns, const char *name);
static void *fx_push(gm_arena_t *a, void **arr, size_t *n, size_t elt);
static void *fx_push_count(gm_arena_t *a, void **arr, void *n,
    size_t width, size_t elt);
static void fx_str(gm_arena_t *a, gm_str_t *dst, const char *s, size_t len);
static const char *fx_token(const char *p, char sep, char *buf, size_t size);
static void fx_service_port(gm_object_t *obj, const char *spec);
static void fx_slice_port(gm_object_t *obj, const char *spec);
static void fx_endpoint(gm_object_t *obj, const char *spec);
static gm_http_rule_t *fx_last_rule(gm_object_t *route);
static gm_http_match_t *fx_last_match(gm_object_t *route);
static int fx_header_cb(void *ctx, const gm_str_t *lname, gm_str_t *value);
static void fx_log_handler(void *data, gm_log_level_e level,
    const char *msg);


gm_object_t *
fx_service(const char *ns, const char *name, const char *ips,
    const char *ports)
{
    char           buf[256];
    const char    *p;
    gm_object_t   *obj;
    gm_service_t  *svc;

    obj = fx_new(GM_KIND_SERVICE, ns, name);
    svc = &obj->body->service;
    svc->type = GM_SERVICE_CLUSTER_IP;

    if (ips != NULL && strcmp(ips, "None") == 0) {
        svc->headless = 1;
        ips = NULL;
    }

    for (p = ips; p && *p; ) {
        p = fx_token(p, ',', buf, sizeof(buf));
        *(gm_addr_t *) FX_PUSH(gm_object_arena(obj), svc->cluster_ips,
                               svc->ncluster_ips) = fx_addr(buf);
    }

    for (p = ports; p && *p; ) {
        p = fx_token(p, ',', buf, sizeof(buf));
        fx_service_port(obj, buf);
    }

    return obj;
}


gm_object_t *
fx_slice(const char *ns, const char *name, const char *service,
    const char *ports, const char *endpoints)
{
    char                 buf[1024];
    const char          *p;
    gm_object_t         *obj;
    gm_endpointslice_t  *eps;

    obj = fx_new(GM_KIND_ENDPOINTSLICE, ns, name);
    eps = &obj->body->endpointslice;
    eps->family = AF_INET;
    fx_str(gm_object_arena(obj), &eps->service_name, service, strlen(service));

    for (p = ports; p && *p; ) {
        p = fx_token(p, ',', buf, sizeof(buf));
        fx_slice_port(obj, buf);
    }

    for (p = endpoints; p && *p; ) {
        p = fx_token(p, ';', buf, sizeof(buf));
        fx_endpoint(obj, buf);
    }

    return obj;
}


gm_object_t *
fx_route(const char *ns, const char *name, int64_t created)
{
    gm_object_t  *obj;

    obj = fx_new(GM_KIND_HTTPROUTE, ns, name);
    obj->body->meta.created = created;

    return obj;
}


void
fx_created(gm_object_t *obj, int64_t created)
{
    obj->body->meta.created = created;
}


gm_parent_ref_t *
fx_parent(gm_object_t *route, const char *ns, const char *name,
    uint16_t port, const char *section)
{
    gm_arena_t       *a;
    gm_httproute_t   *rt;
    gm_str_t          s;
    gm_parent_ref_t  *ref;

    a = gm_object_arena(route);
    rt = &route->body->httproute;
    ref = FX_PUSH(a, rt->parents, rt->nparents);

    ref->gk = &gm_group_kind_service;
    fx_str(a, &ref->ns, ns, strlen(ns));
    fx_str(a, &ref->name, name, strlen(name));
    fx_str(a, &s, section ? section : "", section ? strlen(section) : 0);
    ref->section_name = s.data;
    ref->port = port;

    return ref;
}


gm_http_rule_t *
fx_rule(gm_object_t *route, const char *name)
{
    gm_httproute_t  *rt;
    gm_http_rule_t  *rule;

    rt = &route->body->httproute;
    rule = FX_PUSH(gm_object_arena(route), rt->rules, rt->nrules);

    if (name != NULL && name[0] != '\0') {
        fx_str(gm_object_arena(route), &fx_rule_ext(route, rule)->name, name,
               strlen(name));
    }

    return rule;
}


gm_http_rule_ext_t *
fx_rule_ext(gm_object_t *route, gm_http_rule_t *rule)
{
    gm_http_rule_ext_t  *ext;

    if (rule->ext == NULL) {
        /* the unset values, read before the rule has its own */
        ext = gm_arena_alloc(gm_object_arena(route),
                             sizeof(gm_http_rule_ext_t));
        *ext = *gm_http_rule_ext(rule);
        rule->ext = ext;
    }

    return rule->ext;
}


gm_http_match_t *
fx_match(gm_object_t *route, gm_match_type_e type, const char *path)
{
    gm_http_rule_t   *rule;
    gm_http_match_t  *m;

    rule = fx_last_rule(route);
    m = FX_PUSH(gm_object_arena(route), rule->matches, rule->nmatches);

    if (path == NULL) {
        type = GM_MATCH_PREFIX;
        path = "/";
    }

    m->path_type = type;
    fx_str(gm_object_arena(route), &m->path, path, strlen(path));
    m->method = 0;

    return m;
}


void
fx_method(gm_object_t *route, const char *method)
{
    unsigned          i;
    gm_http_match_t  *m;

    m = fx_last_match(route);

    for (i = 1; *gm_http_method_name(i) != '\0'; i++) {
        if (strcmp(gm_http_method_name(i), method) == 0) {
            m->method = (uint8_t) i;
            return;
        }
    }

    fprintf(stderr, "fixture: unknown method %s\n", method);
    abort();
}


void
fx_header(gm_object_t *route, gm_match_type_e type, const char *name,
    const char *value)
{
    gm_kv_match_t    *kv;
    gm_http_match_t  *m;

    m = fx_last_match(route);
    kv = FX_PUSH(gm_object_arena(route), m->headers, m->nheaders);
    kv->type = type;
    fx_str(gm_object_arena(route), &kv->name, name, strlen(name));
    fx_str(gm_object_arena(route), &kv->value, value, strlen(value));
}


void
fx_query(gm_object_t *route, gm_match_type_e type, const char *name,
    const char *value)
{
    gm_kv_match_t    *kv;
    gm_http_match_t  *m;

    m = fx_last_match(route);
    kv = FX_PUSH(gm_object_arena(route), m->query, m->nquery);
    kv->type = type;
    fx_str(gm_object_arena(route), &kv->name, name, strlen(name));
    fx_str(gm_object_arena(route), &kv->value, value, strlen(value));
}


gm_backend_ref_t *
fx_backend(gm_object_t *route, const char *ns, const char *name,
    uint16_t port, uint32_t weight)
{
    gm_http_rule_t    *rule;
    gm_backend_ref_t  *ref;

    rule = fx_last_rule(route);
    ref = FX_PUSH(gm_object_arena(route), rule->backends, rule->nbackends);

    ref->gk = &gm_group_kind_service;
    fx_str(gm_object_arena(route), &ref->ns, ns, strlen(ns));
    fx_str(gm_object_arena(route), &ref->name, name, strlen(name));
    ref->port = port;
    ref->weight = weight;

    return ref;
}


gm_request_t
fx_request(const char *method, const char *path, const char *args,
    const char **headers)
{
    gm_request_t  r;

    memset(&r, 0, sizeof(gm_request_t));

    r.method.data = (char *) method;
    r.method.len = strlen(method);
    r.path.data = (char *) path;
    r.path.len = strlen(path);
    r.args.data = (char *) (args ? args : "");
    r.args.len = args ? strlen(args) : 0;
    r.header = fx_header_cb;
    r.ctx = headers;

    return r;
}


gm_log_t
fx_logger(fx_log_t *fl)
{
    gm_log_t  log;

    memset(fl, 0, sizeof(fx_log_t));
    log.handler = fx_log_handler;
    log.data = fl;

    return log;
}


gm_addr_t
fx_addr(const char *text)
{
    gm_addr_t  addr;

    memset(&addr, 0, sizeof(gm_addr_t));

    if (inet_pton(AF_INET, text, addr.addr) == 1) {
        addr.family = AF_INET;

    } else if (inet_pton(AF_INET6, text, addr.addr) == 1) {
        addr.family = AF_INET6;
    }

    return addr;
}


uint32_t
fx_rand(uint32_t *seed, uint32_t n)
{
    *seed = *seed * 1103515245 + 12345;

    return (*seed >> 8) % n;
}


static gm_object_t *
fx_new(gm_kind_e kind, const char *ns, const char *name)
{
    gm_arena_t   *arena;
    gm_object_t  *obj;

    /* as gm_object_parse() does: the object lives in its own arena */
    arena = gm_arena_create(1024);
    obj = gm_object_in_arena(arena, sizeof(gm_object_body_t));

    obj->body->meta.kind = kind;
    fx_str(gm_object_arena(obj), &obj->body->meta.ns, ns, strlen(ns));
    fx_str(gm_object_arena(obj), &obj->body->meta.name, name, strlen(name));
    obj->body->meta.resource_version = "";

    return obj;
}


/* appends a zeroed element; capacity doubles from 4, old copies stay */

static void *
fx_push(gm_arena_t *a, void **arr, size_t *n, size_t elt)
{
    void  *p;

    if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
        p = gm_arena_calloc(a, (*n ? *n * 2 : 4) * elt);

        if (*n != 0) {
            memcpy(p, *arr, *n * elt);
        }

        *arr = p;
    }

    p = (char *) *arr + (*n)++ * elt;
    memset(p, 0, elt);

    return p;
}


static void *
fx_push_count(gm_arena_t *a, void **arr, void *n, size_t width, size_t elt)
{
    void    *p;
    size_t   k;

    switch (width) {
    case sizeof(uint8_t):
        k = *(uint8_t *) n;
        break;
    case sizeof(uint16_t):
        k = *(uint16_t *) n;
        break;
    case sizeof(uint32_t):
        k = *(uint32_t *) n;
        break;
    default:
        k = *(size_t *) n;
        break;
    }

    p = fx_push(a, arr, &k, elt);

    switch (width) {
    case sizeof(uint8_t):
        *(uint8_t *) n = (uint8_t) k;
        break;
    case sizeof(uint16_t):
        *(uint16_t *) n = (uint16_t) k;
        break;
    case sizeof(uint32_t):
        *(uint32_t *) n = (uint32_t) k;
        break;
    default:
        *(size_t *) n = k;
        break;
    }

    return p;
}


static void
fx_str(gm_arena_t *a, gm_str_t *dst, const char *s, size_t len)
{
    gm_arena_strdup(a, dst, s, len);
}


/* copies up to sep into buf; returns where the next token starts */

static const char *
fx_token(const char *p, char sep, char *buf, size_t size)
{
    size_t  n;

    for (n = 0; p[n] != '\0' && p[n] != sep; n++) {
        /* void */
    }

    if (n >= size) {
        n = size - 1;
    }

    memcpy(buf, p, n);
    buf[n] = '\0';

    p += n;

    return (*p == sep) ? p + 1 : p;
}


static void
fx_service_port(gm_object_t *obj, const char *spec)
{
    char               *colon, *gt, buf[256];
    const char         *num;
    gm_service_t       *svc;
    gm_service_port_t  *sp;
    gm_str_t            tpn;

    svc = &obj->body->service;
    sp = FX_PUSH(gm_object_arena(obj), svc->ports, svc->nports);

    snprintf(buf, sizeof(buf), "%s", spec);
    colon = strchr(buf, ':');
    gt = strchr(buf, '>');

    if (gt != NULL) {
        *gt++ = '\0';
    }

    num = buf;

    if (colon != NULL) {
        *colon = '\0';
        num = colon + 1;
        fx_str(gm_object_arena(obj), &sp->name, buf, strlen(buf));

    } else {
        fx_str(gm_object_arena(obj), &sp->name, "", 0);
    }

    sp->port = (uint16_t) atoi(num);
    sp->protocol = GM_PROTOCOL_TCP;
    sp->app_protocol = "";
    sp->target_port_name = "";

    if (gt != NULL && *gt >= '0' && *gt <= '9') {
        sp->target_port = (uint16_t) atoi(gt);

    } else if (gt != NULL) {
        fx_str(gm_object_arena(obj), &tpn, gt, strlen(gt));
        sp->target_port_name = tpn.data;
    }
}


static void
fx_slice_port(gm_object_t *obj, const char *spec)
{
    const char          *colon, *num;
    gm_eps_port_t       *ep;
    gm_endpointslice_t  *eps;

    eps = &obj->body->endpointslice;
    ep = FX_PUSH(gm_object_arena(obj), eps->ports, eps->nports);

    colon = strchr(spec, ':');
    num = colon ? colon + 1 : spec;

    fx_str(gm_object_arena(obj), &ep->name, spec,
           colon ? (size_t) (colon - spec) : 0);
    ep->port = (uint16_t) atoi(num);
}


static void
fx_endpoint(gm_object_t *obj, const char *spec)
{
    char                 buf[256];
    const char          *p;
    gm_endpoint_t       *ep;
    gm_endpointslice_t  *eps;

    eps = &obj->body->endpointslice;
    ep = FX_PUSH(gm_object_arena(obj), eps->endpoints, eps->nendpoints);

    ep->ready = (*spec != '!');
    ep->serving = ep->ready;
    p = (*spec == '!') ? spec + 1 : spec;

    while (*p) {
        p = fx_token(p, ',', buf, sizeof(buf));
        *(gm_addr_t *) FX_PUSH(gm_object_arena(obj), ep->addrs, ep->naddrs) =
                                                                fx_addr(buf);
    }

    if (ep->naddrs != 0) {
        eps->family = ep->addrs[0].family;
    }
}


static gm_http_rule_t *
fx_last_rule(gm_object_t *route)
{
    gm_httproute_t  *rt;

    rt = &route->body->httproute;

    if (rt->nrules == 0) {
        return fx_rule(route, NULL);
    }

    return &rt->rules[rt->nrules - 1];
}


static gm_http_match_t *
fx_last_match(gm_object_t *route)
{
    gm_http_rule_t  *rule;

    rule = fx_last_rule(route);

    if (rule->nmatches == 0) {
        return fx_match(route, GM_MATCH_PREFIX, NULL);
    }

    return &rule->matches[rule->nmatches - 1];
}


static int
fx_header_cb(void *ctx, const gm_str_t *lname, gm_str_t *value)
{
    const char  **h;

    for (h = ctx; h && h[0] && h[1]; h += 2) {
        if (strlen(h[0]) == lname->len
            && strncasecmp(h[0], lname->data, lname->len) == 0)
        {
            value->data = (char *) h[1];
            value->len = strlen(h[1]);
            return 1;
        }
    }

    return 0;
}


static void
fx_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    static const char  *names[] = { "err", "warn", "notice", "info",
                                    "debug" };
    fx_log_t           *fl;

    fl = data;
    fl->n++;

    if (level <= GM_LOG_WARN) {
        fl->nwarn++;
        snprintf(fl->last, sizeof(fl->last), "%s", msg);
    }

    if (level < GM_LOG_INFO) {
        printf("# [%s] %s\n", names[level], msg);
    }
}


typedef struct {
    gm_store_t       *store;
    const gm_log_t   *log;
} fx_put_ctx_t;


static void
fx_put_one(void *data, json_t *doc, size_t index)
{
    fx_put_ctx_t  *pc = data;

    gm_object_t  *obj;

    (void) index;

    obj = gm_object_parse(doc, pc->log, NULL);

    if (obj != NULL) {
        gm_store_put(pc->store, obj);
    }
}


void
fx_put_yaml(gm_store_t *store, const char *yaml, const gm_log_t *log)
{
    fx_put_ctx_t  pc;

    pc.store = store;
    pc.log = log;

    gm_manifest_parse(yaml, strlen(yaml), "t.yaml", fx_put_one, &pc, log);
}
