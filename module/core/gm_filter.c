/*
 * nginx-gamma: HTTPRoute filters, from their validated JSON to compact
 * structures in the snapshot arena.  The parser (gm_object.c) has already
 * enforced the API's rules; what is checked here is what nginx-gamma adds:
 * headers a filter may not touch, header values that would break the
 * message, mirrors to something that is not a Service.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gm_filter.h"


#define GM_CORS_MAX_AGE_DEFAULT  5


static int gm_fc_filter(const gm_filter_cc_t *cc, const gm_filter_t *f,
    gm_route_filter_t *rf);
static int gm_fc_header_mod(const gm_filter_cc_t *cc, json_t *spec,
    gm_header_mod_t *hm);
static int gm_fc_header_ops(const gm_filter_cc_t *cc, json_t *arr,
    gm_header_op_t **out, size_t *nout);
static int gm_fc_header_op(const gm_filter_cc_t *cc, json_t *item,
    gm_header_op_t *op);
static int gm_fc_value_ok(const gm_str_t *value);
static int gm_fc_redirect(const gm_filter_cc_t *cc, json_t *spec,
    gm_redirect_t *rd);
static int gm_fc_rewrite(const gm_filter_cc_t *cc, json_t *spec,
    gm_rewrite_t *rw);
static int gm_fc_path_mod(const gm_filter_cc_t *cc, json_t *spec,
    gm_path_mod_t *pm);
static int gm_fc_path_prefix(const gm_filter_cc_t *cc, gm_path_mod_t *pm);
static int gm_fc_mirror(const gm_filter_cc_t *cc, json_t *spec,
    gm_mirror_t *m);
static int gm_fc_mirror_backend(const gm_filter_cc_t *cc, json_t *ref,
    gm_mirror_t *m);
static void gm_fc_mirror_share(json_t *spec, gm_mirror_t *m);
static int gm_fc_cors(const gm_filter_cc_t *cc, json_t *spec, gm_cors_t *c);
static int gm_fc_cors_origins(const gm_filter_cc_t *cc, json_t *arr,
    gm_cors_t *c);
static int gm_fc_cors_origin(const gm_filter_cc_t *cc, const char *s,
    gm_cors_origin_t *o);
static int gm_fc_join(const gm_filter_cc_t *cc, json_t *arr, gm_str_t *out,
    unsigned *any);
static int gm_fc_string(const gm_filter_cc_t *cc, json_t *obj,
    const char *key, gm_str_t *out);
static int gm_fc_copy(const gm_filter_cc_t *cc, gm_str_t *dst,
    const char *src, size_t len);
static void gm_fc_lower(gm_str_t *s);
static size_t gm_fc_decode(char *dst, const char *src, size_t len);
static int gm_fc_hex(int c);
static void gm_fc_strip_slash(gm_str_t *s);

static int gm_origin_parse(const char *s, size_t len, gm_str_t *scheme,
    gm_str_t *host, uint16_t *port);
static uint16_t gm_origin_default_port(const gm_str_t *scheme);
static int gm_origin_match(const gm_cors_origin_t *o, const gm_str_t *scheme,
    const gm_str_t *host, uint16_t port);
static int gm_str_caseeq(const gm_str_t *a, const char *b, size_t len);


static const char *const  gm_hop_by_hop[] = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", NULL
};


int
gm_filters_compile(const gm_filter_cc_t *cc, const gm_filter_t *f, size_t n,
    const gm_filters_t **out)
{
    size_t         i;
    gm_filters_t  *fs;

    *out = NULL;

    if (n == 0) {
        return 0;
    }

    fs = gm_arena_calloc(cc->arena, sizeof(gm_filters_t)
                                    + n * sizeof(gm_route_filter_t));
    if (fs == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (gm_fc_filter(cc, &f[i], &fs->filters[i]) != 0) {
            return -1;
        }

        if (f[i].type == GM_FILTER_RESPONSE_HEADER_MODIFIER
            || f[i].type == GM_FILTER_CORS)
        {
            fs->response = 1;
        }
    }

    fs->nfilters = n;
    *out = fs;

    return 0;
}


static int
gm_fc_filter(const gm_filter_cc_t *cc, const gm_filter_t *f,
    gm_route_filter_t *rf)
{
    json_t  *spec;

    rf->type = f->type;

    switch (f->type) {

    case GM_FILTER_REQUEST_HEADER_MODIFIER:
        spec = json_object_get(f->spec, "requestHeaderModifier");
        return gm_fc_header_mod(cc, spec, &rf->u.header);

    case GM_FILTER_RESPONSE_HEADER_MODIFIER:
        spec = json_object_get(f->spec, "responseHeaderModifier");
        return gm_fc_header_mod(cc, spec, &rf->u.header);

    case GM_FILTER_REQUEST_REDIRECT:
        spec = json_object_get(f->spec, "requestRedirect");
        return gm_fc_redirect(cc, spec, &rf->u.redirect);

    case GM_FILTER_URL_REWRITE:
        spec = json_object_get(f->spec, "urlRewrite");
        return gm_fc_rewrite(cc, spec, &rf->u.rewrite);

    case GM_FILTER_REQUEST_MIRROR:
        spec = json_object_get(f->spec, "requestMirror");
        return gm_fc_mirror(cc, spec, &rf->u.mirror);

    case GM_FILTER_CORS:
        spec = json_object_get(f->spec, "cors");
        return gm_fc_cors(cc, spec, &rf->u.cors);

    default:
        /* a rule with ExtensionRef or ExternalAuth was never compiled */
        return 0;
    }
}


static int
gm_fc_header_mod(const gm_filter_cc_t *cc, json_t *spec, gm_header_mod_t *hm)
{
    if (gm_fc_header_ops(cc, json_object_get(spec, "set"), &hm->set,
                         &hm->nset) != 0
        || gm_fc_header_ops(cc, json_object_get(spec, "add"), &hm->add,
                            &hm->nadd) != 0
        || gm_fc_header_ops(cc, json_object_get(spec, "remove"),
                            &hm->remove, &hm->nremove) != 0)
    {
        return -1;
    }

    return 0;
}


/* items are {name, value} objects (set, add) or names (remove) */
static int
gm_fc_header_ops(const gm_filter_cc_t *cc, json_t *arr, gm_header_op_t **out,
    size_t *nout)
{
    int              rc;
    size_t           i, n;
    gm_header_op_t  *ops;

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    ops = gm_arena_calloc(cc->arena, n * sizeof(gm_header_op_t));
    if (ops == NULL) {
        return -1;
    }

    *out = ops;

    for (i = 0; i < n; i++) {
        rc = gm_fc_header_op(cc, json_array_get(arr, i), &ops[*nout]);

        if (rc < 0) {
            return -1;
        }

        *nout += (rc == 0);
    }

    return 0;
}


/* 0: kept, 1: left out (logged), -1: out of memory */
static int
gm_fc_header_op(const gm_filter_cc_t *cc, json_t *item, gm_header_op_t *op)
{
    json_t  *name;

    name = json_is_string(item) ? item : json_object_get(item, "name");

    if (gm_fc_string(cc, name, NULL, &op->name) != 0
        || gm_fc_copy(cc, &op->lname, op->name.data, op->name.len) != 0
        || gm_fc_string(cc, item, "value", &op->value) != 0)
    {
        return -1;
    }

    gm_fc_lower(&op->lname);

    if (gm_header_is_hop_by_hop(&op->lname)) {
        gm_log(cc->log, GM_LOG_WARN, "HTTPRoute %s: header \"%s\" is "
               "hop-by-hop or framing, a filter cannot change it: ignored",
               cc->label, op->name.data);
        return 1;
    }

    if (!gm_fc_value_ok(&op->value)) {
        gm_log(cc->log, GM_LOG_WARN, "HTTPRoute %s: the value of header "
               "\"%s\" has control characters: ignored", cc->label,
               op->name.data);
        return 1;
    }

    return 0;
}


/* a field value: no CR, LF, NUL or other controls but HTAB */
static int
gm_fc_value_ok(const gm_str_t *value)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < value->len; i++) {
        c = (unsigned char) value->data[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }

    return 1;
}


static int
gm_fc_redirect(const gm_filter_cc_t *cc, json_t *spec, gm_redirect_t *rd)
{
    json_int_t  code;

    if (gm_fc_string(cc, spec, "scheme", &rd->scheme) != 0
        || gm_fc_string(cc, spec, "hostname", &rd->hostname) != 0)
    {
        return -1;
    }

    rd->port = (uint16_t) json_integer_value(json_object_get(spec, "port"));

    code = json_integer_value(json_object_get(spec, "statusCode"));
    rd->status = code ? (uint16_t) code : 302;

    return gm_fc_path_mod(cc, spec, &rd->path);
}


static int
gm_fc_rewrite(const gm_filter_cc_t *cc, json_t *spec, gm_rewrite_t *rw)
{
    if (gm_fc_string(cc, spec, "hostname", &rw->hostname) != 0) {
        return -1;
    }

    return gm_fc_path_mod(cc, spec, &rw->path);
}


static int
gm_fc_path_mod(const gm_filter_cc_t *cc, json_t *spec, gm_path_mod_t *pm)
{
    json_t       *path, *v;
    const char   *type;

    path = json_object_get(spec, "path");
    type = json_string_value(json_object_get(path, "type"));

    if (type == NULL) {
        return 0;
    }

    pm->type = strcmp(type, "ReplaceFullPath") == 0 ? GM_PATH_FULL
                                                    : GM_PATH_PREFIX;

    v = json_object_get(path, pm->type == GM_PATH_FULL ? "replaceFullPath"
                                                       : "replacePrefixMatch");

    if (gm_fc_string(cc, v, NULL, &pm->value) != 0) {
        return -1;
    }

    pm->value.len = gm_fc_decode(pm->value.data, pm->value.data,
                                 pm->value.len);
    pm->value.data[pm->value.len] = '\0';

    if (pm->type == GM_PATH_FULL) {
        /* a request path is never empty */
        return pm->value.len ? 0 : gm_fc_copy(cc, &pm->value, "/", 1);
    }

    gm_fc_strip_slash(&pm->value);

    return gm_fc_path_prefix(cc, pm);
}


/* the API guarantees one PathPrefix match for ReplacePrefixMatch */
static int
gm_fc_path_prefix(const gm_filter_cc_t *cc, gm_path_mod_t *pm)
{
    const gm_http_match_t  *m;

    if (cc->rule == NULL || cc->rule->nmatches != 1
        || cc->rule->matches[0].path_type != GM_MATCH_PREFIX)
    {
        gm_log(cc->log, GM_LOG_WARN, "HTTPRoute %s: ReplacePrefixMatch "
               "without a PathPrefix match: the path is kept", cc->label);
        pm->type = GM_PATH_KEEP;
        return 0;
    }

    m = &cc->rule->matches[0];

    if (gm_fc_copy(cc, &pm->prefix, m->path.data, m->path.len) != 0) {
        return -1;
    }

    gm_fc_strip_slash(&pm->prefix);

    return 0;
}


static int
gm_fc_mirror(const gm_filter_cc_t *cc, json_t *spec, gm_mirror_t *m)
{
    if (gm_fc_mirror_backend(cc, json_object_get(spec, "backendRef"), m)
        != 0)
    {
        return -1;
    }

    gm_fc_mirror_share(spec, m);

    return 0;
}


static int
gm_fc_mirror_backend(const gm_filter_cc_t *cc, json_t *ref, gm_mirror_t *m)
{
    gm_str_t     ns, name;
    uint16_t     port;
    const char  *group, *kind;

    group = json_string_value(json_object_get(ref, "group"));
    kind = json_string_value(json_object_get(ref, "kind"));

    name.data = (char *) json_string_value(json_object_get(ref, "name"));
    name.len = name.data ? strlen(name.data) : 0;

    if ((group != NULL && group[0] != '\0')
        || (kind != NULL && strcmp(kind, "Service") != 0)
        || name.len == 0)
    {
        gm_log(cc->log, GM_LOG_WARN, "HTTPRoute %s: RequestMirror to "
               "group \"%s\" kind \"%s\" is not supported, not mirrored",
               cc->label, group ? group : "", kind ? kind : "Service");
        return 0;
    }

    ns.data = (char *) json_string_value(json_object_get(ref, "namespace"));
    ns = ns.data ? (gm_str_t) { strlen(ns.data), ns.data } : *cc->route_ns;
    port = (uint16_t) json_integer_value(json_object_get(ref, "port"));

    m->backend = cc->backend(cc->data, &ns, &name, port);
    if (m->backend == NULL) {
        return -1;
    }

    if (m->backend->status == GM_BACKEND_NOT_FOUND
        || m->backend->status == GM_BACKEND_INVALID)
    {
        gm_log(cc->log, GM_LOG_WARN, "HTTPRoute %s: RequestMirror to %s: "
               "no such Service or port, not mirrored", cc->label,
               m->backend->label.data);
    }

    return 0;
}


/* percent, or fraction (denominator 100 by default), or everything */
static void
gm_fc_mirror_share(json_t *spec, gm_mirror_t *m)
{
    json_t  *percent, *fraction, *den;

    percent = json_object_get(spec, "percent");
    fraction = json_object_get(spec, "fraction");

    m->numerator = 1;
    m->denominator = 1;

    if (json_is_integer(percent)) {
        m->numerator = (uint32_t) json_integer_value(percent);
        m->denominator = 100;

    } else if (json_is_object(fraction)) {
        den = json_object_get(fraction, "denominator");
        m->numerator = (uint32_t) json_integer_value(
                                      json_object_get(fraction, "numerator"));
        m->denominator = json_is_integer(den)
                         ? (uint32_t) json_integer_value(den) : 100;
    }
}


static int
gm_fc_cors(const gm_filter_cc_t *cc, json_t *spec, gm_cors_t *c)
{
    int          n;
    char         age[24];
    json_t      *v;
    unsigned     any;
    json_int_t   max_age;

    if (gm_fc_cors_origins(cc, json_object_get(spec, "allowOrigins"), c) != 0
        || gm_fc_join(cc, json_object_get(spec, "allowMethods"), &c->methods,
                      &any) != 0)
    {
        return -1;
    }

    c->any_method = any;

    if (gm_fc_join(cc, json_object_get(spec, "allowHeaders"), &c->headers,
                   &any) != 0)
    {
        return -1;
    }

    c->any_header = any;

    if (gm_fc_join(cc, json_object_get(spec, "exposeHeaders"), &c->expose,
                   &any) != 0)
    {
        return -1;
    }

    c->any_expose = any;
    c->credentials = json_is_true(json_object_get(spec, "allowCredentials"));

    v = json_object_get(spec, "maxAge");
    max_age = json_is_integer(v) ? json_integer_value(v)
                                 : GM_CORS_MAX_AGE_DEFAULT;

    n = snprintf(age, sizeof(age), "%lld", (long long) max_age);

    return gm_fc_copy(cc, &c->max_age, age, (size_t) n);
}


static int
gm_fc_cors_origins(const gm_filter_cc_t *cc, json_t *arr, gm_cors_t *c)
{
    int          rc;
    size_t       i, n;
    const char  *s;

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    c->origins = gm_arena_calloc(cc->arena, n * sizeof(gm_cors_origin_t));
    if (c->origins == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        s = json_string_value(json_array_get(arr, i));

        if (s == NULL) {
            continue;
        }

        if (strcmp(s, "*") == 0) {
            c->any_origin = 1;
            continue;
        }

        rc = gm_fc_cors_origin(cc, s, &c->origins[c->norigins]);
        if (rc < 0) {
            return -1;
        }

        c->norigins += (rc == 0);
    }

    return 0;
}


/* 0: kept, 1: left out (logged), -1: out of memory */
static int
gm_fc_cors_origin(const gm_filter_cc_t *cc, const char *s,
    gm_cors_origin_t *o)
{
    gm_str_t  scheme, host;

    if (gm_origin_parse(s, strlen(s), &scheme, &host, &o->port) != 0) {
        gm_log(cc->log, GM_LOG_WARN, "HTTPRoute %s: CORS origin \"%.64s\" "
               "is not scheme://host[:port]: ignored", cc->label, s);
        return 1;
    }

    if (host.len && host.data[0] == '*') {
        o->wildcard = 1;
        host.data++;
        host.len--;
    }

    if (gm_fc_copy(cc, &o->scheme, scheme.data, scheme.len) != 0
        || gm_fc_copy(cc, &o->host, host.data, host.len) != 0)
    {
        return -1;
    }

    gm_fc_lower(&o->scheme);
    gm_fc_lower(&o->host);

    return 0;
}


/* "a, b, c"; a "*" item sets *any and is left out of the list */
static int
gm_fc_join(const gm_filter_cc_t *cc, json_t *arr, gm_str_t *out,
    unsigned *any)
{
    char        *p;
    size_t       i, len, n;
    const char  *s;

    *any = 0;
    len = 0;
    n = json_array_size(arr);

    for (i = 0; i < n; i++) {
        s = json_string_value(json_array_get(arr, i));
        len += s ? strlen(s) + 2 : 0;
    }

    out->data = gm_arena_alloc(cc->arena, len + 1);
    if (out->data == NULL) {
        return -1;
    }

    p = out->data;

    for (i = 0; i < n; i++) {
        s = json_string_value(json_array_get(arr, i));

        if (s == NULL || strcmp(s, "*") == 0) {
            *any |= (s != NULL);
            continue;
        }

        p += sprintf(p, "%s%s", p == out->data ? "" : ", ", s);
    }

    *p = '\0';
    out->len = (size_t) (p - out->data);

    return 0;
}


/* a string member (key NULL: obj itself) copied, or the empty string */
static int
gm_fc_string(const gm_filter_cc_t *cc, json_t *obj, const char *key,
    gm_str_t *out)
{
    json_t  *v;

    v = key ? json_object_get(obj, key) : obj;

    if (!json_is_string(v)) {
        return gm_fc_copy(cc, out, "", 0);
    }

    return gm_fc_copy(cc, out, json_string_value(v), json_string_length(v));
}


static int
gm_fc_copy(const gm_filter_cc_t *cc, gm_str_t *dst, const char *src,
    size_t len)
{
    return gm_arena_strdup(cc->arena, dst, src, len);
}


static void
gm_fc_lower(gm_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] >= 'A' && s->data[i] <= 'Z') {
            s->data[i] |= 0x20;
        }
    }
}


/* %XX escapes decoded; a malformed one stays as written */
static size_t
gm_fc_decode(char *dst, const char *src, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '%' && i + 2 < len) {
            hi = gm_fc_hex(src[i + 1]);
            lo = gm_fc_hex(src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                dst[n++] = (char) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        dst[n++] = src[i];
    }

    return n;
}


static int
gm_fc_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


static void
gm_fc_strip_slash(gm_str_t *s)
{
    if (s->len && s->data[s->len - 1] == '/') {
        s->data[--s->len] = '\0';
    }
}


ssize_t
gm_path_replace_prefix(const gm_path_mod_t *pm, const char *path,
    size_t path_len, char *out)
{
    size_t  plen, n;

    plen = pm->prefix.len;

    /* segment-wise: "/foo" is under "/foo", not "/foobar" under it */
    if (path_len < plen || memcmp(path, pm->prefix.data, plen) != 0
        || (path_len > plen && path[plen] != '/'))
    {
        return -1;
    }

    memcpy(out, pm->value.data, pm->value.len);
    memcpy(out + pm->value.len, path + plen, path_len - plen);
    n = pm->value.len + path_len - plen;

    if (n == 0) {
        out[n++] = '/';
    }

    out[n] = '\0';

    return (ssize_t) n;
}


int
gm_cors_origin_allowed(const gm_cors_t *cors, const char *origin,
    size_t len)
{
    size_t    i;
    uint16_t  port;
    gm_str_t  scheme, host;

    if (cors->any_origin) {
        return 1;
    }

    if (gm_origin_parse(origin, len, &scheme, &host, &port) != 0) {
        return 0;
    }

    for (i = 0; i < cors->norigins; i++) {
        if (gm_origin_match(&cors->origins[i], &scheme, &host, port)) {
            return 1;
        }
    }

    return 0;
}


/* scheme://host[:port], the host possibly a [v6] literal; no path */
static int
gm_origin_parse(const char *s, size_t len, gm_str_t *scheme, gm_str_t *host,
    uint16_t *port)
{
    long         n;
    char        *end, digits[8];
    const char  *p, *last, *colon;

    last = s + len;
    p = memchr(s, ':', len);

    if (p == NULL || p == s || last - p < 4 || p[1] != '/' || p[2] != '/') {
        return -1;
    }

    scheme->data = (char *) s;
    scheme->len = (size_t) (p - s);
    host->data = (char *) p + 3;

    p = (*host->data == '[') ? memchr(host->data, ']', last - host->data)
                             : host->data;
    colon = p ? memchr(p, ':', last - p) : NULL;

    host->len = (size_t) ((colon ? colon : last) - host->data);
    *port = gm_origin_default_port(scheme);

    if (p == NULL || host->len == 0 || memchr(host->data, '/', host->len)) {
        return -1;
    }

    if (colon == NULL) {
        return 0;
    }

    if (last - colon < 2 || last - colon > 6) {
        return -1;
    }

    memcpy(digits, colon + 1, last - colon - 1);
    digits[last - colon - 1] = '\0';
    n = strtol(digits, &end, 10);

    if (*end != '\0' || n < 1 || n > 65535) {
        return -1;
    }

    *port = (uint16_t) n;

    return 0;
}


static uint16_t
gm_origin_default_port(const gm_str_t *scheme)
{
    if (gm_str_caseeq(scheme, "http", 4)) {
        return 80;
    }

    if (gm_str_caseeq(scheme, "https", 5)) {
        return 443;
    }

    return 0;
}


/* a wildcard host "*.a.com" is kept as ".a.com": any labels before it */
static int
gm_origin_match(const gm_cors_origin_t *o, const gm_str_t *scheme,
    const gm_str_t *host, uint16_t port)
{
    if (o->port != port || !gm_str_caseeq(scheme, o->scheme.data,
                                          o->scheme.len))
    {
        return 0;
    }

    if (!o->wildcard) {
        return gm_str_caseeq(host, o->host.data, o->host.len);
    }

    if (o->host.len == 0) {
        return 1;
    }

    return host->len > o->host.len
           && strncasecmp(host->data + host->len - o->host.len,
                          o->host.data, o->host.len) == 0;
}


static int
gm_str_caseeq(const gm_str_t *a, const char *b, size_t len)
{
    return a->len == len && strncasecmp(a->data, b, len) == 0;
}


int
gm_header_is_hop_by_hop(const gm_str_t *lname)
{
    size_t  i;

    for (i = 0; gm_hop_by_hop[i] != NULL; i++) {
        if (gm_str_eq_cstr(lname, gm_hop_by_hop[i])) {
            return 1;
        }
    }

    return 0;
}
