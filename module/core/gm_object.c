/*
 * nginx-gamma: Services, EndpointSlices and HTTPRoutes read from their
 * JSON form and checked against the limits the Kubernetes API enforces,
 * so that nothing the API server would refuse reaches the snapshot.
 */


#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PCRE2_CODE_UNIT_WIDTH  8
#include <pcre2.h>

#include "gm_object.h"


#define GM_ARENA_BLOCK          512
#define GM_PATH_MAX             256
#define GM_REASON_MAX           512
#define GM_LOG_NAME_MAX         72

#define GM_MAX_CLUSTER_IPS      2
#define GM_MAX_EPS_PORTS        100
#define GM_MAX_EPS_ENDPOINTS    1000
#define GM_MAX_EPS_ADDRESSES    100
#define GM_MAX_PARENT_REFS      32
#define GM_MAX_HOSTNAMES        16
#define GM_MAX_RULES            16
#define GM_MAX_MATCHES          64
#define GM_MAX_MATCHES_TOTAL    128
#define GM_MAX_KV_MATCHES       16
#define GM_MAX_HEADER_VALUE     4096
#define GM_MAX_QUERY_VALUE      1024
#define GM_MAX_PATH_VALUE       1024
#define GM_MAX_FILTERS          16
#define GM_MAX_BACKEND_REFS     16
#define GM_MAX_WEIGHT           1000000
#define GM_MAX_HEADER_ACTIONS   16
#define GM_MAX_CORS_LIST        64
#define GM_MAX_CORS_METHODS     9
#define GM_MAX_RETRY_CODES      200

#define GM_REQUIRED             0x1
#define GM_EMPTY_OK             0x2

#define GM_WILDCARD_NONE        0
#define GM_WILDCARD_ALONE       1
#define GM_WILDCARD_ANY         2

#define GM_GATEWAY_GROUP        "gateway.networking.k8s.io"
#define GM_SERVICE_NAME_LABEL   "kubernetes.io/service-name"

#define gm_nelems(a)            (sizeof(a) / sizeof((a)[0]))


typedef enum {
    GM_NAME_OBJECT = 0,
    GM_NAME_LABEL,
    GM_NAME_SUBDOMAIN,
    GM_NAME_GROUP,
    GM_NAME_KIND,
    GM_NAME_HEADER,
    GM_NAME_HOSTNAME,
    GM_NAME_PRECISE_HOSTNAME,
    GM_NAME_SVC_PORT,
    GM_NAME_METHOD
} gm_name_e;

typedef struct {
    size_t        min;
    size_t        max;
    int         (*valid)(const char *s, size_t len);
    const char   *reason;
} gm_name_rule_t;

typedef struct {
    const char   *kind;
    const char   *api_version;
    gm_kind_e     type;
} gm_kind_def_t;

typedef struct {
    gm_arena_t       *arena;
    const gm_log_t   *log;
    gm_kind_e         kind;
    gm_meta_t        *meta;
    char              ns[GM_LOG_NAME_MAX];      /* printable, for logs */
    char              name[GM_LOG_NAME_MAX];
    size_t            plen;
    char              path[GM_PATH_MAX];        /* the field being read */
    gm_http_rule_t   *rule;                     /* the rule being read */
    size_t            rule_index;
    unsigned          prefix_only:1;    /* the rule has one PathPrefix match */
    /* rule-level problems, logged once the whole route proved valid */
    char             *rule_reason[GM_MAX_RULES];
} gm_ctx_t;

typedef int (*gm_filter_check_pt)(gm_ctx_t *ctx, json_t *spec);

/* indexed by gm_filter_type_e */
typedef struct {
    const char           *type;
    const char           *field;
    gm_filter_check_pt    check;
    unsigned              once:1;
    unsigned              unsupported:1;
} gm_filter_def_t;


static void gm_ctx_init(gm_ctx_t *ctx, gm_object_t *obj, const gm_log_t *log);
static size_t gm_path_push(gm_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void gm_path_pop(gm_ctx_t *ctx, size_t old);
static void gm_path_format(gm_ctx_t *ctx, const char *field, char *buf,
    size_t size);
static int gm_reject(gm_ctx_t *ctx, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void gm_rule_invalid(gm_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void gm_rules_report(gm_ctx_t *ctx, gm_httproute_t *route);
static void gm_sanitize(char *dst, size_t size, const char *s, size_t len);
static void *gm_alloc(gm_ctx_t *ctx, size_t n, size_t size);
static int gm_strdup(gm_ctx_t *ctx, gm_str_t *out, const char *s,
    size_t len);
static int gm_str_set(gm_ctx_t *ctx, gm_str_t *out, const char *s);

static json_t *gm_field(json_t *obj, const char *key);
static int gm_get_object(gm_ctx_t *ctx, json_t *obj, const char *key,
    json_t **out);
static int gm_get_array(gm_ctx_t *ctx, json_t *obj, const char *key,
    size_t max, json_t **out);
static int gm_check_object(gm_ctx_t *ctx, json_t *v);
static int gm_check_string(gm_ctx_t *ctx, const char *field, json_t *v,
    size_t min, size_t max, const char **s, size_t *len);
static int gm_get_cstr(gm_ctx_t *ctx, json_t *obj, const char *key,
    size_t min, size_t max, const char **s, size_t *len);
static int gm_get_string(gm_ctx_t *ctx, json_t *obj, const char *key,
    size_t min, size_t max, gm_str_t *out);
static int gm_check_int(gm_ctx_t *ctx, const char *field, json_t *v,
    int64_t min, int64_t max, int64_t *out);
static int gm_get_int(gm_ctx_t *ctx, json_t *obj, const char *key,
    int64_t min, int64_t max, int64_t *out);
static int gm_get_bool(gm_ctx_t *ctx, json_t *obj, const char *key,
    int *out);
static int gm_get_enum(gm_ctx_t *ctx, json_t *obj, const char *key,
    const char *const *values, int *out);
static int gm_check_name(gm_ctx_t *ctx, const char *field, const char *s,
    size_t len, gm_name_e type);
static int gm_get_name(gm_ctx_t *ctx, json_t *obj, const char *key,
    gm_name_e type, int flags, gm_str_t *out);
static int gm_get_name_def(gm_ctx_t *ctx, json_t *obj, const char *key,
    gm_name_e type, const char *def, gm_str_t *out);
static int gm_get_ns(gm_ctx_t *ctx, json_t *obj, gm_str_t *out);

static size_t gm_utf8_len(const char *s, size_t len);
static int gm_is_label(const char *s, size_t len);
static int gm_is_subdomain(const char *s, size_t len);
static int gm_is_group(const char *s, size_t len);
static int gm_is_kind(const char *s, size_t len);
static int gm_is_header_name(const char *s, size_t len);
static int gm_is_hostname(const char *s, size_t len);
static int gm_is_svc_port_name(const char *s, size_t len);
static int gm_is_method(const char *s, size_t len);
static int64_t gm_duration_parse(const char *s, size_t len);
static int gm_time_parse(const char *s, size_t len, int64_t *out);
static int gm_time_offset(const char *s, size_t len);
static int gm_digits(const char *s, size_t n);
static int64_t gm_days_from_civil(int64_t y, unsigned m, unsigned d);

static int gm_kind_detect(json_t *json, gm_kind_e *kind);
static gm_object_t *gm_object_create(gm_kind_e kind);
static int gm_body_parse(gm_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
static void gm_meta_log_names(gm_ctx_t *ctx, json_t *md);
static int gm_meta_parse(gm_ctx_t *ctx, json_t *json);
static int gm_meta_time(gm_ctx_t *ctx, json_t *md);

static int gm_service_parse(gm_ctx_t *ctx, json_t *json, gm_service_t *svc);
static int gm_service_cluster_ips(gm_ctx_t *ctx, json_t *spec,
    gm_service_t *svc);
static int gm_service_cluster_ip(gm_ctx_t *ctx, json_t *spec,
    gm_service_t *svc);
static int gm_service_ip(gm_ctx_t *ctx, const char *field, json_t *v,
    gm_service_t *svc, size_t n);
static int gm_service_ports(gm_ctx_t *ctx, json_t *spec, gm_service_t *svc);
static int gm_service_port_parse(gm_ctx_t *ctx, json_t *item,
    gm_service_port_t *sp);
static int gm_service_target_port(gm_ctx_t *ctx, json_t *item,
    gm_service_port_t *sp);
static int gm_service_port_unique(gm_ctx_t *ctx, gm_service_t *svc,
    size_t i);

static int gm_eps_parse(gm_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_service_name(gm_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_ports(gm_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_endpoints(gm_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_endpoint_parse(gm_ctx_t *ctx, json_t *item, int family,
    gm_endpoint_t *ep);
static int gm_eps_conditions(gm_ctx_t *ctx, json_t *item, gm_endpoint_t *ep);

static int gm_route_parse(gm_ctx_t *ctx, json_t *json,
    gm_httproute_t *route);
static int gm_parent_refs_parse(gm_ctx_t *ctx, json_t *spec,
    gm_httproute_t *route);
static int gm_parent_ref_parse(gm_ctx_t *ctx, json_t *item,
    gm_parent_ref_t *p);
static int gm_parent_ref_unique(gm_ctx_t *ctx, gm_parent_ref_t *refs,
    size_t i);
static int gm_hostnames_check(gm_ctx_t *ctx, json_t *spec);
static int gm_rules_parse(gm_ctx_t *ctx, json_t *spec,
    gm_httproute_t *route);
static int gm_rule_parse(gm_ctx_t *ctx, json_t *item, gm_http_rule_t *rule);
static int gm_rules_check(gm_ctx_t *ctx, gm_httproute_t *route);
static int gm_rule_redirect_check(gm_ctx_t *ctx, gm_http_rule_t *rule);
static int gm_matches_parse(gm_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
static int gm_match_parse(gm_ctx_t *ctx, json_t *item, gm_http_match_t *m);
static int gm_path_match_parse(gm_ctx_t *ctx, json_t *item,
    gm_http_match_t *m);
static int gm_path_value_check(gm_ctx_t *ctx, const gm_str_t *path);
static int gm_kv_matches_parse(gm_ctx_t *ctx, json_t *json, const char *key,
    size_t max_value, gm_kv_match_t **out, size_t *nout);
static int gm_kv_match_parse(gm_ctx_t *ctx, json_t *item, size_t max_value,
    gm_kv_match_t *kv);
static int gm_kv_match_duplicate(gm_kv_match_t *kv, size_t n);
static void gm_regex_check(gm_ctx_t *ctx, const char *field,
    const gm_str_t *re);
static int gm_backend_refs_parse(gm_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
static int gm_backend_ref_parse(gm_ctx_t *ctx, json_t *item,
    gm_backend_ref_t *b);
static int gm_object_ref_parse(gm_ctx_t *ctx, json_t *item,
    gm_backend_ref_t *b);
static int gm_get_rule_duration(gm_ctx_t *ctx, json_t *obj,
    const char *where, const char *key, int64_t *ms);
static int gm_timeouts_parse(gm_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
static int gm_retry_parse(gm_ctx_t *ctx, json_t *json, gm_http_rule_t *rule);
static int gm_retry_codes_parse(gm_ctx_t *ctx, json_t *retry,
    gm_http_rule_t *rule);

static int gm_filters_parse(gm_ctx_t *ctx, json_t *json, gm_filter_t **out,
    size_t *nout);
static int gm_filter_parse(gm_ctx_t *ctx, json_t *item, gm_filter_t *f);
static int gm_filter_type(gm_ctx_t *ctx, json_t *item, int *type);
static int gm_filter_fields_check(gm_ctx_t *ctx, json_t *item, int type);
static int gm_filters_check(gm_ctx_t *ctx, gm_filter_t *f, size_t n);
static int gm_header_filter_check(gm_ctx_t *ctx, json_t *spec);
static int gm_header_list_check(gm_ctx_t *ctx, json_t *spec,
    const char *key);
static int gm_string_list_check(gm_ctx_t *ctx, json_t *spec,
    const char *key, size_t max, gm_name_e type, int wildcard);
static void gm_header_actions_check(gm_ctx_t *ctx, json_t *spec);
static int gm_redirect_check(gm_ctx_t *ctx, json_t *spec);
static int gm_rewrite_check(gm_ctx_t *ctx, json_t *spec);
static int gm_path_modifier_check(gm_ctx_t *ctx, json_t *spec,
    const char *filter);
static int gm_mirror_check(gm_ctx_t *ctx, json_t *spec);
static int gm_fraction_check(gm_ctx_t *ctx, json_t *spec);
static int gm_cors_check(gm_ctx_t *ctx, json_t *spec);
static int gm_extension_ref_check(gm_ctx_t *ctx, json_t *spec);
static int gm_external_auth_check(gm_ctx_t *ctx, json_t *spec);
static void gm_filters_release(gm_filter_t *f, size_t n);


static const gm_kind_def_t  gm_kinds[] = {
    { "Service", "v1", GM_KIND_SERVICE },
    { "EndpointSlice", "discovery.k8s.io/v1", GM_KIND_ENDPOINTSLICE },
    { "HTTPRoute", GM_GATEWAY_GROUP "/v1", GM_KIND_HTTPROUTE },
    { "HTTPRoute", GM_GATEWAY_GROUP "/v1beta1", GM_KIND_HTTPROUTE }
};

static const gm_name_rule_t  gm_name_rules[] = {
    /* GM_NAME_OBJECT */
    { 1, 253, NULL, NULL },
    /* GM_NAME_LABEL */
    { 1, 63, gm_is_label, "must be a lowercase RFC 1123 label" },
    /* GM_NAME_SUBDOMAIN */
    { 1, 253, gm_is_subdomain, "must be a lowercase RFC 1123 subdomain" },
    /* GM_NAME_GROUP */
    { 0, 253, gm_is_group, "must be empty or a lowercase RFC 1123 subdomain" },
    /* GM_NAME_KIND */
    { 1, 63, gm_is_kind,
      "must start with a letter and hold only letters, digits and '-'" },
    /* GM_NAME_HEADER */
    { 1, 256, gm_is_header_name, "must be a valid HTTP header name" },
    /* GM_NAME_HOSTNAME */
    { 1, 253, gm_is_hostname,
      "must be a lowercase RFC 1123 hostname, optionally prefixed by \"*.\"" },
    /* GM_NAME_PRECISE_HOSTNAME */
    { 1, 253, gm_is_subdomain, "must be a lowercase RFC 1123 hostname" },
    /* GM_NAME_SVC_PORT */
    { 1, 15, gm_is_svc_port_name, "must be an IANA service name" },
    /* GM_NAME_METHOD */
    { 1, 7, gm_is_method, "must be an HTTP method or \"*\"" }
};

static const char *const  gm_service_types[] = {
    "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", NULL
};

static const char *const  gm_protocols[] = { "TCP", "UDP", "SCTP", NULL };

static const char *const  gm_address_types[] = {
    "IPv4", "IPv6", "FQDN", NULL
};

/* indexed by gm_match_type_e */
static const char *const  gm_path_types[] = {
    "Exact", "PathPrefix", "RegularExpression", NULL
};

static const char *const  gm_kv_types[] = {
    "Exact", "RegularExpression", NULL
};

static const char *const  gm_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
    "PATCH", NULL
};

static const char *const  gm_modifier_types[] = {
    "ReplaceFullPath", "ReplacePrefixMatch", NULL
};

static const char *const  gm_schemes[] = { "http", "https", NULL };

static const char *const  gm_auth_protocols[] = { "HTTP", "GRPC", NULL };

static const gm_filter_def_t  gm_filter_defs[] = {
    { "RequestHeaderModifier", "requestHeaderModifier",
      gm_header_filter_check, 1, 0 },
    { "ResponseHeaderModifier", "responseHeaderModifier",
      gm_header_filter_check, 1, 0 },
    { "RequestMirror", "requestMirror", gm_mirror_check, 0, 0 },
    { "RequestRedirect", "requestRedirect", gm_redirect_check, 1, 0 },
    { "URLRewrite", "urlRewrite", gm_rewrite_check, 1, 0 },
    { "CORS", "cors", gm_cors_check, 1, 0 },
    { "ExtensionRef", "extensionRef", gm_extension_ref_check, 0, 1 },
    { "ExternalAuth", "externalAuth", gm_external_auth_check, 0, 1 }
};


const char *
gm_kind_name(gm_kind_e kind)
{
    switch (kind) {
    case GM_KIND_SERVICE:
        return "Service";
    case GM_KIND_ENDPOINTSLICE:
        return "EndpointSlice";
    case GM_KIND_HTTPROUTE:
        return "HTTPRoute";
    default:
        return "Unknown";
    }
}


gm_object_t *
gm_object_parse(json_t *json, const gm_log_t *log, int *ignored)
{
    int           rc;
    gm_ctx_t      ctx;
    gm_kind_e     kind;
    gm_object_t  *obj;

    if (ignored != NULL) {
        *ignored = 0;
    }

    if (gm_kind_detect(json, &kind) != 0) {
        if (ignored != NULL) {
            *ignored = 1;
        }

        return NULL;
    }

    obj = gm_object_create(kind);
    if (obj == NULL) {
        gm_log(log, GM_LOG_ERR, "%s: out of memory", gm_kind_name(kind));
        return NULL;
    }

    gm_ctx_init(&ctx, obj, log);

    rc = gm_meta_parse(&ctx, json);
    if (rc == 0) {
        rc = gm_body_parse(&ctx, json, obj->body);
    }

    if (rc != 0) {
        gm_object_free(obj);
        return NULL;
    }

    if (kind == GM_KIND_HTTPROUTE) {
        gm_rules_report(&ctx, &obj->body->httproute);
    }

    return obj;
}


void
gm_object_free(gm_object_t *obj)
{
    size_t            i, j;
    gm_http_rule_t   *rule;
    gm_httproute_t   *route;

    if (obj == NULL) {
        return;
    }

    if (obj->body != NULL && obj->body->meta.kind == GM_KIND_HTTPROUTE) {
        route = &obj->body->httproute;

        for (i = 0; i < route->nrules; i++) {
            rule = &route->rules[i];
            gm_filters_release(rule->filters, rule->nfilters);

            for (j = 0; j < rule->nbackends; j++) {
                gm_filters_release(rule->backends[j].filters,
                                   rule->backends[j].nfilters);
            }
        }
    }

    /* the object itself lives in its arena */
    gm_arena_destroy(obj->arena);
}


int
gm_addr_parse(gm_addr_t *addr, const char *s)
{
    memset(addr, 0, sizeof(gm_addr_t));

    if (s == NULL) {
        return -1;
    }

    if (inet_pton(AF_INET, s, addr->addr) == 1) {
        addr->family = AF_INET;
        return 0;
    }

    if (inet_pton(AF_INET6, s, addr->addr) == 1) {
        addr->family = AF_INET6;
        return 0;
    }

    return -1;
}


static void
gm_ctx_init(gm_ctx_t *ctx, gm_object_t *obj, const gm_log_t *log)
{
    memset(ctx, 0, sizeof(gm_ctx_t));

    ctx->arena = obj->arena;
    ctx->log = log;
    ctx->kind = obj->body->meta.kind;
    ctx->meta = &obj->body->meta;
    strcpy(ctx->ns, "default");
    strcpy(ctx->name, "?");
}


static size_t
gm_path_push(gm_ctx_t *ctx, const char *fmt, ...)
{
    int      n;
    char     part[GM_PATH_MAX];
    size_t   old, room;
    va_list  args;

    old = ctx->plen;
    room = sizeof(ctx->path) - old;

    va_start(args, fmt);
    vsnprintf(part, sizeof(part), fmt, args);
    va_end(args);

    n = snprintf(ctx->path + old, room, "%s%s",
                 (old && part[0] != '[') ? "." : "", part);

    if (n > 0) {
        ctx->plen += (size_t) n < room ? (size_t) n : room - 1;
    }

    return old;
}


static void
gm_path_pop(gm_ctx_t *ctx, size_t old)
{
    ctx->plen = old;
    ctx->path[old] = '\0';
}


/* a path cut at the end of buf still says where */
static void
gm_path_format(gm_ctx_t *ctx, const char *field, char *buf, size_t size)
{
    size_t  n, len;

    if (field == NULL) {
        field = "";
    }

    n = ctx->plen < size - 1 ? ctx->plen : size - 1;
    memcpy(buf, ctx->path, n);

    if (n && field[0] && field[0] != '[' && n < size - 1) {
        buf[n++] = '.';
    }

    len = strlen(field);
    len = len < size - 1 - n ? len : size - 1 - n;
    memcpy(buf + n, field, len);
    buf[n + len] = '\0';
}


static int
gm_reject(gm_ctx_t *ctx, const char *field, const char *fmt, ...)
{
    char     where[GM_PATH_MAX], reason[GM_REASON_MAX];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(reason, sizeof(reason), fmt, args);
    va_end(args);

    gm_path_format(ctx, field, where, sizeof(where));

    gm_log(ctx->log, GM_LOG_ERR, "%s %s/%s rejected: %s: %s",
           gm_kind_name(ctx->kind), ctx->ns, ctx->name, where, reason);

    return -1;
}


/* the API server accepts this rule but we cannot serve it */
static void
gm_rule_invalid(gm_ctx_t *ctx, const char *fmt, ...)
{
    char      reason[GM_REASON_MAX];
    gm_str_t  s;
    va_list   args;

    if (ctx->rule == NULL) {
        return;
    }

    ctx->rule->invalid = 1;

    if (ctx->rule_reason[ctx->rule_index] != NULL) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(reason, sizeof(reason), fmt, args);
    va_end(args);

    if (gm_arena_strdup(ctx->arena, &s, reason, strlen(reason)) == 0) {
        ctx->rule_reason[ctx->rule_index] = s.data;
    }
}


static void
gm_rules_report(gm_ctx_t *ctx, gm_httproute_t *route)
{
    size_t       i;
    const char  *reason;

    for (i = 0; i < route->nrules; i++) {
        if (!route->rules[i].invalid) {
            continue;
        }

        reason = ctx->rule_reason[i] ? ctx->rule_reason[i] : "out of memory";

        gm_log(ctx->log, GM_LOG_WARN, "%s %s/%s rule %zu ignored: %s",
               gm_kind_name(ctx->kind), ctx->ns, ctx->name, i, reason);
    }
}


/* user text in a log line: printable ASCII only, and bounded */
static void
gm_sanitize(char *dst, size_t size, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len && i + 1 < size; i++) {
        c = (unsigned char) s[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }

    dst[i] = '\0';

    if (i < len && size > 4) {
        memcpy(dst + size - 4, "...", 4);
    }
}


static void *
gm_alloc(gm_ctx_t *ctx, size_t n, size_t size)
{
    void  *p;

    if (n == 0) {
        n = 1;
    }

    if (n > SIZE_MAX / size) {
        gm_reject(ctx, NULL, "out of memory");
        return NULL;
    }

    p = gm_arena_calloc(ctx->arena, n * size);
    if (p == NULL) {
        gm_reject(ctx, NULL, "out of memory");
    }

    return p;
}


static int
gm_strdup(gm_ctx_t *ctx, gm_str_t *out, const char *s, size_t len)
{
    if (gm_arena_strdup(ctx->arena, out, s, len) != 0) {
        return gm_reject(ctx, NULL, "out of memory");
    }

    return 0;
}


static int
gm_str_set(gm_ctx_t *ctx, gm_str_t *out, const char *s)
{
    return gm_strdup(ctx, out, s, strlen(s));
}


/* absent and null read the same: the API drops null optional fields */
static json_t *
gm_field(json_t *obj, const char *key)
{
    json_t  *v;

    v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}


static int
gm_get_object(gm_ctx_t *ctx, json_t *obj, const char *key, json_t **out)
{
    json_t  *v;

    *out = NULL;

    v = gm_field(obj, key);
    if (v != NULL && !json_is_object(v)) {
        return gm_reject(ctx, key, "must be an object");
    }

    *out = v;

    return 0;
}


static int
gm_get_array(gm_ctx_t *ctx, json_t *obj, const char *key, size_t max,
    json_t **out)
{
    json_t  *v;

    *out = NULL;

    v = gm_field(obj, key);

    if (v != NULL && !json_is_array(v)) {
        return gm_reject(ctx, key, "must be an array");
    }

    if (json_array_size(v) > max) {
        return gm_reject(ctx, key, "must have at most %zu items", max);
    }

    *out = v;

    return 0;
}


static int
gm_check_object(gm_ctx_t *ctx, json_t *v)
{
    if (!json_is_object(v)) {
        return gm_reject(ctx, NULL, "must be an object");
    }

    return 0;
}


static int
gm_check_string(gm_ctx_t *ctx, const char *field, json_t *v, size_t min,
    size_t max, const char **s, size_t *len)
{
    size_t  n;

    if (!json_is_string(v)) {
        return gm_reject(ctx, field, "must be a string");
    }

    *s = json_string_value(v);
    *len = json_string_length(v);

    if (memchr(*s, '\0', *len) != NULL) {
        return gm_reject(ctx, field, "must not contain a NUL character");
    }

    n = gm_utf8_len(*s, *len);

    if (n < min) {
        if (min == 1) {
            return gm_reject(ctx, field, "must not be empty");
        }

        return gm_reject(ctx, field, "must be at least %zu characters", min);
    }

    if (n > max) {
        return gm_reject(ctx, field, "must be at most %zu characters", max);
    }

    return 0;
}


/* returns 1 when present, 0 when absent, -1 when invalid */
static int
gm_get_cstr(gm_ctx_t *ctx, json_t *obj, const char *key, size_t min,
    size_t max, const char **s, size_t *len)
{
    json_t  *v;

    v = gm_field(obj, key);
    if (v == NULL) {
        return 0;
    }

    return gm_check_string(ctx, key, v, min, max, s, len) == 0 ? 1 : -1;
}


/* absent reads as ""; out may be NULL to validate only */
static int
gm_get_string(gm_ctx_t *ctx, json_t *obj, const char *key, size_t min,
    size_t max, gm_str_t *out)
{
    int          rc;
    size_t       len;
    const char  *s;

    s = "";
    len = 0;

    rc = gm_get_cstr(ctx, obj, key, min, max, &s, &len);
    if (rc < 0 || out == NULL) {
        return rc;
    }

    return gm_strdup(ctx, out, s, len) == 0 ? rc : -1;
}


static int
gm_check_int(gm_ctx_t *ctx, const char *field, json_t *v, int64_t min,
    int64_t max, int64_t *out)
{
    json_int_t  n;

    *out = 0;

    if (!json_is_integer(v)) {
        return gm_reject(ctx, field, "must be an integer");
    }

    n = json_integer_value(v);

    if (n < min || n > max) {
        return gm_reject(ctx, field, "must be between %lld and %lld",
                         (long long) min, (long long) max);
    }

    *out = n;

    return 0;
}


static int
gm_get_int(gm_ctx_t *ctx, json_t *obj, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
    json_t  *v;

    v = gm_field(obj, key);
    if (v == NULL) {
        return 0;
    }

    return gm_check_int(ctx, key, v, min, max, out) == 0 ? 1 : -1;
}


static int
gm_get_bool(gm_ctx_t *ctx, json_t *obj, const char *key, int *out)
{
    json_t  *v;

    v = gm_field(obj, key);
    if (v == NULL) {
        return 0;
    }

    if (!json_is_boolean(v)) {
        return gm_reject(ctx, key, "must be a boolean");
    }

    *out = json_is_true(v);

    return 1;
}


static int
gm_get_enum(gm_ctx_t *ctx, json_t *obj, const char *key,
    const char *const *values, int *out)
{
    int          i, rc;
    char         text[48];
    size_t       len;
    const char  *s;

    *out = 0;

    rc = gm_get_cstr(ctx, obj, key, 0, SIZE_MAX, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    for (i = 0; values[i] != NULL; i++) {
        if (strlen(values[i]) == len && memcmp(values[i], s, len) == 0) {
            *out = i;
            return 1;
        }
    }

    gm_sanitize(text, sizeof(text), s, len);

    return gm_reject(ctx, key, "unsupported value \"%s\"", text);
}


static int
gm_check_name(gm_ctx_t *ctx, const char *field, const char *s, size_t len,
    gm_name_e type)
{
    size_t                 n;
    const gm_name_rule_t  *r;

    r = &gm_name_rules[type];
    n = gm_utf8_len(s, len);

    if (n < r->min) {
        return gm_reject(ctx, field, "must not be empty");
    }

    if (n > r->max) {
        return gm_reject(ctx, field, "must be at most %zu characters",
                         r->max);
    }

    if (r->valid != NULL && n > 0 && !r->valid(s, len)) {
        return gm_reject(ctx, field, "%s", r->reason);
    }

    return 0;
}


/* returns 1 when present, 0 when absent, -1 when invalid */
static int
gm_get_name(gm_ctx_t *ctx, json_t *obj, const char *key, gm_name_e type,
    int flags, gm_str_t *out)
{
    int          rc;
    size_t       len;
    const char  *s;

    s = "";
    len = 0;

    rc = gm_get_cstr(ctx, obj, key, 0, SIZE_MAX, &s, &len);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0 && (flags & GM_REQUIRED)) {
        return gm_reject(ctx, key, "is required");
    }

    if (rc == 1
        && !(len == 0 && (flags & GM_EMPTY_OK))
        && gm_check_name(ctx, key, s, len, type) != 0)
    {
        return -1;
    }

    if (out != NULL && gm_strdup(ctx, out, s, len) != 0) {
        return -1;
    }

    return rc;
}


static int
gm_get_name_def(gm_ctx_t *ctx, json_t *obj, const char *key, gm_name_e type,
    const char *def, gm_str_t *out)
{
    int  rc;

    rc = gm_get_name(ctx, obj, key, type, 0, out);
    if (rc < 0) {
        return -1;
    }

    return rc == 0 ? gm_str_set(ctx, out, def) : 0;
}


/* a reference's namespace defaults to the route's own */
static int
gm_get_ns(gm_ctx_t *ctx, json_t *obj, gm_str_t *out)
{
    int  rc;

    rc = gm_get_name(ctx, obj, "namespace", GM_NAME_LABEL, 0, out);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0) {
        *out = ctx->meta->ns;
    }

    return 0;
}


/* the API counts characters, not bytes */
static size_t
gm_utf8_len(const char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ */
static int
gm_is_label(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || s[0] == '-' || s[len - 1] == '-') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static int
gm_is_subdomain(const char *s, size_t len)
{
    const char  *dot, *end;

    end = s + len;

    for ( ;; ) {
        dot = memchr(s, '.', end - s);

        if (!gm_is_label(s, (dot ? dot : end) - s)) {
            return 0;
        }

        if (dot == NULL) {
            return 1;
        }

        s = dot + 1;
    }
}


static int
gm_is_group(const char *s, size_t len)
{
    return len == 0 || gm_is_subdomain(s, len);
}


/* ^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$ */
static int
gm_is_kind(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || s[len - 1] == '-'
        || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* ^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$ */
static int
gm_is_header_name(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || (s[i] != '\0' && strchr("!#$%&'*+-.^_`|~", s[i]) != NULL)))
        {
            return 0;
        }
    }

    return len > 0;
}


static int
gm_is_hostname(const char *s, size_t len)
{
    if (len > 2 && s[0] == '*' && s[1] == '.') {
        s += 2;
        len -= 2;
    }

    return gm_is_subdomain(s, len);
}


/* IANA_SVC_NAME: a label with at least one letter and no "--" */
static int
gm_is_svc_port_name(const char *s, size_t len)
{
    size_t  i;
    int     letter;

    if (!gm_is_label(s, len)) {
        return 0;
    }

    letter = 0;

    for (i = 0; i < len; i++) {
        if (s[i] >= 'a' && s[i] <= 'z') {
            letter = 1;
        }

        if (i > 0 && s[i] == '-' && s[i - 1] == '-') {
            return 0;
        }
    }

    return letter;
}


static int
gm_is_method(const char *s, size_t len)
{
    size_t  i;

    if (len == 1 && s[0] == '*') {
        return 1;
    }

    for (i = 0; gm_methods[i] != NULL; i++) {
        if (strlen(gm_methods[i]) == len && memcmp(gm_methods[i], s, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* GEP-2257: ^([0-9]{1,5}(h|m|s|ms)){1,4}$, in milliseconds, or -1 */
static int64_t
gm_duration_parse(const char *s, size_t len)
{
    size_t   i, digits, parts;
    int64_t  ms, n;

    ms = 0;
    parts = 0;
    i = 0;

    while (i < len) {
        n = 0;

        for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; digits++) {
            n = n * 10 + (s[i++] - '0');
        }

        if (digits == 0 || digits > 5 || i == len || ++parts > 4) {
            return -1;
        }

        if (s[i] == 'h') {
            n *= 3600000;

        } else if (s[i] == 'm' && i + 1 < len && s[i + 1] == 's') {
            i++;

        } else if (s[i] == 'm') {
            n *= 60000;

        } else if (s[i] == 's') {
            n *= 1000;

        } else {
            return -1;
        }

        i++;
        ms += n;
    }

    return parts ? ms : -1;
}


/* RFC 3339: 2024-01-02T03:04:05Z, optional fraction and numeric offset */
static int
gm_time_parse(const char *s, size_t len, int64_t *out)
{
    int      y, mo, d, h, mi, sec, off;
    size_t   i;

    if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':'
        || s[16] != ':' || (s[10] != 'T' && s[10] != 't'))
    {
        return -1;
    }

    y = gm_digits(s, 4);
    mo = gm_digits(s + 5, 2);
    d = gm_digits(s + 8, 2);
    h = gm_digits(s + 11, 2);
    mi = gm_digits(s + 14, 2);
    sec = gm_digits(s + 17, 2);

    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23
        || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    {
        return -1;
    }

    i = 19;

    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* the fraction is dropped */
        }

        if (i == 20) {
            return -1;
        }
    }

    off = gm_time_offset(s + i, len - i);
    if (off == INT32_MIN) {
        return -1;
    }

    *out = gm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
           - off;

    return 0;
}


/* "Z" or "+hh:mm" in seconds; INT32_MIN when it is neither */
static int
gm_time_offset(const char *s, size_t len)
{
    int  h, m;

    if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        return 0;
    }

    if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
        return INT32_MIN;
    }

    h = gm_digits(s + 1, 2);
    m = gm_digits(s + 4, 2);

    if (h < 0 || h > 23 || m < 0 || m > 59) {
        return INT32_MIN;
    }

    return (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
}


static int
gm_digits(const char *s, size_t n)
{
    int     v;
    size_t  i;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    return v;
}


/* days since 1970-01-01 in the proleptic Gregorian calendar */
static int64_t
gm_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static int
gm_kind_detect(json_t *json, gm_kind_e *kind)
{
    size_t       i;
    const char  *k, *v;

    k = json_string_value(json_object_get(json, "kind"));
    v = json_string_value(json_object_get(json, "apiVersion"));

    if (k == NULL || v == NULL) {
        return -1;
    }

    for (i = 0; i < gm_nelems(gm_kinds); i++) {
        if (strcmp(k, gm_kinds[i].kind) == 0
            && strcmp(v, gm_kinds[i].api_version) == 0)
        {
            *kind = gm_kinds[i].type;
            return 0;
        }
    }

    return -1;
}


static gm_object_t *
gm_object_create(gm_kind_e kind)
{
    gm_arena_t   *arena;
    gm_object_t  *obj;

    arena = gm_arena_create(GM_ARENA_BLOCK);
    if (arena == NULL) {
        return NULL;
    }

    obj = gm_arena_calloc(arena, sizeof(gm_object_t));
    if (obj == NULL) {
        gm_arena_destroy(arena);
        return NULL;
    }

    obj->arena = arena;

    obj->body = gm_arena_calloc(arena, sizeof(gm_object_body_t));
    if (obj->body == NULL) {
        gm_arena_destroy(arena);
        return NULL;
    }

    obj->body->meta.kind = kind;

    return obj;
}


static int
gm_body_parse(gm_ctx_t *ctx, json_t *json, gm_object_body_t *body)
{
    switch (ctx->kind) {
    case GM_KIND_SERVICE:
        return gm_service_parse(ctx, json, &body->service);
    case GM_KIND_ENDPOINTSLICE:
        return gm_eps_parse(ctx, json, &body->endpointslice);
    case GM_KIND_HTTPROUTE:
        return gm_route_parse(ctx, json, &body->httproute);
    default:
        return gm_reject(ctx, NULL, "unknown kind");
    }
}


/* the names as written, for the log line of a rejection */
static void
gm_meta_log_names(gm_ctx_t *ctx, json_t *md)
{
    json_t  *v;

    v = json_object_get(md, "name");
    if (json_is_string(v)) {
        gm_sanitize(ctx->name, sizeof(ctx->name), json_string_value(v),
                    json_string_length(v));
    }

    v = json_object_get(md, "namespace");
    if (json_is_string(v) && json_string_length(v) > 0) {
        gm_sanitize(ctx->ns, sizeof(ctx->ns), json_string_value(v),
                    json_string_length(v));
    }
}


static int
gm_meta_parse(gm_ctx_t *ctx, json_t *json)
{
    int         rc;
    json_t     *md;
    gm_meta_t  *meta;

    meta = ctx->meta;
    md = gm_field(json, "metadata");

    gm_meta_log_names(ctx, md);

    if (md != NULL && gm_check_object(ctx, md) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "metadata");

    if (gm_get_name(ctx, md, "name", GM_NAME_SUBDOMAIN, GM_REQUIRED,
                    &meta->name) < 0)
    {
        return -1;
    }

    rc = gm_get_name(ctx, md, "namespace", GM_NAME_LABEL, GM_EMPTY_OK,
                     &meta->ns);
    if (rc < 0) {
        return -1;
    }

    if (meta->ns.len == 0 && gm_str_set(ctx, &meta->ns, "default") != 0) {
        return -1;
    }

    if (gm_get_string(ctx, md, "resourceVersion", 0, 1024,
                      &meta->resource_version) < 0
        || gm_get_string(ctx, md, "uid", 0, 1024, &meta->uid) < 0
        || gm_meta_time(ctx, md) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_meta_time(gm_ctx_t *ctx, json_t *md)
{
    int          rc;
    size_t       len;
    const char  *s;

    rc = gm_get_cstr(ctx, md, "creationTimestamp", 0, 64, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    if (gm_time_parse(s, len, &ctx->meta->created) != 0) {
        return gm_reject(ctx, "creationTimestamp",
                         "must be an RFC 3339 time");
    }

    return 0;
}


static int
gm_service_parse(gm_ctx_t *ctx, json_t *json, gm_service_t *svc)
{
    int      rc, type;
    json_t  *spec;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "spec");

    rc = gm_get_enum(ctx, spec, "type", gm_service_types, &type);
    if (rc < 0) {
        return -1;
    }

    svc->type = rc ? (gm_service_type_e) type : GM_SERVICE_CLUSTER_IP;

    if (gm_service_cluster_ips(ctx, spec, svc) != 0
        || gm_service_ports(ctx, spec, svc) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_service_cluster_ips(gm_ctx_t *ctx, json_t *spec, gm_service_t *svc)
{
    char     field[64];
    size_t   i, n;
    json_t  *ips, *ip;

    if (gm_get_array(ctx, spec, "clusterIPs", GM_MAX_CLUSTER_IPS, &ips) != 0)
    {
        return -1;
    }

    n = json_array_size(ips);
    if (n == 0) {
        return gm_service_cluster_ip(ctx, spec, svc);
    }

    svc->cluster_ips = gm_alloc(ctx, n, sizeof(gm_addr_t));
    if (svc->cluster_ips == NULL) {
        return -1;
    }

    json_array_foreach(ips, i, ip) {
        snprintf(field, sizeof(field), "clusterIPs[%zu]", i);

        if (gm_service_ip(ctx, field, ip, svc, n) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
gm_service_cluster_ip(gm_ctx_t *ctx, json_t *spec, gm_service_t *svc)
{
    json_t  *ip;

    ip = gm_field(spec, "clusterIP");
    if (ip == NULL || (json_is_string(ip) && json_string_length(ip) == 0)) {
        return 0;
    }

    svc->cluster_ips = gm_alloc(ctx, 1, sizeof(gm_addr_t));
    if (svc->cluster_ips == NULL) {
        return -1;
    }

    return gm_service_ip(ctx, "clusterIP", ip, svc, 1);
}


static int
gm_service_ip(gm_ctx_t *ctx, const char *field, json_t *v, gm_service_t *svc,
    size_t n)
{
    size_t       len;
    const char  *s;

    if (gm_check_string(ctx, field, v, 1, 64, &s, &len) != 0) {
        return -1;
    }

    if (strcmp(s, "None") == 0) {
        if (n != 1) {
            return gm_reject(ctx, field, "\"None\" must be the only entry");
        }

        svc->headless = 1;
        return 0;
    }

    if (gm_addr_parse(&svc->cluster_ips[svc->ncluster_ips], s) != 0) {
        return gm_reject(ctx, field, "must be a valid IP address");
    }

    svc->ncluster_ips++;

    return 0;
}


static int
gm_service_ports(gm_ctx_t *ctx, json_t *spec, gm_service_t *svc)
{
    size_t   i, n, old;
    json_t  *ports, *item;

    if (gm_get_array(ctx, spec, "ports", SIZE_MAX, &ports) != 0) {
        return -1;
    }

    n = json_array_size(ports);
    if (n == 0) {
        return 0;
    }

    svc->ports = gm_alloc(ctx, n, sizeof(gm_service_port_t));
    if (svc->ports == NULL) {
        return -1;
    }

    svc->nports = n;

    json_array_foreach(ports, i, item) {
        old = gm_path_push(ctx, "ports[%zu]", i);

        if (gm_service_port_parse(ctx, item, &svc->ports[i]) != 0
            || gm_service_port_unique(ctx, svc, i) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_service_port_parse(gm_ctx_t *ctx, json_t *item, gm_service_port_t *sp)
{
    int      rc, proto;
    int64_t  port;

    if (gm_check_object(ctx, item) != 0
        || gm_get_name(ctx, item, "name", GM_NAME_LABEL, GM_EMPTY_OK,
                       &sp->name) < 0)
    {
        return -1;
    }

    rc = gm_get_int(ctx, item, "port", 1, 65535, &port);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "port", "is required");
    }

    sp->port = (uint16_t) port;

    rc = gm_get_enum(ctx, item, "protocol", gm_protocols, &proto);
    if (rc < 0
        || gm_str_set(ctx, &sp->protocol, gm_protocols[rc ? proto : 0]) != 0
        || gm_service_target_port(ctx, item, sp) != 0)
    {
        return -1;
    }

    return gm_get_string(ctx, item, "appProtocol", 0, 256,
                         &sp->app_protocol) < 0 ? -1 : 0;
}


static int
gm_service_target_port(gm_ctx_t *ctx, json_t *item, gm_service_port_t *sp)
{
    int64_t      port;
    json_t      *v;
    size_t       len;
    const char  *s;

    if (gm_str_set(ctx, &sp->target_port_name, "") != 0) {
        return -1;
    }

    v = gm_field(item, "targetPort");

    if (v == NULL) {
        return 0;
    }

    if (json_is_integer(v)) {
        /* 0 is the zero value of IntOrString: "same as port" */
        if (gm_check_int(ctx, "targetPort", v, 0, 65535, &port) != 0) {
            return -1;
        }

        sp->target_port = (uint16_t) port;
        return 0;
    }

    if (!json_is_string(v)) {
        return gm_reject(ctx, "targetPort",
                         "must be an integer or a string");
    }

    s = json_string_value(v);
    len = json_string_length(v);

    /* a quoted number: kubectl refuses it, we read it as the number */
    if (len > 0 && len <= 5 && strspn(s, "0123456789") == len) {
        port = atoi(s);

        if (port < 1 || port > 65535) {
            return gm_reject(ctx, "targetPort",
                             "must be between 1 and 65535");
        }

        sp->target_port = (uint16_t) port;
        return 0;
    }

    if (gm_check_name(ctx, "targetPort", s, len, GM_NAME_SVC_PORT) != 0) {
        return -1;
    }

    return gm_strdup(ctx, &sp->target_port_name, s, len);
}


static int
gm_service_port_unique(gm_ctx_t *ctx, gm_service_t *svc, size_t i)
{
    size_t              j;
    gm_service_port_t  *a, *b;

    a = &svc->ports[i];

    if (svc->nports > 1 && a->name.len == 0) {
        return gm_reject(ctx, "name",
                         "is required when the Service has several ports");
    }

    for (j = 0; j < i; j++) {
        b = &svc->ports[j];

        if (a->name.len && gm_str_eq(&a->name, &b->name)) {
            return gm_reject(ctx, "name", "duplicate port name");
        }

        if (a->port == b->port && gm_str_eq(&a->protocol, &b->protocol)) {
            return gm_reject(ctx, "port", "duplicate port and protocol");
        }
    }

    return 0;
}


static int
gm_eps_parse(gm_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    int  rc, type;

    rc = gm_get_enum(ctx, json, "addressType", gm_address_types, &type);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0) {
        return gm_reject(ctx, "addressType", "is required");
    }

    if (type == 2) {
        return gm_reject(ctx, "addressType", "FQDN is not supported");
    }

    eps->family = type == 0 ? AF_INET : AF_INET6;

    if (gm_eps_service_name(ctx, json, eps) != 0
        || gm_eps_ports(ctx, json, eps) != 0
        || gm_eps_endpoints(ctx, json, eps) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_eps_service_name(gm_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    json_t  *labels;

    (void) gm_path_push(ctx, "metadata");

    if (gm_get_object(ctx, gm_field(json, "metadata"), "labels", &labels)
        != 0)
    {
        return -1;
    }

    (void) gm_path_push(ctx, "labels");

    if (gm_get_name(ctx, labels, GM_SERVICE_NAME_LABEL, GM_NAME_LABEL,
                    GM_REQUIRED, &eps->service_name) < 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_eps_ports(gm_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    int      rc;
    size_t   i, n, old;
    json_t  *ports, *item;
    int64_t  port;

    if (gm_get_array(ctx, json, "ports", GM_MAX_EPS_PORTS, &ports) != 0) {
        return -1;
    }

    n = json_array_size(ports);
    if (n == 0) {
        return 0;
    }

    eps->ports = gm_alloc(ctx, n, sizeof(gm_eps_port_t));
    if (eps->ports == NULL) {
        return -1;
    }

    eps->nports = n;

    json_array_foreach(ports, i, item) {
        old = gm_path_push(ctx, "ports[%zu]", i);

        if (gm_check_object(ctx, item) != 0
            || gm_get_name(ctx, item, "name", GM_NAME_LABEL, GM_EMPTY_OK,
                           &eps->ports[i].name) < 0)
        {
            return -1;
        }

        rc = gm_get_int(ctx, item, "port", 1, 65535, &port);
        if (rc < 0) {
            return -1;
        }

        eps->ports[i].port = rc ? (uint16_t) port : 0;

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_eps_endpoints(gm_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    size_t   i, n, old;
    json_t  *endpoints, *item;

    if (gm_get_array(ctx, json, "endpoints", GM_MAX_EPS_ENDPOINTS,
                     &endpoints) != 0)
    {
        return -1;
    }

    n = json_array_size(endpoints);
    if (n == 0) {
        return 0;
    }

    eps->endpoints = gm_alloc(ctx, n, sizeof(gm_endpoint_t));
    if (eps->endpoints == NULL) {
        return -1;
    }

    eps->nendpoints = n;

    json_array_foreach(endpoints, i, item) {
        old = gm_path_push(ctx, "endpoints[%zu]", i);

        if (gm_eps_endpoint_parse(ctx, item, eps->family,
                                  &eps->endpoints[i]) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_eps_endpoint_parse(gm_ctx_t *ctx, json_t *item, int family,
    gm_endpoint_t *ep)
{
    char         field[64];
    size_t       i, n, len;
    json_t      *addrs, *v;
    const char  *s;

    if (gm_check_object(ctx, item) != 0
        || gm_get_array(ctx, item, "addresses", GM_MAX_EPS_ADDRESSES, &addrs)
           != 0)
    {
        return -1;
    }

    n = json_array_size(addrs);
    if (n == 0) {
        return gm_reject(ctx, "addresses", "must have at least 1 item");
    }

    ep->addrs = gm_alloc(ctx, n, sizeof(gm_addr_t));
    if (ep->addrs == NULL) {
        return -1;
    }

    json_array_foreach(addrs, i, v) {
        snprintf(field, sizeof(field), "addresses[%zu]", i);

        if (gm_check_string(ctx, field, v, 1, 64, &s, &len) != 0) {
            return -1;
        }

        if (gm_addr_parse(&ep->addrs[i], s) != 0
            || ep->addrs[i].family != family)
        {
            return gm_reject(ctx, field, "must be an %s address",
                             family == AF_INET ? "IPv4" : "IPv6");
        }
    }

    ep->naddrs = n;

    return gm_eps_conditions(ctx, item, ep);
}


/* absent ready and serving mean true, absent terminating means false */
static int
gm_eps_conditions(gm_ctx_t *ctx, json_t *item, gm_endpoint_t *ep)
{
    int      ready, serving, terminating;
    json_t  *cond;

    if (gm_get_object(ctx, item, "conditions", &cond) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "conditions");

    ready = 1;
    serving = 1;
    terminating = 0;

    if (gm_get_bool(ctx, cond, "ready", &ready) < 0
        || gm_get_bool(ctx, cond, "serving", &serving) < 0
        || gm_get_bool(ctx, cond, "terminating", &terminating) < 0)
    {
        return -1;
    }

    ep->ready = ready ? 1 : 0;
    ep->serving = serving ? 1 : 0;
    ep->terminating = terminating ? 1 : 0;

    return 0;
}


static int
gm_route_parse(gm_ctx_t *ctx, json_t *json, gm_httproute_t *route)
{
    json_t  *spec;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_parent_refs_parse(ctx, spec, route) != 0
        || gm_hostnames_check(ctx, spec) != 0
        || gm_rules_parse(ctx, spec, route) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_parent_refs_parse(gm_ctx_t *ctx, json_t *spec, gm_httproute_t *route)
{
    size_t   i, n, old;
    json_t  *refs, *item;

    if (gm_get_array(ctx, spec, "parentRefs", GM_MAX_PARENT_REFS, &refs) != 0)
    {
        return -1;
    }

    n = json_array_size(refs);
    if (n == 0) {
        return 0;
    }

    route->parents = gm_alloc(ctx, n, sizeof(gm_parent_ref_t));
    if (route->parents == NULL) {
        return -1;
    }

    route->nparents = n;

    json_array_foreach(refs, i, item) {
        old = gm_path_push(ctx, "parentRefs[%zu]", i);

        if (gm_parent_ref_parse(ctx, item, &route->parents[i]) != 0
            || gm_parent_ref_unique(ctx, route->parents, i) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_parent_ref_parse(gm_ctx_t *ctx, json_t *item, gm_parent_ref_t *p)
{
    int      rc;
    int64_t  port;

    if (gm_check_object(ctx, item) != 0
        || gm_get_name_def(ctx, item, "group", GM_NAME_GROUP,
                           GM_GATEWAY_GROUP, &p->group) != 0
        || gm_get_name_def(ctx, item, "kind", GM_NAME_KIND, "Gateway",
                           &p->kind) != 0
        || gm_get_ns(ctx, item, &p->ns) != 0
        || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, GM_REQUIRED,
                       &p->name) < 0
        || gm_get_name(ctx, item, "sectionName", GM_NAME_SUBDOMAIN, 0,
                       &p->section_name) < 0)
    {
        return -1;
    }

    rc = gm_get_int(ctx, item, "port", 1, 65535, &port);
    if (rc < 0) {
        return -1;
    }

    p->port = rc ? (uint16_t) port : 0;

    return 0;
}


/* the CEL rule of the experimental channel, the laxer of the two */
static int
gm_parent_ref_unique(gm_ctx_t *ctx, gm_parent_ref_t *refs, size_t i)
{
    size_t            j;
    gm_parent_ref_t  *a, *b;

    a = &refs[i];

    for (j = 0; j < i; j++) {
        b = &refs[j];

        if (!gm_str_eq(&a->group, &b->group) || !gm_str_eq(&a->kind, &b->kind)
            || !gm_str_eq(&a->ns, &b->ns) || !gm_str_eq(&a->name, &b->name))
        {
            continue;
        }

        if ((a->section_name.len == 0 && a->port == 0)
            || (b->section_name.len == 0 && b->port == 0))
        {
            return gm_reject(ctx, NULL, "sectionName or port must be "
                             "specified when parentRefs includes 2 or more "
                             "references to the same parent");
        }

        if (gm_str_eq(&a->section_name, &b->section_name)
            && a->port == b->port)
        {
            return gm_reject(ctx, NULL, "sectionName or port must be unique "
                             "when parentRefs includes 2 or more references "
                             "to the same parent");
        }
    }

    return 0;
}


/* hostnames mean nothing in a mesh (GEP-1294) but are still validated */
static int
gm_hostnames_check(gm_ctx_t *ctx, json_t *spec)
{
    char         field[64];
    size_t       i, len;
    json_t      *hosts, *v;
    gm_addr_t    addr;
    const char  *s;

    if (gm_get_array(ctx, spec, "hostnames", GM_MAX_HOSTNAMES, &hosts) != 0) {
        return -1;
    }

    json_array_foreach(hosts, i, v) {
        snprintf(field, sizeof(field), "hostnames[%zu]", i);

        if (gm_check_string(ctx, field, v, 0, SIZE_MAX, &s, &len) != 0
            || gm_check_name(ctx, field, s, len, GM_NAME_HOSTNAME) != 0)
        {
            return -1;
        }

        if (gm_addr_parse(&addr, s) == 0) {
            return gm_reject(ctx, field, "must not be an IP address");
        }
    }

    return 0;
}


static int
gm_rules_parse(gm_ctx_t *ctx, json_t *spec, gm_httproute_t *route)
{
    size_t   i, n, old;
    json_t  *rules, *item;

    if (gm_get_array(ctx, spec, "rules", GM_MAX_RULES, &rules) != 0) {
        return -1;
    }

    if (rules != NULL && json_array_size(rules) == 0) {
        return gm_reject(ctx, "rules", "must have at least 1 item");
    }

    /* no rules: the CRD default, one rule with the default match */
    n = rules ? json_array_size(rules) : 1;

    route->rules = gm_alloc(ctx, n, sizeof(gm_http_rule_t));
    if (route->rules == NULL) {
        return -1;
    }

    route->nrules = n;

    for (i = 0; i < n; i++) {
        old = gm_path_push(ctx, "rules[%zu]", i);
        item = json_array_get(rules, i);

        ctx->rule = &route->rules[i];
        ctx->rule_index = i;

        if ((rules != NULL && gm_check_object(ctx, item) != 0)
            || gm_rule_parse(ctx, item, &route->rules[i]) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    ctx->rule = NULL;

    return gm_rules_check(ctx, route);
}


static int
gm_rule_parse(gm_ctx_t *ctx, json_t *item, gm_http_rule_t *rule)
{
    rule->timeout_request_ms = GM_DURATION_UNSET;
    rule->timeout_backend_ms = GM_DURATION_UNSET;
    rule->retry_backoff_ms = GM_DURATION_UNSET;

    if (gm_get_name(ctx, item, "name", GM_NAME_SUBDOMAIN, 0, &rule->name) < 0
        || gm_matches_parse(ctx, item, rule) != 0
        || gm_filters_parse(ctx, item, &rule->filters, &rule->nfilters) != 0
        || gm_backend_refs_parse(ctx, item, rule) != 0
        || gm_timeouts_parse(ctx, item, rule) != 0
        || gm_retry_parse(ctx, item, rule) != 0
        || gm_rule_redirect_check(ctx, rule) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_rules_check(gm_ctx_t *ctx, gm_httproute_t *route)
{
    char    field[64];
    size_t  i, j, total;

    total = 0;

    for (i = 0; i < route->nrules; i++) {
        total += route->rules[i].nmatches;

        for (j = 0; j < i; j++) {
            if (route->rules[i].name.len
                && gm_str_eq(&route->rules[i].name, &route->rules[j].name))
            {
                snprintf(field, sizeof(field), "rules[%zu].name", i);
                return gm_reject(ctx, field,
                                 "must be unique within the route");
            }
        }
    }

    if (total > GM_MAX_MATCHES_TOTAL) {
        return gm_reject(ctx, "rules", "must have at most %d matches in "
                         "total", GM_MAX_MATCHES_TOTAL);
    }

    return 0;
}


static int
gm_rule_redirect_check(gm_ctx_t *ctx, gm_http_rule_t *rule)
{
    size_t  i;

    if (rule->nbackends == 0) {
        return 0;
    }

    for (i = 0; i < rule->nfilters; i++) {
        if (rule->filters[i].type == GM_FILTER_REQUEST_REDIRECT) {
            return gm_reject(ctx, NULL, "RequestRedirect filter must not be "
                             "used together with backendRefs");
        }
    }

    return 0;
}


static int
gm_matches_parse(gm_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t            i, n, old;
    json_t           *arr, *item;
    gm_http_match_t  *m;

    if (gm_get_array(ctx, json, "matches", GM_MAX_MATCHES, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);

    m = gm_alloc(ctx, n ? n : 1, sizeof(gm_http_match_t));
    if (m == NULL) {
        return -1;
    }

    rule->matches = m;
    rule->nmatches = n ? n : 1;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "matches[%zu]", i);

        if (gm_match_parse(ctx, item, &m[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    /* no matches: one match on PathPrefix "/" */
    if (n == 0 && gm_match_parse(ctx, NULL, m) != 0) {
        return -1;
    }

    ctx->prefix_only = rule->nmatches == 1 && m[0].path_type == GM_MATCH_PREFIX;

    return 0;
}


/* item NULL gives the default match */
static int
gm_match_parse(gm_ctx_t *ctx, json_t *item, gm_http_match_t *m)
{
    int  rc, method;

    method = 0;

    if ((item != NULL && gm_check_object(ctx, item) != 0)
        || gm_path_match_parse(ctx, item, m) != 0)
    {
        return -1;
    }

    rc = gm_get_enum(ctx, item, "method", gm_methods, &method);
    if (rc < 0
        || gm_str_set(ctx, &m->method, rc ? gm_methods[method] : "") != 0)
    {
        return -1;
    }

    if (gm_kv_matches_parse(ctx, item, "headers", GM_MAX_HEADER_VALUE,
                            &m->headers, &m->nheaders) != 0
        || gm_kv_matches_parse(ctx, item, "queryParams", GM_MAX_QUERY_VALUE,
                               &m->query, &m->nquery) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_path_match_parse(gm_ctx_t *ctx, json_t *item, gm_http_match_t *m)
{
    int      rc, type;
    size_t   old;
    json_t  *path;

    if (gm_get_object(ctx, item, "path", &path) != 0) {
        return -1;
    }

    old = gm_path_push(ctx, "path");

    rc = gm_get_enum(ctx, path, "type", gm_path_types, &type);
    if (rc < 0) {
        return -1;
    }

    m->path_type = rc ? (gm_match_type_e) type : GM_MATCH_PREFIX;

    rc = gm_get_string(ctx, path, "value", 0, GM_MAX_PATH_VALUE, &m->path);
    if (rc < 0 || (rc == 0 && gm_str_set(ctx, &m->path, "/") != 0)) {
        return -1;
    }

    if (m->path_type == GM_MATCH_REGEX) {
        gm_regex_check(ctx, "value", &m->path);

    } else if (gm_path_value_check(ctx, &m->path) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    return 0;
}


/* the CRD's rules for Exact and PathPrefix values */
static int
gm_path_value_check(gm_ctx_t *ctx, const gm_str_t *path)
{
    size_t       i;
    const char  *p;

    static const char  *bad[] = { "//", "/./", "/../", "%2f", "%2F", "#" };
    static const char  *ok = "-/._~!$&'()*+,;=:@";

    p = path->data;

    if (path->len == 0 || p[0] != '/') {
        return gm_reject(ctx, "value", "must start with \"/\"");
    }

    for (i = 0; i < gm_nelems(bad); i++) {
        if (strstr(p, bad[i]) != NULL) {
            return gm_reject(ctx, "value", "must not contain \"%s\"", bad[i]);
        }
    }

    if ((path->len >= 2 && strcmp(p + path->len - 2, "/.") == 0)
        || (path->len >= 3 && strcmp(p + path->len - 3, "/..") == 0))
    {
        return gm_reject(ctx, "value", "must not end with \"/.\" or \"/..\"");
    }

    for (i = 0; i < path->len; i++) {
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
            || (p[i] >= '0' && p[i] <= '9') || strchr(ok, p[i]) != NULL)
        {
            continue;
        }

        if (p[i] == '%' && strspn(p + i + 1, "0123456789abcdefABCDEF") >= 2)
        {
            i += 2;
            continue;
        }

        return gm_reject(ctx, "value", "has an invalid character at offset "
                         "%zu", i);
    }

    return 0;
}


static int
gm_kv_matches_parse(gm_ctx_t *ctx, json_t *json, const char *key,
    size_t max_value, gm_kv_match_t **out, size_t *nout)
{
    size_t          i, n, old;
    json_t         *arr, *item;
    gm_kv_match_t  *kv;

    if (gm_get_array(ctx, json, key, GM_MAX_KV_MATCHES, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    kv = gm_alloc(ctx, n, sizeof(gm_kv_match_t));
    if (kv == NULL) {
        return -1;
    }

    *out = kv;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "%s[%zu]", key, i);

        if (gm_kv_match_parse(ctx, item, max_value, &kv[*nout]) != 0) {
            return -1;
        }

        /* the first of equivalent names wins, later ones are dropped */
        if (!gm_kv_match_duplicate(kv, *nout)) {
            if (kv[*nout].type == GM_MATCH_REGEX) {
                gm_regex_check(ctx, "value", &kv[*nout].value);
            }

            (*nout)++;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


/* header names come lowercased: max_value tells headers from query */
static int
gm_kv_match_parse(gm_ctx_t *ctx, json_t *item, size_t max_value,
    gm_kv_match_t *kv)
{
    int     rc, type;
    size_t  i;

    if (gm_check_object(ctx, item) != 0) {
        return -1;
    }

    rc = gm_get_enum(ctx, item, "type", gm_kv_types, &type);
    if (rc < 0) {
        return -1;
    }

    kv->type = (rc && type == 1) ? GM_MATCH_REGEX : GM_MATCH_EXACT;

    if (gm_get_name(ctx, item, "name", GM_NAME_HEADER, GM_REQUIRED,
                    &kv->name) < 0)
    {
        return -1;
    }

    rc = gm_get_string(ctx, item, "value", 1, max_value, &kv->value);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "value", "is required");
    }

    if (max_value == GM_MAX_HEADER_VALUE) {
        for (i = 0; i < kv->name.len; i++) {
            if (kv->name.data[i] >= 'A' && kv->name.data[i] <= 'Z') {
                kv->name.data[i] |= 0x20;
            }
        }
    }

    return 0;
}


static int
gm_kv_match_duplicate(gm_kv_match_t *kv, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (gm_str_eq(&kv[i].name, &kv[n].name)) {
            return 1;
        }
    }

    return 0;
}


static void
gm_regex_check(gm_ctx_t *ctx, const char *field, const gm_str_t *re)
{
    int           err;
    char          where[GM_PATH_MAX];
    PCRE2_SIZE    off;
    PCRE2_UCHAR   msg[128];
    pcre2_code   *code;

    code = pcre2_compile((PCRE2_SPTR) re->data, re->len, 0, &err, &off,
                         NULL);
    if (code != NULL) {
        pcre2_code_free(code);
        return;
    }

    if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0) {
        strcpy((char *) msg, "unknown error");
    }

    gm_path_format(ctx, field, where, sizeof(where));

    gm_rule_invalid(ctx, "%s: invalid regular expression at offset %zu: %s",
                    where, (size_t) off, (char *) msg);
}


static int
gm_backend_refs_parse(gm_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t   i, n, old;
    json_t  *arr, *item;

    if (gm_get_array(ctx, json, "backendRefs", GM_MAX_BACKEND_REFS, &arr)
        != 0)
    {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    rule->backends = gm_alloc(ctx, n, sizeof(gm_backend_ref_t));
    if (rule->backends == NULL) {
        return -1;
    }

    rule->nbackends = n;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "backendRefs[%zu]", i);

        if (gm_backend_ref_parse(ctx, item, &rule->backends[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_backend_ref_parse(gm_ctx_t *ctx, json_t *item, gm_backend_ref_t *b)
{
    int      rc;
    int64_t  weight;

    if (gm_object_ref_parse(ctx, item, b) != 0) {
        return -1;
    }

    rc = gm_get_int(ctx, item, "weight", 0, GM_MAX_WEIGHT, &weight);
    if (rc < 0) {
        return -1;
    }

    b->weight = rc ? (uint32_t) weight : 1;

    return gm_filters_parse(ctx, item, &b->filters, &b->nfilters);
}


/* a BackendObjectReference: of backendRefs and of RequestMirror */
static int
gm_object_ref_parse(gm_ctx_t *ctx, json_t *item, gm_backend_ref_t *b)
{
    int      rc;
    int64_t  port;

    if (gm_check_object(ctx, item) != 0
        || gm_get_name_def(ctx, item, "group", GM_NAME_GROUP, "", &b->group)
           != 0
        || gm_get_name_def(ctx, item, "kind", GM_NAME_KIND, "Service",
                           &b->kind) != 0
        || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, GM_REQUIRED,
                       &b->name) < 0
        || gm_get_ns(ctx, item, &b->ns) != 0)
    {
        return -1;
    }

    rc = gm_get_int(ctx, item, "port", 1, 65535, &port);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0 && b->group.len == 0 && gm_str_eq_cstr(&b->kind, "Service")) {
        return gm_reject(ctx, "port", "is required for a Service reference");
    }

    b->port = rc ? (uint16_t) port : 0;

    return 0;
}


/*
 * A duration the rule cannot use disables that rule alone (the issue asks
 * for rule-level rejection): the route's other rules keep working.
 */
static int
gm_get_rule_duration(gm_ctx_t *ctx, json_t *obj, const char *where,
    const char *key, int64_t *ms)
{
    int          rc;
    size_t       len;
    int64_t      n;
    const char  *s;

    rc = gm_get_cstr(ctx, obj, key, 0, SIZE_MAX, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    n = gm_duration_parse(s, len);
    if (n < 0) {
        gm_rule_invalid(ctx, "%s.%s: \"%.32s\" is not a duration such as "
                        "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)",
                        where, key, s);
        return 0;
    }

    *ms = n;

    return 1;
}


static int
gm_timeouts_parse(gm_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t   old;
    json_t  *t;

    if (gm_get_object(ctx, json, "timeouts", &t) != 0) {
        return -1;
    }

    if (t == NULL) {
        return 0;
    }

    old = gm_path_push(ctx, "timeouts");

    if (gm_get_rule_duration(ctx, t, "timeouts", "request",
                             &rule->timeout_request_ms) < 0
        || gm_get_rule_duration(ctx, t, "timeouts", "backendRequest",
                                &rule->timeout_backend_ms) < 0)
    {
        return -1;
    }

    if (rule->timeout_request_ms > 0
        && rule->timeout_backend_ms > rule->timeout_request_ms)
    {
        gm_rule_invalid(ctx, "timeouts.backendRequest: must not be longer "
                        "than timeouts.request");
    }

    gm_path_pop(ctx, old);

    return 0;
}


/* attempts stays 0 when unset: how many is then up to the proxy */
static int
gm_retry_parse(gm_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    int      rc;
    size_t   old;
    json_t  *retry;
    int64_t  attempts;

    if (gm_get_object(ctx, json, "retry", &retry) != 0) {
        return -1;
    }

    if (retry == NULL) {
        return 0;
    }

    rule->has_retry = 1;
    old = gm_path_push(ctx, "retry");

    rc = gm_get_int(ctx, retry, "attempts", 1, UINT32_MAX, &attempts);
    if (rc < 0) {
        return -1;
    }

    rule->retry_attempts = rc ? (uint32_t) attempts : 0;

    if (gm_get_rule_duration(ctx, retry, "retry", "backoff",
                             &rule->retry_backoff_ms) < 0
        || gm_retry_codes_parse(ctx, retry, rule) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, old);

    return 0;
}


static int
gm_retry_codes_parse(gm_ctx_t *ctx, json_t *retry, gm_http_rule_t *rule)
{
    char      field[64];
    size_t    i, j, n;
    json_t   *codes, *v;
    int64_t   code;

    if (gm_get_array(ctx, retry, "codes", GM_MAX_RETRY_CODES, &codes) != 0) {
        return -1;
    }

    n = json_array_size(codes);
    if (n == 0) {
        return 0;
    }

    rule->retry_codes = gm_alloc(ctx, n, sizeof(uint16_t));
    if (rule->retry_codes == NULL) {
        return -1;
    }

    json_array_foreach(codes, i, v) {
        snprintf(field, sizeof(field), "codes[%zu]", i);

        if (gm_check_int(ctx, field, v, 400, 599, &code) != 0) {
            return -1;
        }

        for (j = 0; j < i; j++) {
            if (rule->retry_codes[j] == code) {
                return gm_reject(ctx, field, "duplicate value %d",
                                 (int) code);
            }
        }

        rule->retry_codes[i] = (uint16_t) code;
    }

    rule->nretry_codes = n;

    return 0;
}


static int
gm_filters_parse(gm_ctx_t *ctx, json_t *json, gm_filter_t **out,
    size_t *nout)
{
    size_t        i, n, old;
    json_t       *arr, *item;
    gm_filter_t  *f;

    if (gm_get_array(ctx, json, "filters", GM_MAX_FILTERS, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    f = gm_alloc(ctx, n, sizeof(gm_filter_t));
    if (f == NULL) {
        return -1;
    }

    /* set at once so that gm_object_free() finds every reference taken */
    *out = f;
    *nout = n;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "filters[%zu]", i);

        if (gm_filter_parse(ctx, item, &f[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return gm_filters_check(ctx, f, n);
}


static int
gm_filter_parse(gm_ctx_t *ctx, json_t *item, gm_filter_t *f)
{
    int                     type;
    size_t                  old;
    const gm_filter_def_t  *def;

    if (gm_check_object(ctx, item) != 0
        || gm_filter_type(ctx, item, &type) != 0)
    {
        return -1;
    }

    def = &gm_filter_defs[type];
    f->type = (gm_filter_type_e) type;
    f->spec = json_incref(item);

    if (gm_filter_fields_check(ctx, item, type) != 0) {
        return -1;
    }

    old = gm_path_push(ctx, "%s", def->field);

    if (def->check(ctx, gm_field(item, def->field)) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    if (def->unsupported) {
        gm_rule_invalid(ctx, "filter %s is not supported", def->type);
    }

    return 0;
}


static int
gm_filter_type(gm_ctx_t *ctx, json_t *item, int *type)
{
    int          rc;
    char         text[48];
    size_t       i, len;
    const char  *s;

    *type = 0;

    rc = gm_get_cstr(ctx, item, "type", 0, SIZE_MAX, &s, &len);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "type", "is required");
    }

    for (i = 0; i < gm_nelems(gm_filter_defs); i++) {
        if (strcmp(s, gm_filter_defs[i].type) == 0) {
            *type = (int) i;
            return 0;
        }
    }

    gm_sanitize(text, sizeof(text), s, len);

    return gm_reject(ctx, "type", "unsupported value \"%s\"", text);
}


/* CEL: the sub-object of the type is set, all the others are not */
static int
gm_filter_fields_check(gm_ctx_t *ctx, json_t *item, int type)
{
    size_t                  i;
    json_t                 *v;
    const gm_filter_def_t  *def;

    for (i = 0; i < gm_nelems(gm_filter_defs); i++) {
        def = &gm_filter_defs[i];
        v = gm_field(item, def->field);

        if ((int) i != type && v != NULL) {
            return gm_reject(ctx, def->field, "must be unset when type is %s",
                             gm_filter_defs[type].type);
        }

        if ((int) i == type && v == NULL) {
            return gm_reject(ctx, def->field, "must be set when type is %s",
                             def->type);
        }

        if ((int) i == type && !json_is_object(v)) {
            return gm_reject(ctx, def->field, "must be an object");
        }
    }

    return 0;
}


static int
gm_filters_check(gm_ctx_t *ctx, gm_filter_t *f, size_t n)
{
    size_t    i;
    unsigned  count[gm_nelems(gm_filter_defs)];

    memset(count, 0, sizeof(count));

    for (i = 0; i < n; i++) {
        count[f[i].type]++;
    }

    /* CEL rules of the filter list: they cost the rule, not the route */
    if (count[GM_FILTER_REQUEST_REDIRECT] && count[GM_FILTER_URL_REWRITE]) {
        gm_rule_invalid(ctx, "%s.filters: may specify either RequestRedirect "
                        "or URLRewrite, but not both", ctx->path);
        return 0;
    }

    for (i = 0; i < gm_nelems(gm_filter_defs); i++) {
        if (gm_filter_defs[i].once && count[i] > 1) {
            gm_rule_invalid(ctx, "%s.filters: %s filter cannot be repeated",
                            ctx->path, gm_filter_defs[i].type);
            return 0;
        }
    }

    return 0;
}


static int
gm_header_filter_check(gm_ctx_t *ctx, json_t *spec)
{
    if (gm_header_list_check(ctx, spec, "set") != 0
        || gm_header_list_check(ctx, spec, "add") != 0
        || gm_string_list_check(ctx, spec, "remove", GM_MAX_HEADER_ACTIONS,
                                GM_NAME_HEADER, GM_WILDCARD_NONE) != 0)
    {
        return -1;
    }

    gm_header_actions_check(ctx, spec);

    return 0;
}


static int
gm_header_list_check(gm_ctx_t *ctx, json_t *spec, const char *key)
{
    int      rc;
    size_t   i, old;
    json_t  *arr, *item;

    if (gm_get_array(ctx, spec, key, GM_MAX_HEADER_ACTIONS, &arr) != 0) {
        return -1;
    }

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "%s[%zu]", key, i);

        if (gm_check_object(ctx, item) != 0
            || gm_get_name(ctx, item, "name", GM_NAME_HEADER, GM_REQUIRED,
                           NULL) < 0)
        {
            return -1;
        }

        rc = gm_get_string(ctx, item, "value", 1, GM_MAX_HEADER_VALUE, NULL);
        if (rc <= 0) {
            return rc < 0 ? -1 : gm_reject(ctx, "value", "is required");
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


/* wildcard: GM_WILDCARD_NONE, _ALONE ("*" or a list) or _ANY */
static int
gm_string_list_check(gm_ctx_t *ctx, json_t *spec, const char *key,
    size_t max, gm_name_e type, int wildcard)
{
    char         field[64];
    size_t       i, len;
    json_t      *arr, *v;
    const char  *s;

    if (gm_get_array(ctx, spec, key, max, &arr) != 0) {
        return -1;
    }

    json_array_foreach(arr, i, v) {
        snprintf(field, sizeof(field), "%s[%zu]", key, i);

        if (gm_check_string(ctx, field, v, 0, SIZE_MAX, &s, &len) != 0) {
            return -1;
        }

        if (wildcard != GM_WILDCARD_NONE && strcmp(s, "*") == 0) {
            if (wildcard == GM_WILDCARD_ALONE && json_array_size(arr) > 1) {
                return gm_reject(ctx, key, "cannot contain \"*\" alongside "
                                 "other values");
            }

            continue;
        }

        if (gm_check_name(ctx, field, s, len, type) != 0) {
            return -1;
        }
    }

    return 0;
}


/* only one action per header name (case-insensitive) and filter */
static void
gm_header_actions_check(gm_ctx_t *ctx, json_t *spec)
{
    size_t       i, j, k, n;
    json_t      *arr, *v;
    const char  *names[3 * GM_MAX_HEADER_ACTIONS];

    static const char  *keys[] = { "set", "add", "remove" };

    n = 0;

    for (k = 0; k < gm_nelems(keys); k++) {
        arr = gm_field(spec, keys[k]);

        json_array_foreach(arr, i, v) {
            names[n++] = json_is_string(v)
                         ? json_string_value(v)
                         : json_string_value(json_object_get(v, "name"));
        }
    }

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (strcasecmp(names[i], names[j]) == 0) {
                gm_rule_invalid(ctx, "%s: more than one action for the same "
                                "header name", ctx->path);
                return;
            }
        }
    }
}


static int
gm_redirect_check(gm_ctx_t *ctx, json_t *spec)
{
    int      rc, scheme;
    int64_t  code, port;

    rc = gm_get_int(ctx, spec, "statusCode", INT32_MIN, INT32_MAX, &code);
    if (rc < 0) {
        return -1;
    }

    if (rc == 1 && code != 301 && code != 302 && code != 303 && code != 307
        && code != 308)
    {
        return gm_reject(ctx, "statusCode", "unsupported value %d",
                         (int) code);
    }

    if (gm_get_enum(ctx, spec, "scheme", gm_schemes, &scheme) < 0
        || gm_get_name(ctx, spec, "hostname", GM_NAME_PRECISE_HOSTNAME, 0,
                       NULL) < 0
        || gm_get_int(ctx, spec, "port", 1, 65535, &port) < 0)
    {
        return -1;
    }

    return gm_path_modifier_check(ctx, spec, "RequestRedirect");
}


static int
gm_rewrite_check(gm_ctx_t *ctx, json_t *spec)
{
    if (gm_get_name(ctx, spec, "hostname", GM_NAME_PRECISE_HOSTNAME, 0,
                    NULL) < 0)
    {
        return -1;
    }

    return gm_path_modifier_check(ctx, spec, "URLRewrite");
}


static int
gm_path_modifier_check(gm_ctx_t *ctx, json_t *spec, const char *filter)
{
    int      rc, type, full, prefix;
    json_t  *pm;

    if (gm_get_object(ctx, spec, "path", &pm) != 0) {
        return -1;
    }

    if (pm == NULL) {
        return 0;
    }

    (void) gm_path_push(ctx, "path");

    rc = gm_get_enum(ctx, pm, "type", gm_modifier_types, &type);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "type", "is required");
    }

    full = gm_get_string(ctx, pm, "replaceFullPath", 0, 1024, NULL);
    prefix = gm_get_string(ctx, pm, "replacePrefixMatch", 0, 1024, NULL);

    if (full < 0 || prefix < 0) {
        return -1;
    }

    if (full != (type == 0) || prefix != (type == 1)) {
        return gm_reject(ctx, NULL, "the value set must be the one of type "
                         "(replaceFullPath or replacePrefixMatch)");
    }

    if (prefix && !ctx->prefix_only) {
        return gm_reject(ctx, "replacePrefixMatch", "%s with "
                         "replacePrefixMatch needs exactly one PathPrefix "
                         "match in the rule", filter);
    }

    return 0;
}


static int
gm_mirror_check(gm_ctx_t *ctx, json_t *spec)
{
    int               rc;
    size_t            old;
    json_t           *ref;
    int64_t           percent;
    gm_backend_ref_t  b;

    ref = gm_field(spec, "backendRef");
    if (ref == NULL) {
        return gm_reject(ctx, "backendRef", "is required");
    }

    memset(&b, 0, sizeof(gm_backend_ref_t));
    old = gm_path_push(ctx, "backendRef");

    if (gm_object_ref_parse(ctx, ref, &b) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    rc = gm_get_int(ctx, spec, "percent", 0, 100, &percent);
    if (rc < 0) {
        return -1;
    }

    if (rc == 1 && gm_field(spec, "fraction") != NULL) {
        return gm_reject(ctx, NULL, "only one of percent or fraction may be "
                         "specified");
    }

    return gm_fraction_check(ctx, spec);
}


static int
gm_fraction_check(gm_ctx_t *ctx, json_t *spec)
{
    int      rc;
    json_t  *f;
    int64_t  num, den;

    if (gm_get_object(ctx, spec, "fraction", &f) != 0) {
        return -1;
    }

    if (f == NULL) {
        return 0;
    }

    (void) gm_path_push(ctx, "fraction");

    den = 100;

    rc = gm_get_int(ctx, f, "numerator", 0, INT32_MAX, &num);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "numerator", "is required");
    }

    if (gm_get_int(ctx, f, "denominator", 1, INT32_MAX, &den) < 0) {
        return -1;
    }

    if (num > den) {
        return gm_reject(ctx, "numerator", "must be less than or equal to "
                         "denominator");
    }

    return 0;
}


static int
gm_cors_check(gm_ctx_t *ctx, json_t *spec)
{
    int      credentials;
    int64_t  age;

    if (gm_string_list_check(ctx, spec, "allowOrigins", GM_MAX_CORS_LIST,
                             GM_NAME_OBJECT, GM_WILDCARD_ALONE) != 0
        || gm_string_list_check(ctx, spec, "allowMethods",
                                GM_MAX_CORS_METHODS, GM_NAME_METHOD,
                                GM_WILDCARD_ALONE) != 0
        || gm_string_list_check(ctx, spec, "allowHeaders", GM_MAX_CORS_LIST,
                                GM_NAME_HEADER, GM_WILDCARD_ALONE) != 0
        || gm_string_list_check(ctx, spec, "exposeHeaders",
                                GM_MAX_CORS_LIST, GM_NAME_HEADER,
                                GM_WILDCARD_ANY) != 0
        || gm_get_bool(ctx, spec, "allowCredentials", &credentials) < 0
        || gm_get_int(ctx, spec, "maxAge", 1, INT32_MAX, &age) < 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_extension_ref_check(gm_ctx_t *ctx, json_t *spec)
{
    if (gm_get_name(ctx, spec, "group", GM_NAME_GROUP, GM_REQUIRED, NULL) < 0
        || gm_get_name(ctx, spec, "kind", GM_NAME_KIND, GM_REQUIRED, NULL) < 0
        || gm_get_name(ctx, spec, "name", GM_NAME_OBJECT, GM_REQUIRED, NULL)
           < 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_external_auth_check(gm_ctx_t *ctx, json_t *spec)
{
    int  rc, protocol;

    rc = gm_get_enum(ctx, spec, "protocol", gm_auth_protocols, &protocol);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "protocol", "is required");
    }

    if (gm_field(spec, "backendRef") == NULL) {
        return gm_reject(ctx, "backendRef", "is required");
    }

    return 0;
}


static void
gm_filters_release(gm_filter_t *f, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        json_decref(f[i].spec);
    }
}
