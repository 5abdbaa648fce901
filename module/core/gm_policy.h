/*
 * nginx-gamma: the fields a policy sets (TrafficPolicy spec.default and
 * spec.override, and the operator's gamma_default and gamma_override in
 * nginx.conf), read from one textual form so that both sources share one
 * validation.  Also the operator's scopes, which the compiler merges with
 * the imported policies (gm_compile_policy.c).
 */

#ifndef GM_POLICY_H
#define GM_POLICY_H


#include <stddef.h>
#include <stdint.h>

#include "gm_str.h"


/* the fields, one bit each; a field is merged alone (defaults fill in) */
#define GM_PF_TIMEOUT_REQUEST     0x0001
#define GM_PF_TIMEOUT_BACKEND     0x0002
#define GM_PF_TIMEOUT_CONNECT     0x0004
#define GM_PF_TIMEOUT_IDLE        0x0008
#define GM_PF_RETRY_ATTEMPTS      0x0010
#define GM_PF_RETRY_CODES         0x0020
#define GM_PF_RETRY_BACKOFF       0x0040
/* a rule's retry stanza with no field set still retries on errors */
#define GM_PF_RETRY_STANZA        0x0080
#define GM_PF_RATE_REQUESTS       0x0100
#define GM_PF_RATE_BURST          0x0200
#define GM_PF_RATE_UNIT           0x0400
#define GM_PF_LB_TYPE             0x0800
#define GM_PF_LB_HEADER           0x1000
#define GM_PF_LB_COOKIE           0x2000
#define GM_PF_ALL                 0x3fff
#define GM_PF_COUNT               14          /* the bits of GM_PF_ALL */

#define GM_PF_RETRY               (GM_PF_RETRY_ATTEMPTS|GM_PF_RETRY_CODES     \
                                   |GM_PF_RETRY_BACKOFF|GM_PF_RETRY_STANZA)

#define GM_POLICY_MAX_ATTEMPTS    1000
#define GM_POLICY_MAX_RATE        1000000
#define GM_POLICY_MAX_CODES       200
#define GM_POLICY_ERROR_MAX       160


typedef enum {
    GM_LB_UNSET = 0,
    GM_LB_ROUND_ROBIN,
    GM_LB_LEAST_REQUEST,
    GM_LB_CONSISTENT_HASH
} gm_lb_e;

/* what one source says; a field counts only when its bit is in set */
typedef struct {
    uint32_t          set;
    int64_t           timeout_request_ms;       /* 0: off */
    int64_t           timeout_backend_ms;
    int64_t           timeout_connect_ms;
    int64_t           timeout_idle_ms;
    uint32_t          retry_attempts;
    int64_t           retry_backoff_ms;
    const uint16_t   *retry_codes;
    size_t            nretry_codes;
    uint32_t          rate_requests;
    uint32_t          rate_burst;
    uint32_t          rate_unit_s;              /* 1 or 60 */
    gm_lb_e           lb_type;
    gm_str_t          lb_header;                /* lowercase */
    gm_str_t          lb_cookie;
} gm_policy_values_t;

/* a policy's targetRef (GEP-713), checked by gm_policy_target.c */
typedef struct {
    gm_str_t    group;                /* "" for Service */
    gm_str_t    kind;                 /* Service or HTTPRoute */
    gm_str_t    ns;                   /* defaulted: the policy's */
    gm_str_t    name;
    gm_str_t    section_name;         /* port or rule name; empty: unset */
} gm_policy_target_t;

/* the memory a value needs (retry codes, names); NULL: out of memory */
typedef void *(*gm_policy_alloc_pt)(void *pool, size_t size);


/* operator scopes, least specific first: the order of precedence */
typedef enum {
    GM_SCOPE_ALL = 0,
    GM_SCOPE_NAMESPACE,
    GM_SCOPE_SERVICE,
    GM_SCOPE_SERVICE_PORT,
    GM_SCOPE_ROUTE,
    GM_SCOPE_RULE
} gm_scope_e;

/* one gamma_default or gamma_override line */
typedef struct {
    gm_scope_e           scope;
    gm_str_t             ns;              /* namespace:, service:, route: */
    gm_str_t             name;            /* service:, route: */
    gm_str_t             rule;            /* route:ns/name/rule */
    uint16_t             port;            /* service:ns/name:port */
    unsigned             override:1;
    gm_policy_values_t   v;               /* exactly one field set */
} gm_operator_entry_t;

typedef struct {
    gm_operator_entry_t  *entries;
    size_t                nentries;
} gm_operator_conf_t;


/* the bit of a field path ("timeouts.request"), 0 when unknown */
uint32_t gm_policy_field(const char *path, size_t len);
/* the path of a bit, for logs */
const char *gm_policy_field_name(uint32_t bit);

/*
 * Sets field bit of v from its text: a duration ("1s500ms"), a number, a
 * comma-separated list of status codes, an enum value or a header name.
 * Returns -1 with the reason in err when the value is not valid.
 */
int gm_policy_value_parse(gm_policy_values_t *v, uint32_t bit,
    const char *s, size_t len, gm_policy_alloc_pt alloc, void *pool,
    char *err, size_t errsize);

/* copies the field bit of src into dst (pointers are shared) */
void gm_policy_value_take(gm_policy_values_t *dst,
    const gm_policy_values_t *src, uint32_t bit);

/* an empty value set: durations unset, nothing in set */
void gm_policy_values_init(gm_policy_values_t *v);

/*
 * Parses an operator scope: "*", "namespace:<ns>",
 * "service:<ns>/<name>[:<port>]", "route:<ns>/<name>[/<rule>]".  Strings
 * are copied with alloc.  -1 with the reason in err.
 */
int gm_operator_scope_parse(gm_operator_entry_t *e, const char *s,
    size_t len, gm_policy_alloc_pt alloc, void *pool, char *err,
    size_t errsize);

/* what gm_operator_line_parse() found wrong */
#define GM_OPLINE_OK     0
#define GM_OPLINE_SCOPE  1                /* the reason in err */
#define GM_OPLINE_FIELD  2                /* no such field */
#define GM_OPLINE_VALUE  3                /* the reason in err */

/*
 * One "<scope> <field> <value>" line of gamma_default (override 0) or
 * gamma_override into e (strings copied with alloc): GM_OPLINE_OK, or
 * what is wrong.  Any bytes in, never a crash: a fuzz target calls it.
 */
int gm_operator_line_parse(gm_operator_entry_t *e, unsigned override,
    const char *scope, size_t scope_len, const char *field, size_t field_len,
    const char *value, size_t value_len, gm_policy_alloc_pt alloc,
    void *pool, char *err, size_t errsize);


#endif /* GM_POLICY_H */
