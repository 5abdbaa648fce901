/*
 * nginx-gamma: the syntax of values the API constrains by pattern:
 * names (RFC 1123 labels and subdomains, kinds, header names, hostnames,
 * port names, methods), addresses, durations (GEP-2257), RFC 3339 times,
 * the paths of Exact and PathPrefix matches, and regular expressions.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PCRE2_CODE_UNIT_WIDTH  8
#include <pcre2.h>

#include "gm_parse_int.h"


/* indexed by gm_name_e */
typedef struct {
    size_t        min;
    size_t        max;
    int         (*valid)(const char *s, size_t len);
    const char   *reason;
} gm_name_rule_t;


static int gm_is_label(const char *s, size_t len);
static int gm_is_subdomain(const char *s, size_t len);
static int gm_is_group(const char *s, size_t len);
static int gm_is_kind(const char *s, size_t len);
static int gm_is_header_name(const char *s, size_t len);
static int gm_is_hostname(const char *s, size_t len);
static int gm_is_svc_port_name(const char *s, size_t len);
static int gm_is_method(const char *s, size_t len);
static int gm_time_offset(const char *s, size_t len);
static int gm_digits(const char *s, size_t n);
static int64_t gm_days_from_civil(int64_t y, unsigned m, unsigned d);


static const gm_name_rule_t  gm_name_rules[] = {
    /* GM_NAME_OBJECT */
    { 1, GM_MAX_OBJECT_NAME, NULL, NULL },
    /* GM_NAME_LABEL */
    { 1, GM_MAX_LABEL, gm_is_label,
      "must be a lowercase RFC 1123 label" },
    /* GM_NAME_SUBDOMAIN */
    { 1, GM_MAX_OBJECT_NAME, gm_is_subdomain,
      "must be a lowercase RFC 1123 subdomain" },
    /* GM_NAME_GROUP */
    { 0, GM_MAX_OBJECT_NAME, gm_is_group,
      "must be empty or a lowercase RFC 1123 subdomain" },
    /* GM_NAME_KIND */
    { 1, GM_MAX_LABEL, gm_is_kind,
      "must start with a letter and hold only letters, digits and '-'" },
    /* GM_NAME_HEADER */
    { 1, GM_MAX_HEADER_NAME, gm_is_header_name,
      "must be a valid HTTP header name" },
    /* GM_NAME_HOSTNAME */
    { 1, GM_MAX_OBJECT_NAME, gm_is_hostname,
      "must be a lowercase RFC 1123 hostname, optionally prefixed by \"*.\"" },
    /* GM_NAME_PRECISE_HOSTNAME */
    { 1, GM_MAX_OBJECT_NAME, gm_is_subdomain,
      "must be a lowercase RFC 1123 hostname" },
    /* GM_NAME_SVC_PORT */
    { 1, GM_MAX_PORT_NAME, gm_is_svc_port_name,
      "must be an IANA service name" },
    /* GM_NAME_METHOD */
    { 1, GM_MAX_METHOD, gm_is_method, "must be an HTTP method or \"*\"" }
};

const char *const  gm_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
    "PATCH", NULL
};


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


int
gm_check_name(gm_parse_ctx_t *ctx, const char *field, const char *s, size_t len,
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


/* the API counts characters, not bytes */
size_t
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
int64_t
gm_duration_parse(const char *s, size_t len)
{
    size_t   i, digits, parts;
    int64_t  ms, n;

    ms = 0;
    parts = 0;
    i = 0;

    while (i < len) {
        n = 0;

        /* past 5 digits the value is refused: stop adding (no overflow) */
        for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; digits++) {
            if (digits < 5) {
                n = n * 10 + (s[i] - '0');
            }

            i++;
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
int
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


/* the CRD's rules for Exact and PathPrefix values */
int
gm_path_value_check(gm_parse_ctx_t *ctx, const gm_str_t *path)
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
        /* strchr() finds the NUL that ends ok: a NUL byte is no match */
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
            || (p[i] >= '0' && p[i] <= '9')
            || (p[i] != '\0' && strchr(ok, p[i]) != NULL))
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


void
gm_regex_check(gm_parse_ctx_t *ctx, const char *field, const gm_str_t *re)
{
    int           err;
    char          where[GM_FIELD_PATH_MAX];
    PCRE2_SIZE    off;
    PCRE2_UCHAR   msg[GM_REGEX_ERROR_MAX];
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
