/*
 * nginx-gamma: HTTPRoute filters compiled into the snapshot.  The parser
 * types each filter at import (gm_filter_t, gm_object.h); the compiler
 * (gm_filter_compile.c) turns a filter list into one gm_filters_t in the
 * snapshot arena.  The nginx glue applies them.
 */

#ifndef GM_FILTER_H
#define GM_FILTER_H


#include <stdint.h>
#include <sys/types.h>

#include "gm_arena.h"
#include "gm_log.h"
#include "gm_object.h"
#include "gm_snapshot.h"


/* one header action: name as written, lowercased, and the value */
typedef struct {
    gm_str_t            name;
    gm_str_t            lname;
    gm_str_t            value;        /* empty for remove */
} gm_header_op_t;

/* RequestHeaderModifier and ResponseHeaderModifier */
typedef struct {
    gm_header_op_t     *set;
    size_t              nset;
    gm_header_op_t     *add;
    size_t              nadd;
    gm_header_op_t     *remove;
    size_t              nremove;
} gm_header_mod_t;

/* gm_path_mod_e is in gm_object.h */

/*
 * Path values are percent-decoded, like the request path they replace.
 * GM_PATH_PREFIX: value and prefix (the rule's PathPrefix match) lose
 * their trailing '/', so "/" is the empty string.
 */
typedef struct {
    gm_path_mod_e       type;
    gm_str_t            value;
    gm_str_t            prefix;
} gm_path_mod_t;

typedef struct {
    gm_str_t            scheme;       /* empty: the request's */
    gm_str_t            hostname;     /* empty: the request's Host */
    uint16_t            port;         /* 0: unset */
    uint16_t            status;       /* 301, 302, 303, 307, 308 */
    gm_path_mod_t       path;
} gm_redirect_t;

typedef struct {
    gm_str_t            hostname;     /* empty: Host unchanged */
    gm_path_mod_t       path;
} gm_rewrite_t;

typedef struct {
    gm_backend_t       *backend;      /* NULL: not a Service, never sent */
    uint32_t            numerator;    /* mirrored: numerator/denominator */
    uint32_t            denominator;
} gm_mirror_t;

/* an allowed origin: scheme://host[:port]; a wildcard host "*.a.com" */
typedef struct {
    gm_str_t            scheme;       /* lowercase */
    gm_str_t            host;         /* lowercase; wildcard: ".a.com" */
    uint16_t            port;         /* the scheme's default if absent */
    unsigned            wildcard:1;   /* host started with "*" */
} gm_cors_origin_t;

typedef struct {
    gm_cors_origin_t   *origins;
    size_t              norigins;
    gm_str_t            methods;      /* "GET, PUT"; empty when none */
    gm_str_t            headers;
    gm_str_t            expose;
    gm_str_t            max_age;      /* decimal seconds */
    unsigned            any_origin:1;
    unsigned            any_method:1;
    unsigned            any_header:1;
    unsigned            any_expose:1;
    unsigned            credentials:1;
} gm_cors_t;

typedef struct {
    gm_filter_type_e    type;
    union {
        gm_header_mod_t     header;   /* Request/ResponseHeaderModifier */
        gm_redirect_t       redirect;
        gm_rewrite_t        rewrite;
        gm_mirror_t         mirror;
        gm_cors_t           cors;
    } u;
} gm_route_filter_t;

/* a rule's or a backendRef's filters, in the order listed */
struct gm_filters_s {
    size_t              nfilters;
    unsigned            response:1;   /* a ResponseHeaderModifier or CORS */
    gm_route_filter_t   filters[];
};


/*
 * ReplacePrefixMatch on a decoded path: out needs path_len + value.len + 1
 * bytes.  Returns the new length, or -1 when the path is not under the
 * prefix (segment-wise).
 */
ssize_t gm_path_replace_prefix(const gm_path_mod_t *pm, const char *path,
    size_t path_len, char *out);

/* whether an Origin request header value is allowed */
int gm_cors_origin_allowed(const gm_cors_t *cors, const char *origin,
    size_t len);

/* headers a filter must not touch: hop-by-hop ones and the framing */
int gm_header_is_hop_by_hop(const gm_str_t *lname);

/* splits an origin, scheme://host[:port]; the port defaults by scheme */
int gm_origin_parse(const char *s, size_t len, gm_str_t *scheme,
    gm_str_t *host, uint16_t *port);


#endif /* GM_FILTER_H */
