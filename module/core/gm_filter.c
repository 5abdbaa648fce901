/*
 * nginx-gamma: what the nginx glue needs of compiled HTTPRoute filters at
 * request time: ReplacePrefixMatch on a path, CORS origin matching, the
 * headers no filter may touch.  The filters themselves are compiled by
 * gm_filter_compile.c.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gm_filter.h"
#include "gm_limits.h"


static uint16_t gm_origin_default_port(const gm_str_t *scheme);
static int gm_origin_match(const gm_cors_origin_t *o, const gm_str_t *scheme,
    const gm_str_t *host, uint16_t port);
static int gm_str_caseeq(const gm_str_t *a, const char *b, size_t len);


static const char *const  gm_hop_by_hop[] = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", NULL
};


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
int
gm_origin_parse(const char *s, size_t len, gm_str_t *scheme, gm_str_t *host,
    uint16_t *port)
{
    long         n;
    char        *end, digits[GM_PORT_TEXT_MAX];
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
