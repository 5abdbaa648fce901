/*
 * nginx-gamma: an HTTPRoute (gateway.networking.k8s.io v1 and v1beta1),
 * parsed (gm_httproute.c, gm_httproute_match.c, gm_httproute_filter.c):
 * parentRefs, rules, matches, backendRefs and filters, all typed.
 */

#ifndef GM_HTTPROUTE_H
#define GM_HTTPROUTE_H


#include <stdint.h>

#include "gm_meta.h"
#include "gm_session.h"


/*
 * The group and kind of a reference: the usual pairs are static, shared
 * by every reference (memory, issue 12); another pair is the object's.
 * The parser gives the static pair whenever it is one: a reference to a
 * Service is one whose gk is &gm_group_kind_service.
 */
typedef struct {
    gm_str_t    group;
    gm_str_t    kind;
} gm_group_kind_t;

extern const gm_group_kind_t  gm_group_kind_service;   /* "", Service */
extern const gm_group_kind_t  gm_group_kind_gateway;   /* Gateway's */

typedef struct {
    const gm_group_kind_t  *gk;       /* defaulted: gm_group_kind_gateway */
    gm_str_t    ns;                   /* defaulted: the route's namespace */
    gm_str_t    name;
    /* a C string, 8 bytes, not 16 (memory, issue 12): no NUL inside */
    const char *section_name;         /* "" when unset */
    uint16_t    port;                 /* 0 when unset */
} gm_parent_ref_t;

typedef enum {
    GM_MATCH_EXACT = 0,
    GM_MATCH_PREFIX,
    GM_MATCH_REGEX
} gm_match_type_e;

typedef struct {
    gm_match_type_e   type;
    gm_str_t          name;           /* headers: lowercased */
    gm_str_t          value;
} gm_kv_match_t;

typedef struct {
    gm_str_t          path;           /* defaulted: "/" */
    gm_kv_match_t    *headers;        /* duplicates removed, first wins */
    gm_kv_match_t    *query;          /* duplicates removed, first wins */
    /* counts last, 8 bytes in all (memory, issue 12) */
    uint8_t           nheaders;       /* at most GM_MAX_KV_MATCHES */
    uint8_t           nquery;         /* at most GM_MAX_KV_MATCHES */
    uint8_t           path_type;      /* gm_match_type_e; PathPrefix */
    /*
     * 0 when unset, else 1 + its index in the API's list of methods, as
     * the snapshot's gm_route_methods[] (a byte, not a 16-byte string:
     * memory, issue 12); gm_http_method_name() names it
     */
    uint8_t           method;
    /*
     * GRPCRoute: what the method match as written counts for in
     * precedence (spec 1.18), its service and its method: an Exact
     * name's length, 1 for a RegularExpression, 0 when unset; the path
     * test above is what it compiles to
     */
    uint16_t          grpc_service_chars;
    uint16_t          grpc_method_chars;
} gm_http_match_t;

typedef enum {
    GM_FILTER_REQUEST_HEADER_MODIFIER = 0,
    GM_FILTER_RESPONSE_HEADER_MODIFIER,
    GM_FILTER_REQUEST_MIRROR,
    GM_FILTER_REQUEST_REDIRECT,
    GM_FILTER_URL_REWRITE,
    GM_FILTER_CORS,
    GM_FILTER_EXTENSION_REF,
    GM_FILTER_EXTERNAL_AUTH
} gm_filter_type_e;

typedef struct gm_filter_s  gm_filter_t;

/* a backendRef; RequestMirror's backendRef too (weight, filters unused) */
typedef struct {
    const gm_group_kind_t  *gk;       /* defaulted: "", Service */
    gm_str_t       ns;                /* defaulted: the route's namespace */
    gm_str_t       name;
    gm_filter_t   *filters;
    uint32_t       weight;            /* defaulted: 1 */
    uint16_t       port;              /* 0 when unset (invalid for Service) */
    uint16_t       nfilters;          /* at most GM_MAX_FILTERS */
} gm_backend_ref_t;

/* a list of strings as written */
typedef struct {
    gm_str_t          *items;
    size_t             n;
} gm_strings_t;

/* a header action of a HeaderModifier filter, as written */
typedef struct {
    gm_str_t           name;
    gm_str_t           value;         /* empty for remove */
} gm_header_action_t;

/* RequestHeaderModifier and ResponseHeaderModifier */
typedef struct {
    gm_header_action_t  *set;
    size_t               nset;
    gm_header_action_t  *add;
    size_t               nadd;
    gm_header_action_t  *remove;
    size_t               nremove;
} gm_header_filter_t;

typedef enum {
    GM_PATH_KEEP = 0,
    GM_PATH_FULL,                     /* ReplaceFullPath */
    GM_PATH_PREFIX                    /* ReplacePrefixMatch */
} gm_path_mod_e;

/* the path modifier of RequestRedirect and URLRewrite, as written */
typedef struct {
    gm_path_mod_e      type;          /* GM_PATH_KEEP: none */
    gm_str_t           value;         /* percent-encoded */
} gm_path_filter_t;

typedef struct {
    gm_str_t           scheme;        /* empty when unset */
    gm_str_t           hostname;      /* empty when unset */
    uint16_t           port;          /* 0 when unset */
    uint16_t           status;        /* defaulted: 302 */
    gm_path_filter_t   path;
} gm_redirect_filter_t;

typedef struct {
    gm_str_t           hostname;      /* empty when unset */
    gm_path_filter_t   path;
} gm_rewrite_filter_t;

/* RequestMirror: where to, and the share mirrored */
typedef struct {
    gm_backend_ref_t   backend;
    uint32_t           numerator;     /* defaulted: 1/1, everything */
    uint32_t           denominator;
} gm_mirror_filter_t;

/* CORS; a list may hold "*" */
typedef struct {
    gm_strings_t       origins;
    gm_strings_t       methods;
    gm_strings_t       headers;
    gm_strings_t       expose;
    unsigned           credentials:1;
    int64_t            max_age;       /* seconds; defaulted: 5 */
} gm_cors_filter_t;

/*
 * A filter, typed once at import: the compiler reads these and never the
 * JSON.  ExtensionRef and ExternalAuth keep only their type (they make
 * the rule invalid).
 */
struct gm_filter_s {
    gm_filter_type_e   type;
    union {
        gm_header_filter_t     header;   /* Request/ResponseHeaderModifier */
        gm_redirect_filter_t   redirect;
        gm_rewrite_filter_t    rewrite;
        gm_mirror_filter_t     mirror;
        gm_cors_filter_t       cors;
    } u;
};


#define GM_DURATION_UNSET  (-1)

/*
 * What a rule rarely sets or has, out of line (memory, issue 12): its
 * name, why it is invalid, timeouts, retry and sessionPersistence.  Read
 * it through gm_http_rule_ext(), which gives the unset values when the
 * rule has none of them.
 */
typedef struct {
    gm_str_t           name;          /* empty when unset */
    const char        *reason;        /* why, for status; NULL if valid */
    int64_t            timeout_request_ms;   /* GM_DURATION_UNSET, 0 = off */
    int64_t            timeout_backend_ms;   /* GM_DURATION_UNSET, 0 = off */
    int64_t            retry_backoff_ms;     /* GM_DURATION_UNSET */
    uint16_t          *retry_codes;
    gm_session_t      *session;       /* sessionPersistence, or NULL */
    uint32_t           retry_attempts;
    uint16_t           nretry_codes;  /* at most GM_MAX_RETRY_CODES */
    unsigned           has_retry:1;
} gm_http_rule_ext_t;

typedef struct {
    gm_http_match_t     *matches;     /* defaulted: one PathPrefix "/" */
    gm_filter_t         *filters;
    gm_backend_ref_t    *backends;
    gm_http_rule_ext_t  *ext;         /* NULL: all unset */
    /*
     * counts and flags last: no padding between them (memory, issue 12);
     * the counts are bounded by GM_MAX_MATCHES, GM_MAX_BACKEND_REFS and
     * GM_MAX_FILTERS
     */
    uint16_t             nmatches;
    uint16_t             nbackends;
    uint16_t             nfilters;
    /* set when the rule is invalid: the rule is kept for precedence
     * bookkeeping but never matches; the reason was logged */
    unsigned             invalid:1;
} gm_http_rule_t;

typedef struct {
    gm_meta_t          meta;
    gm_parent_ref_t   *parents;
    gm_http_rule_t    *rules;
    uint32_t           nparents;      /* at most GM_MAX_PARENT_REFS */
    uint32_t           nrules;        /* at most GM_MAX_RULES */
} gm_httproute_t;


/* a rule's name, reason, timeouts, retry and sessionPersistence */
const gm_http_rule_ext_t *gm_http_rule_ext(const gm_http_rule_t *rule);


/* the name of a match's method: "" when unset */
const char *gm_http_method_name(unsigned method);


#endif /* GM_HTTPROUTE_H */
