/*
 * nginx-gamma: what the parsing files share and nothing else includes:
 * the parse context, the JSON getters (gm_json.c), the syntax checks
 * (gm_syntax.c) and the parser of each kind.  jansson stays behind this
 * header and gm_object_parse.h.
 */

#ifndef GM_PARSE_INT_H
#define GM_PARSE_INT_H


#include <stdint.h>
#include <jansson.h>

#include "gm_limits.h"
#include "gm_object_parse.h"


/* flags of gm_get_name() */
#define GM_REQUIRED             0x1
#define GM_EMPTY_OK             0x2

/* where "*" may stand in a string list */
#define GM_WILDCARD_NONE        0
#define GM_WILDCARD_ALONE       1
#define GM_WILDCARD_ANY         2

#define GM_GATEWAY_GROUP        "gateway.networking.k8s.io"
#define GM_POLICY_GROUP         "policy.nginx-gamma.dev"
#define GM_SERVICE_NAME_LABEL   "kubernetes.io/service-name"

#define gm_nelems(a)            (sizeof(a) / sizeof((a)[0]))

/* the names of one object gm_name_dup() remembers, to point to */
#define GM_PARSE_NAMES          32


/* the syntax a name must follow (gm_syntax.c) */
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

/*
 * One object being parsed.  Its memory comes from a growing arena (the
 * first parse of a document), or from the one block of the size that
 * parse counted in "used" (the parse kept in the store).
 */
typedef struct {
    gm_arena_t       *arena;          /* NULL: the block */
    char             *block;
    size_t            block_size;
    /*
     * what the block takes, or would: structures from its start (used),
     * strings from its end (sused), so that no string pads a structure
     */
    size_t            used;
    size_t            sused;
    const gm_log_t   *log;
    gm_kind_e         kind;
    gm_meta_t        *meta;
    char              ns[GM_LOG_NAME_MAX];      /* printable, for logs */
    char              name[GM_LOG_NAME_MAX];
    size_t            plen;
    char              path[GM_FIELD_PATH_MAX];  /* the field being read */
    gm_http_rule_t   *rule;                     /* the rule being read */
    size_t            rule_index;
    unsigned          prefix_only:1;    /* the rule has one PathPrefix match */
    /* rule-level problems, logged once the whole route proved valid */
    char             *rule_reason[GM_MAX_RULES];
    /* the names copied so far: an equal name points to one of them */
    size_t            nnames;
    gm_str_t          names[GM_PARSE_NAMES];
} gm_parse_ctx_t;


/* the parser of each kind, called by gm_object_parse() after metadata */
int gm_service_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_endpointslice_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_httproute_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_referencegrant_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_grpcroute_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_trafficpolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_backendtlspolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_backendtrafficpolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);
int gm_configmap_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);

/* policy targetRefs (gm_policy_target.c); flags: what may be targeted */
#define GM_TARGET_NAMESPACED    0x1     /* targetRefs[].namespace allowed */
#define GM_TARGET_HTTPROUTE     0x2     /* HTTPRoutes besides Services */

int gm_policy_targets_parse(gm_parse_ctx_t *ctx, json_t *spec,
    unsigned flags, gm_policy_target_t **out, size_t *nout);
/* a rule's or a policy's sessionPersistence (gm_backendtrafficpolicy.c) */
int gm_session_parse(gm_parse_ctx_t *ctx, json_t *obj, gm_session_t **out);

/* the parse context (gm_parse.c) */
void gm_parse_ctx_init(gm_parse_ctx_t *ctx, gm_object_t *obj,
    const gm_log_t *log);
size_t gm_path_push(gm_parse_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gm_path_pop(gm_parse_ctx_t *ctx, size_t old);
void gm_path_format(gm_parse_ctx_t *ctx, const char *field, char *buf,
    size_t size);
int gm_reject(gm_parse_ctx_t *ctx, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gm_rule_invalid(gm_parse_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gm_rules_report(gm_parse_ctx_t *ctx, gm_httproute_t *route);
typedef int (*gm_rules_parse_pt)(gm_parse_ctx_t *ctx, json_t *spec,
    gm_httproute_t *route);
int gm_route_spec_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body, gm_rules_parse_pt rules);
void gm_sanitize(char *dst, size_t size, const char *s, size_t len);
void *gm_alloc(gm_parse_ctx_t *ctx, size_t n, size_t size);
/* a copy of len bytes and a NUL; NULL when memory ran out (not logged) */
char *gm_parse_strdup(gm_parse_ctx_t *ctx, const char *s, size_t len);
int gm_strdup(gm_parse_ctx_t *ctx, gm_str_t *out, const char *s,
    size_t len);
/* s must be static (a literal, a default of a table): not copied */
int gm_str_set(gm_parse_ctx_t *ctx, gm_str_t *out, const char *s);
/*
 * A name (gm_get_name()): equal names of one object are one copy, and
 * common ones ("Service", "http") point to a static string, so the copy
 * must never be written to.
 */
int gm_name_dup(gm_parse_ctx_t *ctx, gm_str_t *out, const char *s,
    size_t len);

/* reading JSON values (gm_json.c) */
json_t *gm_field(json_t *obj, const char *key);
int gm_get_object(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    json_t **out);
int gm_get_array(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    size_t max, json_t **out);
int gm_check_object(gm_parse_ctx_t *ctx, json_t *v);
int gm_check_string(gm_parse_ctx_t *ctx, const char *field, json_t *v,
    size_t min, size_t max, const char **s, size_t *len);
int gm_get_cstr(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    size_t min, size_t max, const char **s, size_t *len);
int gm_get_string(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    size_t min, size_t max, gm_str_t *out);
int gm_check_int(gm_parse_ctx_t *ctx, const char *field, json_t *v,
    int64_t min, int64_t max, int64_t *out);
int gm_get_int(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    int64_t min, int64_t max, int64_t *out);
int gm_get_port(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    uint16_t *out);
int gm_get_bool(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    int *out);
int gm_get_enum(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    const char *const *values, int *out);
int gm_get_name(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    gm_name_e type, int flags, gm_str_t *out);
int gm_get_name_def(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    gm_name_e type, const char *def, gm_str_t *out);
int gm_get_ns(gm_parse_ctx_t *ctx, json_t *obj, gm_str_t *out);

/* syntax checks (gm_syntax.c) */
int gm_check_name(gm_parse_ctx_t *ctx, const char *field, const char *s,
    size_t len, gm_name_e type);
size_t gm_utf8_len(const char *s, size_t len);
int64_t gm_duration_parse(const char *s, size_t len);
int gm_time_parse(const char *s, size_t len, int64_t *out);
int gm_path_value_check(gm_parse_ctx_t *ctx, const gm_str_t *path);
void gm_regex_check(gm_parse_ctx_t *ctx, const char *field,
    const gm_str_t *re);

/* HTTPRoute parts shared by its files and GRPCRoute's */
int gm_parent_refs_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_httproute_t *route);
int gm_hostnames_check(gm_parse_ctx_t *ctx, json_t *spec);
int gm_rules_check(gm_parse_ctx_t *ctx, gm_httproute_t *route);
int gm_backend_refs_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
/* rules[].name, kept out of line when set */
int gm_rule_name_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_rule_t *rule);
/* a rule's out-of-line part (gm_http_rule_ext_t), made on first use */
gm_http_rule_ext_t *gm_rule_ext_get(gm_parse_ctx_t *ctx,
    gm_http_rule_t *rule);
int gm_rule_session_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_rule_t *rule);
int gm_kv_matches_parse(gm_parse_ctx_t *ctx, json_t *json, const char *key,
    size_t max_value, gm_kv_match_t **out, uint8_t *nout);
int gm_object_ref_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_backend_ref_t *b);
int gm_matches_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
int gm_filters_parse(gm_parse_ctx_t *ctx, json_t *json, gm_filter_t **out,
    uint16_t *nout);

extern const char *const  gm_methods[];    /* indexed as the API lists */


#endif /* GM_PARSE_INT_H */
