/*
 * nginx-gamma: the policy fields and their values in text form.  Both the
 * TrafficPolicy parser (gm_trafficpolicy.c, which turns each JSON leaf into
 * text) and the nginx.conf directives go through gm_policy_value_parse(),
 * so a value means the same and is refused for the same reason in both.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_parse_int.h"
#include "gm_policy.h"


typedef enum {
    GM_PV_DURATION = 0,
    GM_PV_COUNT,
    GM_PV_CODES,
    GM_PV_UNIT,
    GM_PV_LB,
    GM_PV_HEADER,
    GM_PV_COOKIE
} gm_policy_value_e;

typedef struct {
    const char         *path;
    uint32_t            bit;
    gm_policy_value_e   type;
    int64_t             min;
    int64_t             max;
} gm_policy_field_t;


static int gm_policy_count(gm_policy_values_t *v, const gm_policy_field_t *f,
    const char *s, size_t len, char *err, size_t errsize);
static int gm_policy_codes(gm_policy_values_t *v, const char *s, size_t len,
    gm_policy_alloc_pt alloc, void *pool, char *err, size_t errsize);
static int gm_policy_enum(gm_policy_values_t *v, const gm_policy_field_t *f,
    const char *s, size_t len, char *err, size_t errsize);
static int gm_policy_name(gm_policy_values_t *v, const gm_policy_field_t *f,
    const char *s, size_t len, gm_policy_alloc_pt alloc, void *pool,
    char *err, size_t errsize);
static int gm_policy_number(const char *s, size_t len, int64_t max,
    int64_t *out);
static int gm_policy_copy(gm_str_t *dst, const char *s, size_t len,
    gm_policy_alloc_pt alloc, void *pool);
static int gm_scope_name(gm_str_t *dst, const char *s, size_t len,
    size_t max, gm_policy_alloc_pt alloc, void *pool);


static const gm_policy_field_t  gm_policy_fields[] = {
    { "timeouts.request", GM_PF_TIMEOUT_REQUEST, GM_PV_DURATION, 0, 0 },
    { "timeouts.backendRequest", GM_PF_TIMEOUT_BACKEND, GM_PV_DURATION,
      0, 0 },
    { "timeouts.connect", GM_PF_TIMEOUT_CONNECT, GM_PV_DURATION, 0, 0 },
    { "timeouts.idle", GM_PF_TIMEOUT_IDLE, GM_PV_DURATION, 0, 0 },
    { "retry.attempts", GM_PF_RETRY_ATTEMPTS, GM_PV_COUNT, 0,
      GM_POLICY_MAX_ATTEMPTS },
    { "retry.codes", GM_PF_RETRY_CODES, GM_PV_CODES, 0, 0 },
    { "retry.backoff", GM_PF_RETRY_BACKOFF, GM_PV_DURATION, 0, 0 },
    { "rateLimit.requests", GM_PF_RATE_REQUESTS, GM_PV_COUNT, 1,
      GM_POLICY_MAX_RATE },
    { "rateLimit.burst", GM_PF_RATE_BURST, GM_PV_COUNT, 1,
      GM_POLICY_MAX_RATE },
    { "rateLimit.unit", GM_PF_RATE_UNIT, GM_PV_UNIT, 0, 0 },
    { "loadBalancer.type", GM_PF_LB_TYPE, GM_PV_LB, 0, 0 },
    { "loadBalancer.consistentHash.header", GM_PF_LB_HEADER, GM_PV_HEADER,
      1, GM_MAX_HEADER_NAME },
    { "loadBalancer.consistentHash.cookie", GM_PF_LB_COOKIE, GM_PV_COOKIE,
      1, GM_MAX_HEADER_NAME },
    { NULL, 0, 0, 0, 0 }
};

static const char *const  gm_policy_lb_names[] = {
    "", "RoundRobin", "LeastRequest", "ConsistentHash", NULL
};


uint32_t
gm_policy_field(const char *path, size_t len)
{
    const gm_policy_field_t  *f;

    for (f = gm_policy_fields; f->path; f++) {
        if (strlen(f->path) == len && memcmp(f->path, path, len) == 0) {
            return f->bit;
        }
    }

    return 0;
}


const char *
gm_policy_field_name(uint32_t bit)
{
    const gm_policy_field_t  *f;

    for (f = gm_policy_fields; f->path; f++) {
        if (f->bit == bit) {
            return f->path;
        }
    }

    return "retry";
}


void
gm_policy_values_init(gm_policy_values_t *v)
{
    memset(v, 0, sizeof(gm_policy_values_t));

    v->timeout_request_ms = GM_DURATION_UNSET;
    v->timeout_backend_ms = GM_DURATION_UNSET;
    v->timeout_connect_ms = GM_DURATION_UNSET;
    v->timeout_idle_ms = GM_DURATION_UNSET;
    v->retry_backoff_ms = GM_DURATION_UNSET;
}


int
gm_policy_value_parse(gm_policy_values_t *v, uint32_t bit, const char *s,
    size_t len, gm_policy_alloc_pt alloc, void *pool, char *err,
    size_t errsize)
{
    int64_t                   ms;
    const gm_policy_field_t  *f;

    for (f = gm_policy_fields; f->path && f->bit != bit; f++) {
        /* void */
    }

    if (f->path == NULL) {
        snprintf(err, errsize, "unknown field");
        return -1;
    }

    switch (f->type) {

    case GM_PV_DURATION:
        ms = gm_duration_parse(s, len);
        if (ms < 0) {
            snprintf(err, errsize, "must be a duration such as \"1h30m\", "
                     "\"10s\" or \"500ms\" (GEP-2257)");
            return -1;
        }

        switch (bit) {
        case GM_PF_TIMEOUT_REQUEST: v->timeout_request_ms = ms; break;
        case GM_PF_TIMEOUT_BACKEND: v->timeout_backend_ms = ms; break;
        case GM_PF_TIMEOUT_CONNECT: v->timeout_connect_ms = ms; break;
        case GM_PF_TIMEOUT_IDLE: v->timeout_idle_ms = ms; break;
        default: v->retry_backoff_ms = ms; break;
        }

        break;

    case GM_PV_COUNT:
        if (gm_policy_count(v, f, s, len, err, errsize) != 0) {
            return -1;
        }

        break;

    case GM_PV_CODES:
        if (gm_policy_codes(v, s, len, alloc, pool, err, errsize) != 0) {
            return -1;
        }

        break;

    case GM_PV_UNIT:
    case GM_PV_LB:
        if (gm_policy_enum(v, f, s, len, err, errsize) != 0) {
            return -1;
        }

        break;

    default:
        if (gm_policy_name(v, f, s, len, alloc, pool, err, errsize) != 0) {
            return -1;
        }
    }

    v->set |= bit;

    return 0;
}


static int
gm_policy_count(gm_policy_values_t *v, const gm_policy_field_t *f,
    const char *s, size_t len, char *err, size_t errsize)
{
    int64_t  n;

    if (gm_policy_number(s, len, f->max, &n) != 0 || n < f->min) {
        snprintf(err, errsize, "must be a number from %lld to %lld",
                 (long long) f->min, (long long) f->max);
        return -1;
    }

    switch (f->bit) {
    case GM_PF_RETRY_ATTEMPTS: v->retry_attempts = (uint32_t) n; break;
    case GM_PF_RATE_REQUESTS: v->rate_requests = (uint32_t) n; break;
    default: v->rate_burst = (uint32_t) n; break;
    }

    return 0;
}


/* "500,502,503": a set of codes from 400 to 599 */
static int
gm_policy_codes(gm_policy_values_t *v, const char *s, size_t len,
    gm_policy_alloc_pt alloc, void *pool, char *err, size_t errsize)
{
    size_t     i, j, n, start;
    int64_t    code;
    uint16_t  *codes;

    n = 1;

    for (i = 0; i < len; i++) {
        n += (s[i] == ',');
    }

    if (len == 0 || n > GM_POLICY_MAX_CODES) {
        snprintf(err, errsize, "must list 1 to %d status codes",
                 GM_POLICY_MAX_CODES);
        return -1;
    }

    codes = alloc(pool, n * sizeof(uint16_t));
    if (codes == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }

    n = 0;

    for (start = 0; start <= len; start = i + 1) {
        for (i = start; i < len && s[i] != ','; i++) { /* void */ }

        if (gm_policy_number(s + start, i - start, GM_RETRY_CODE_MAX, &code)
            != 0 || code < GM_RETRY_CODE_MIN)
        {
            snprintf(err, errsize, "must be status codes from %d to %d, "
                     "comma-separated", GM_RETRY_CODE_MIN, GM_RETRY_CODE_MAX);
            return -1;
        }

        for (j = 0; j < n; j++) {
            if (codes[j] == code) {
                snprintf(err, errsize, "duplicate code %d", (int) code);
                return -1;
            }
        }

        codes[n++] = (uint16_t) code;
    }

    v->retry_codes = codes;
    v->nretry_codes = n;

    return 0;
}


static int
gm_policy_enum(gm_policy_values_t *v, const gm_policy_field_t *f,
    const char *s, size_t len, char *err, size_t errsize)
{
    int  i;

    if (f->type == GM_PV_UNIT) {
        if (len == 6 && memcmp(s, "Second", 6) == 0) {
            v->rate_unit_s = 1;
            return 0;
        }

        if (len == 6 && memcmp(s, "Minute", 6) == 0) {
            v->rate_unit_s = 60;
            return 0;
        }

        snprintf(err, errsize, "must be \"Second\" or \"Minute\"");
        return -1;
    }

    for (i = 1; gm_policy_lb_names[i]; i++) {
        if (strlen(gm_policy_lb_names[i]) == len
            && memcmp(gm_policy_lb_names[i], s, len) == 0)
        {
            v->lb_type = (gm_lb_e) i;
            return 0;
        }
    }

    snprintf(err, errsize, "must be \"RoundRobin\", \"LeastRequest\" or "
             "\"ConsistentHash\"");
    return -1;
}


/* a header name (lowercased) or a cookie name: RFC 7230 token chars */
static int
gm_policy_name(gm_policy_values_t *v, const gm_policy_field_t *f,
    const char *s, size_t len, gm_policy_alloc_pt alloc, void *pool,
    char *err, size_t errsize)
{
    size_t     i;
    gm_str_t  *dst;

    /* strchr() finds the NUL that ends its set: a NUL byte is no token */
    for (i = 0; i < len; i++) {
        if ((s[i] == '\0' || strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
            && !(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'z')
            && !(s[i] >= 'A' && s[i] <= 'Z'))
        {
            break;
        }
    }

    if (len < (size_t) f->min || len > (size_t) f->max || i != len) {
        snprintf(err, errsize, "must be a %s name of 1 to %d token "
                 "characters", f->type == GM_PV_HEADER ? "header" : "cookie",
                 (int) f->max);
        return -1;
    }

    dst = (f->type == GM_PV_HEADER) ? &v->lb_header : &v->lb_cookie;

    if (gm_policy_copy(dst, s, len, alloc, pool) != 0) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }

    if (f->type == GM_PV_HEADER) {
        for (i = 0; i < len; i++) {
            if (dst->data[i] >= 'A' && dst->data[i] <= 'Z') {
                dst->data[i] |= 0x20;
            }
        }
    }

    return 0;
}


static int
gm_policy_number(const char *s, size_t len, int64_t max, int64_t *out)
{
    size_t   i;
    int64_t  n;

    if (len == 0 || len > 10) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (s[i] - '0');
    }

    if (n > max) {
        return -1;
    }

    *out = n;

    return 0;
}


static int
gm_policy_copy(gm_str_t *dst, const char *s, size_t len,
    gm_policy_alloc_pt alloc, void *pool)
{
    dst->data = alloc(pool, len + 1);
    if (dst->data == NULL) {
        return -1;
    }

    memcpy(dst->data, s, len);
    dst->data[len] = '\0';
    dst->len = len;

    return 0;
}


void
gm_policy_value_take(gm_policy_values_t *dst, const gm_policy_values_t *src,
    uint32_t bit)
{
    switch (bit) {
    case GM_PF_TIMEOUT_REQUEST:
        dst->timeout_request_ms = src->timeout_request_ms;
        break;
    case GM_PF_TIMEOUT_BACKEND:
        dst->timeout_backend_ms = src->timeout_backend_ms;
        break;
    case GM_PF_TIMEOUT_CONNECT:
        dst->timeout_connect_ms = src->timeout_connect_ms;
        break;
    case GM_PF_TIMEOUT_IDLE:
        dst->timeout_idle_ms = src->timeout_idle_ms;
        break;
    case GM_PF_RETRY_ATTEMPTS:
        dst->retry_attempts = src->retry_attempts;
        break;
    case GM_PF_RETRY_CODES:
        dst->retry_codes = src->retry_codes;
        dst->nretry_codes = src->nretry_codes;
        break;
    case GM_PF_RETRY_BACKOFF:
        dst->retry_backoff_ms = src->retry_backoff_ms;
        break;
    case GM_PF_RATE_REQUESTS:
        dst->rate_requests = src->rate_requests;
        break;
    case GM_PF_RATE_BURST:
        dst->rate_burst = src->rate_burst;
        break;
    case GM_PF_RATE_UNIT:
        dst->rate_unit_s = src->rate_unit_s;
        break;
    case GM_PF_LB_TYPE:
        dst->lb_type = src->lb_type;
        break;
    case GM_PF_LB_HEADER:
        dst->lb_header = src->lb_header;
        break;
    case GM_PF_LB_COOKIE:
        dst->lb_cookie = src->lb_cookie;
        break;
    default:
        break;
    }

    dst->set |= bit;
}


int
gm_operator_scope_parse(gm_operator_entry_t *e, const char *s, size_t len,
    gm_policy_alloc_pt alloc, void *pool, char *err, size_t errsize)
{
    int64_t      port;
    const char  *p, *slash, *sep, *end;

    end = s + len;

    if (len == 1 && s[0] == '*') {
        e->scope = GM_SCOPE_ALL;
        return 0;
    }

    if (len > 10 && memcmp(s, "namespace:", 10) == 0) {
        e->scope = GM_SCOPE_NAMESPACE;

        if (gm_scope_name(&e->ns, s + 10, len - 10, GM_MAX_LABEL, alloc,
                          pool) == 0)
        {
            return 0;
        }

        goto invalid;
    }

    if (len > 8 && memcmp(s, "service:", 8) == 0) {
        p = s + 8;
        e->scope = GM_SCOPE_SERVICE;

    } else if (len > 6 && memcmp(s, "route:", 6) == 0) {
        p = s + 6;
        e->scope = GM_SCOPE_ROUTE;

    } else {
        goto invalid;
    }

    slash = memchr(p, '/', end - p);
    if (slash == NULL
        || gm_scope_name(&e->ns, p, slash - p, GM_MAX_LABEL, alloc, pool)
           != 0)
    {
        goto invalid;
    }

    p = slash + 1;
    sep = memchr(p, e->scope == GM_SCOPE_SERVICE ? ':' : '/', end - p);

    if (gm_scope_name(&e->name, p, (sep ? sep : end) - p, GM_MAX_OBJECT_NAME,
                      alloc, pool) != 0)
    {
        goto invalid;
    }

    if (sep == NULL) {
        return 0;
    }

    if (e->scope == GM_SCOPE_SERVICE) {
        if (gm_policy_number(sep + 1, end - sep - 1, GM_MAX_PORT, &port) != 0
            || port == 0)
        {
            goto invalid;
        }

        e->scope = GM_SCOPE_SERVICE_PORT;
        e->port = (uint16_t) port;
        return 0;
    }

    e->scope = GM_SCOPE_RULE;

    if (gm_scope_name(&e->rule, sep + 1, end - sep - 1, GM_MAX_OBJECT_NAME,
                      alloc, pool) == 0)
    {
        return 0;
    }

invalid:

    snprintf(err, errsize, "must be \"*\", \"namespace:<ns>\", "
             "\"service:<ns>/<name>[:<port>]\" or "
             "\"route:<ns>/<name>[/<rule>]\"");
    return -1;
}


/* a DNS label or subdomain: lowercase letters, digits, '-' and '.' */
static int
gm_scope_name(gm_str_t *dst, const char *s, size_t len, size_t max,
    gm_policy_alloc_pt alloc, void *pool)
{
    size_t  i;

    if (len == 0 || len > max) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9')
            && s[i] != '-' && (s[i] != '.' || max == GM_MAX_LABEL))
        {
            return -1;
        }
    }

    return gm_policy_copy(dst, s, len, alloc, pool);
}
