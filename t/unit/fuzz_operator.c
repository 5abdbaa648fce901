/*
 * nginx-gamma: libFuzzer target for gm_operator_line_parse(), the
 * "<scope> <field> <value>" lines of gamma_default and gamma_override.
 * Not only for crashes: each line is checked against the syntax README
 * documents, written here again on its own (PCRE2 patterns for scopes and
 * names, the field table, the ranges), so the parser must accept exactly
 * the lines the reference accepts, report the first part that is wrong
 * (scope, then field, then value) and store exactly the value meant.
 * Durations are the one exception: fuzz_values checks gm_duration_parse()
 * against the API's pattern, here it is the reference.
 *
 * Input: the line; it is cut at its first two spaces, as nginx cuts the
 * directive's words (the value may hold spaces, nginx quotes them).  The
 * length's parity picks gamma_override or gamma_default.
 */


#define PCRE2_CODE_UNIT_WIDTH  8

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "gm_limits.h"
#include "gm_parse_int.h"
#include "gm_policy.h"


#define FUZZ_MAX_ALLOCS  8


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef enum {
    FUZZ_DURATION = 0,
    FUZZ_COUNT,
    FUZZ_CODES,
    FUZZ_UNIT,
    FUZZ_LB,
    FUZZ_HEADER,
    FUZZ_COOKIE
} fuzz_type_e;

typedef struct {
    const char   *name;
    uint32_t      bit;
    fuzz_type_e   type;
    int64_t       min;
    int64_t       max;
} fuzz_field_t;

/* what the reference reads from a line */
typedef struct {
    gm_scope_e   scope;
    gm_str_t     ns;
    gm_str_t     name;
    gm_str_t     rule;
    int64_t      port;
    int64_t      n;                 /* a duration, count, unit, lb type */
    uint16_t     codes[GM_POLICY_MAX_CODES];
    size_t       ncodes;
} fuzz_ref_t;

typedef struct {
    void        *p[FUZZ_MAX_ALLOCS];
    size_t       n;
} fuzz_pool_t;


/* README's table of fields, "## Directives", gamma_default */
static const fuzz_field_t  fuzz_fields[] = {
    { "timeouts.request", GM_PF_TIMEOUT_REQUEST, FUZZ_DURATION, 0, 0 },
    { "timeouts.backendRequest", GM_PF_TIMEOUT_BACKEND, FUZZ_DURATION, 0, 0 },
    { "timeouts.connect", GM_PF_TIMEOUT_CONNECT, FUZZ_DURATION, 0, 0 },
    { "timeouts.idle", GM_PF_TIMEOUT_IDLE, FUZZ_DURATION, 0, 0 },
    { "retry.attempts", GM_PF_RETRY_ATTEMPTS, FUZZ_COUNT, 0, 1000 },
    { "retry.codes", GM_PF_RETRY_CODES, FUZZ_CODES, 0, 0 },
    { "retry.backoff", GM_PF_RETRY_BACKOFF, FUZZ_DURATION, 0, 0 },
    { "rateLimit.requests", GM_PF_RATE_REQUESTS, FUZZ_COUNT, 1, 1000000 },
    { "rateLimit.burst", GM_PF_RATE_BURST, FUZZ_COUNT, 1, 1000000 },
    { "rateLimit.unit", GM_PF_RATE_UNIT, FUZZ_UNIT, 0, 0 },
    { "loadBalancer.type", GM_PF_LB_TYPE, FUZZ_LB, 0, 0 },
    { "loadBalancer.consistentHash.header", GM_PF_LB_HEADER, FUZZ_HEADER,
      1, 256 },
    { "loadBalancer.consistentHash.cookie", GM_PF_LB_COOKIE, FUZZ_COOKIE,
      1, 256 },
    { NULL, 0, 0, 0, 0 }
};

static pcre2_code        *fuzz_ns_re, *fuzz_svc_re, *fuzz_route_re;
static pcre2_code        *fuzz_number_re, *fuzz_token_re;
static pcre2_match_data  *fuzz_md;


static pcre2_code *
fuzz_compile(const char *re)
{
    int          err;
    PCRE2_SIZE   off;
    pcre2_code  *code;

    code = pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED,
                         PCRE2_DOLLAR_ENDONLY, &err, &off, NULL);
    if (code == NULL) {
        abort();
    }

    return code;
}


static void
fuzz_init(void)
{
    fuzz_ns_re = fuzz_compile("^namespace:([a-z0-9-]{1,63})$");
    fuzz_svc_re = fuzz_compile("^service:([a-z0-9-]{1,63})/"
                               "([a-z0-9.-]{1,253})(?::([0-9]{1,10}))?$");
    fuzz_route_re = fuzz_compile("^route:([a-z0-9-]{1,63})/"
                                 "([a-z0-9.-]{1,253})"
                                 "(?:/([a-z0-9.-]{1,253}))?$");
    fuzz_number_re = fuzz_compile("^[0-9]{1,10}$");
    fuzz_token_re = fuzz_compile("^[-!#$%&'*+.^_`|~0-9A-Za-z]{1,256}$");

    fuzz_md = pcre2_match_data_create(8, NULL);
    if (fuzz_md == NULL) {
        abort();
    }
}


/* the number of groups matched, 0 when no match */
static int
fuzz_match(pcre2_code *re, const char *s, size_t len)
{
    int  rc;

    rc = pcre2_match(re, (PCRE2_SPTR) s, len, 0, 0, fuzz_md, NULL);

    return rc > 0 ? rc : 0;
}


/* group i of the last match, empty when it did not take part */
static gm_str_t
fuzz_group(const char *s, int rc, int i)
{
    gm_str_t     g;
    PCRE2_SIZE  *ov;

    g.data = NULL;
    g.len = 0;

    ov = pcre2_get_ovector_pointer(fuzz_md);

    if (i < rc && ov[2 * i] != PCRE2_UNSET) {
        g.data = (char *) s + ov[2 * i];
        g.len = ov[2 * i + 1] - ov[2 * i];
    }

    return g;
}


static int64_t
fuzz_number(const char *s, size_t len)
{
    size_t   i;
    int64_t  n;

    if (!fuzz_match(fuzz_number_re, s, len)) {
        return -1;
    }

    for (n = 0, i = 0; i < len; i++) {
        n = n * 10 + (s[i] - '0');
    }

    return n;
}


/* 0 and the scope in ref, or -1 */
static int
fuzz_scope_ref(const char *s, size_t len, fuzz_ref_t *ref)
{
    int       rc;
    gm_str_t  port;

    if (len == 1 && s[0] == '*') {
        ref->scope = GM_SCOPE_ALL;
        return 0;
    }

    rc = fuzz_match(fuzz_ns_re, s, len);
    if (rc) {
        ref->scope = GM_SCOPE_NAMESPACE;
        ref->ns = fuzz_group(s, rc, 1);
        return 0;
    }

    rc = fuzz_match(fuzz_svc_re, s, len);
    if (rc) {
        ref->ns = fuzz_group(s, rc, 1);
        ref->name = fuzz_group(s, rc, 2);
        port = fuzz_group(s, rc, 3);
        ref->scope = port.data ? GM_SCOPE_SERVICE_PORT : GM_SCOPE_SERVICE;

        if (port.data) {
            ref->port = fuzz_number(port.data, port.len);
            if (ref->port < 1 || ref->port > 65535) {
                return -1;
            }
        }

        return 0;
    }

    rc = fuzz_match(fuzz_route_re, s, len);
    if (rc) {
        ref->ns = fuzz_group(s, rc, 1);
        ref->name = fuzz_group(s, rc, 2);
        ref->rule = fuzz_group(s, rc, 3);
        ref->scope = ref->rule.data ? GM_SCOPE_RULE : GM_SCOPE_ROUTE;
        return 0;
    }

    return -1;
}


static int
fuzz_codes_ref(const char *s, size_t len, fuzz_ref_t *ref)
{
    size_t       i, start, end;
    int64_t      code;
    const char  *comma;

    ref->ncodes = 0;

    for (start = 0; start <= len; start = end + 1) {
        comma = memchr(s + start, ',', len - start);
        end = comma ? (size_t) (comma - s) : len;

        code = fuzz_number(s + start, end - start);

        if (code < 400 || code > 599 || ref->ncodes == GM_POLICY_MAX_CODES) {
            return -1;
        }

        for (i = 0; i < ref->ncodes; i++) {
            if (ref->codes[i] == code) {
                return -1;
            }
        }

        ref->codes[ref->ncodes++] = (uint16_t) code;
    }

    return 0;
}


/* 0 and the value in ref, or -1 */
static int
fuzz_value_ref(const fuzz_field_t *f, const char *s, size_t len,
    fuzz_ref_t *ref)
{
    switch (f->type) {

    case FUZZ_DURATION:
        ref->n = gm_duration_parse(s, len);
        return ref->n < 0 ? -1 : 0;

    case FUZZ_COUNT:
        ref->n = fuzz_number(s, len);
        return (ref->n < f->min || ref->n > f->max) ? -1 : 0;

    case FUZZ_CODES:
        return fuzz_codes_ref(s, len, ref);

    case FUZZ_UNIT:
        ref->n = (len == 6 && memcmp(s, "Second", 6) == 0) ? 1
                 : (len == 6 && memcmp(s, "Minute", 6) == 0) ? 60 : -1;
        return ref->n < 0 ? -1 : 0;

    case FUZZ_LB:
        ref->n = (len == 10 && memcmp(s, "RoundRobin", 10) == 0)
                 ? GM_LB_ROUND_ROBIN
                 : (len == 12 && memcmp(s, "LeastRequest", 12) == 0)
                 ? GM_LB_LEAST_REQUEST
                 : (len == 14 && memcmp(s, "ConsistentHash", 14) == 0)
                 ? GM_LB_CONSISTENT_HASH : -1;
        return ref->n < 0 ? -1 : 0;

    default:
        return fuzz_match(fuzz_token_re, s, len) ? 0 : -1;
    }
}


static const fuzz_field_t *
fuzz_field_ref(const char *s, size_t len)
{
    const fuzz_field_t  *f;

    for (f = fuzz_fields; f->name; f++) {
        if (strlen(f->name) == len && memcmp(f->name, s, len) == 0) {
            return f;
        }
    }

    return NULL;
}


/* a copied string: the same bytes, NUL-terminated; or none at all */
static void
fuzz_same(const gm_str_t *got, const gm_str_t *want)
{
    if (want->data == NULL) {
        if (got->len != 0) {
            abort();
        }

        return;
    }

    if (got->len != want->len || got->data == NULL
        || memcmp(got->data, want->data, want->len) != 0
        || got->data[got->len] != '\0')
    {
        abort();
    }
}


static void
fuzz_check_scope(const gm_operator_entry_t *e, const fuzz_ref_t *ref)
{
    if (e->scope != ref->scope) {
        abort();
    }

    fuzz_same(&e->ns, &ref->ns);
    fuzz_same(&e->name, &ref->name);
    fuzz_same(&e->rule, &ref->rule);

    if (e->port != (ref->scope == GM_SCOPE_SERVICE_PORT ? ref->port : 0)) {
        abort();
    }
}


static void
fuzz_check_name(const gm_str_t *got, const char *s, size_t len, int lower)
{
    size_t  i;
    char    c;

    if (got->len != len || got->data == NULL || got->data[len] != '\0') {
        abort();
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (lower && c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (got->data[i] != c) {
            abort();
        }
    }
}


/* the one field set, to the value the reference read */
static void
fuzz_check_value(const gm_policy_values_t *v, const fuzz_field_t *f,
    const char *s, size_t len, const fuzz_ref_t *ref)
{
    int64_t  dur[5];

    if (v->set != f->bit) {
        abort();
    }

    dur[0] = v->timeout_request_ms;
    dur[1] = v->timeout_backend_ms;
    dur[2] = v->timeout_connect_ms;
    dur[3] = v->timeout_idle_ms;
    dur[4] = v->retry_backoff_ms;

    if (f->type == FUZZ_DURATION) {
        if (dur[f->bit == GM_PF_TIMEOUT_REQUEST ? 0
                : f->bit == GM_PF_TIMEOUT_BACKEND ? 1
                : f->bit == GM_PF_TIMEOUT_CONNECT ? 2
                : f->bit == GM_PF_TIMEOUT_IDLE ? 3 : 4]
            != ref->n)
        {
            abort();
        }

        return;
    }

    switch (f->bit) {
    case GM_PF_RETRY_ATTEMPTS:
        if (v->retry_attempts != ref->n) {
            abort();
        }
        break;
    case GM_PF_RETRY_CODES:
        if (v->nretry_codes != ref->ncodes
            || memcmp(v->retry_codes, ref->codes,
                      ref->ncodes * sizeof(uint16_t)) != 0)
        {
            abort();
        }
        break;
    case GM_PF_RATE_REQUESTS:
        if (v->rate_requests != ref->n) {
            abort();
        }
        break;
    case GM_PF_RATE_BURST:
        if (v->rate_burst != ref->n) {
            abort();
        }
        break;
    case GM_PF_RATE_UNIT:
        if (v->rate_unit_s != ref->n) {
            abort();
        }
        break;
    case GM_PF_LB_TYPE:
        if ((int64_t) v->lb_type != ref->n) {
            abort();
        }
        break;
    case GM_PF_LB_HEADER:
        fuzz_check_name(&v->lb_header, s, len, 1);
        break;
    default:
        fuzz_check_name(&v->lb_cookie, s, len, 0);
    }
}


static void *
fuzz_alloc(void *pool, size_t size)
{
    void         *p;
    fuzz_pool_t  *fp = pool;

    if (fp->n == FUZZ_MAX_ALLOCS) {
        abort();                    /* one line needs a few strings only */
    }

    p = malloc(size);
    if (p != NULL) {
        fp->p[fp->n++] = p;
    }

    return p;
}


static void
fuzz_check(const char *line, size_t size)
{
    int                  rc, want;
    char                 err[GM_POLICY_ERROR_MAX];
    size_t               i;
    unsigned             override;
    fuzz_ref_t           ref;
    fuzz_pool_t          pool;
    const char          *sp1, *sp2, *field, *value;
    const fuzz_field_t  *f;
    gm_operator_entry_t  e;

    sp1 = memchr(line, ' ', size);
    if (sp1 == NULL) {
        return;
    }

    field = sp1 + 1;
    sp2 = memchr(field, ' ', line + size - field);
    if (sp2 == NULL) {
        return;
    }

    value = sp2 + 1;
    override = size & 1;

    memset(&ref, 0, sizeof(ref));
    memset(err, 'x', sizeof(err));
    pool.n = 0;

    f = fuzz_field_ref(field, sp2 - field);

    want = fuzz_scope_ref(line, sp1 - line, &ref) != 0 ? GM_OPLINE_SCOPE
           : f == NULL ? GM_OPLINE_FIELD
           : fuzz_value_ref(f, value, line + size - value, &ref) != 0
           ? GM_OPLINE_VALUE : GM_OPLINE_OK;

    rc = gm_operator_line_parse(&e, override, line, sp1 - line, field,
                                sp2 - field, value, line + size - value,
                                fuzz_alloc, &pool, err, sizeof(err));

    if (rc != want || e.override != override) {
        abort();
    }

    if (rc == GM_OPLINE_SCOPE || rc == GM_OPLINE_VALUE) {
        /* a reason, terminated, for the nginx.conf error */
        if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
            abort();
        }
    }

    if (rc == GM_OPLINE_OK) {
        fuzz_check_scope(&e, &ref);
        fuzz_check_value(&e.v, f, value, line + size - value, &ref);
    }

    for (i = 0; i < pool.n; i++) {
        free(pool.p[i]);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char  *line;

    if (fuzz_md == NULL) {
        fuzz_init();
    }

    /* exactly size bytes: ASan sees any read past the line */
    line = malloc(size ? size : 1);
    if (line == NULL) {
        return 0;
    }

    memcpy(line, data, size);

    fuzz_check(line, size);

    free(line);

    return 0;
}
