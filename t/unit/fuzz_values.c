/*
 * nginx-gamma: libFuzzer target for the value syntax of the API: Gateway
 * API durations (timeouts) and the paths of Exact and PathPrefix matches.
 * Each is checked against the API's own definition, written here as
 * PCRE2 patterns (the CRD's regex and CEL rules), not only for crashes:
 * a duration must parse exactly when it matches
 * ^([0-9]{1,5}(h|m|s|ms)){1,4}$ and to the same number of milliseconds;
 * a path must be accepted exactly when the CRD accepts it.
 *
 * Input: byte 0 picks the value (even: duration, odd: path); the rest is
 * the value.
 */


#define _GNU_SOURCE            /* memmem */
#define PCRE2_CODE_UNIT_WIDTH  8

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "gm_object.h"
#include "gm_parse_int.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static pcre2_code  *fuzz_duration_re, *fuzz_part_re, *fuzz_path_re;


static void
fuzz_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    (void) data;
    (void) level;
    (void) msg;
}


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


static int
fuzz_match(pcre2_code *re, const char *s, size_t len, size_t start,
    size_t *ov)
{
    int                rc;
    PCRE2_SIZE        *v;
    pcre2_match_data  *md;

    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (md == NULL) {
        abort();
    }

    rc = pcre2_match(re, (PCRE2_SPTR) s, len, start, 0, md, NULL);

    if (rc > 0 && ov != NULL) {
        v = pcre2_get_ovector_pointer(md);
        memcpy(ov, v, 6 * sizeof(size_t));
    }

    pcre2_match_data_free(md);

    return rc > 0;
}


/* the milliseconds the API means, or -1 */
static int64_t
fuzz_duration_ref(const char *s, size_t len)
{
    size_t   ov[6], at;
    int64_t  ms, n;
    size_t   i;

    if (!fuzz_match(fuzz_duration_re, s, len, 0, NULL)) {
        return -1;
    }

    ms = 0;

    for (at = 0; at < len; at = ov[1]) {
        if (!fuzz_match(fuzz_part_re, s, len, at, ov) || ov[0] != at) {
            abort();
        }

        for (n = 0, i = ov[2]; i < ov[3]; i++) {
            n = n * 10 + (s[i] - '0');
        }

        switch (s[ov[4]]) {
        case 'h':
            n *= 3600000;
            break;
        case 'm':
            n *= ov[5] - ov[4] == 2 ? 1 : 60000;
            break;
        default:
            n *= 1000;
        }

        ms += n;
    }

    return ms;
}


/* the CRD's rules for Exact and PathPrefix values: 1 when accepted */
static int
fuzz_path_ref(const char *s, size_t len)
{
    size_t  i;

    static const char  *bad[] = { "//", "/./", "/../", "%2f", "%2F", "#" };

    if (len == 0 || s[0] != '/' || memchr(s, '\0', len) != NULL) {
        return 0;
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (memmem(s, len, bad[i], strlen(bad[i])) != NULL) {
            return 0;
        }
    }

    if ((len >= 2 && memcmp(s + len - 2, "/.", 2) == 0)
        || (len >= 3 && memcmp(s + len - 3, "/..", 3) == 0))
    {
        return 0;
    }

    return fuzz_match(fuzz_path_re, s, len, 0, NULL);
}


static void
fuzz_init(void)
{
    fuzz_duration_re = fuzz_compile("^([0-9]{1,5}(h|m|s|ms)){1,4}$");
    fuzz_part_re = fuzz_compile("([0-9]{1,5})(ms|h|m|s)");
    fuzz_path_re = fuzz_compile("^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]"
                                "|[%][0-9a-fA-F]{2})+$");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              got, want;
    char            *s;
    size_t           len;
    int64_t          ms, ref;
    gm_log_t         log;
    gm_str_t         path;
    gm_parse_ctx_t   ctx;

    if (size == 0) {
        return 0;
    }

    if (fuzz_duration_re == NULL) {
        fuzz_init();
    }

    len = size - 1;

    /* exactly len bytes and the NUL the parser's strings carry */
    s = malloc(len + 1);
    if (s == NULL) {
        return 0;
    }

    memcpy(s, data + 1, len);
    s[len] = '\0';

    if ((data[0] & 1) == 0) {
        ms = gm_duration_parse(s, len);
        ref = fuzz_duration_ref(s, len);

        if (ms != ref) {
            abort();
        }

    } else {
        log.handler = fuzz_log_handler;
        log.data = NULL;

        memset(&ctx, 0, sizeof(ctx));
        ctx.log = &log;
        ctx.kind = GM_KIND_HTTPROUTE;
        strcpy(ctx.ns, "fuzz");
        strcpy(ctx.name, "fuzz");

        path.data = s;
        path.len = len;

        got = gm_path_value_check(&ctx, &path) == 0;
        want = fuzz_path_ref(s, len);

        if (got != want) {
            abort();
        }
    }

    free(s);

    return 0;
}
