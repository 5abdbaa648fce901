/*
 * nginx-gamma: the path a request is routed by is the path it is sent
 * with (gamma_escaped_slashes).  nginx matches locations against $uri,
 * decoded and normalised ("/b%2F..%2Fapi/x" is "/api/x"), while
 * "proxy_pass" without a URI part sends the request line's URI as it came:
 * a route chosen for "/api/x" would send "/b%2F..%2Fapi/x" to a backend
 * that may see something else in it.  So, before the match:
 *
 *   reject  a path with an encoded "/" or "\" (%2F, %5C) or an encoded
 *           dot segment ("%2e", ".%2e", "%2e%2e"...) gets 400; any other
 *           is routed by $uri and sent as $uri (escaped again) when the
 *           two differ ("/a//./b" goes out as "/a/b").  The default: such
 *           paths have two readings, and no setting here can know the
 *           backend's.
 *   decode  every path is routed by $uri and sent as $uri: "%2F" is "/"
 *           (Envoy's UNESCAPE_AND_FORWARD).
 *   keep    a path with %2F or %5C is routed by the path as sent, not
 *           decoded, and sent unchanged: the escapes stay part of their
 *           segment (a rule matches them when written with them); other
 *           paths as "decode".
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


static void ngx_http_gamma_raw_path(ngx_http_request_t *r, ngx_str_t *raw);
static ngx_uint_t ngx_http_gamma_escaped_slash(ngx_str_t *raw);
static ngx_uint_t ngx_http_gamma_escaped_dot(ngx_str_t *raw);
static ngx_uint_t ngx_http_gamma_dot_segment(u_char *p, u_char *end);


ngx_conf_enum_t  ngx_http_gamma_escaped_slashes_modes[] = {
    { ngx_string("reject"), NGX_HTTP_GAMMA_SLASHES_REJECT },
    { ngx_string("decode"), NGX_HTTP_GAMMA_SLASHES_DECODE },
    { ngx_string("keep"), NGX_HTTP_GAMMA_SLASHES_KEEP },
    { ngx_null_string, 0 }
};


ngx_int_t
ngx_http_gamma_path(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    ngx_str_t                   raw;
    ngx_uint_t                  slash;
    ngx_http_gamma_loc_conf_t  *glcf;

    if (!r->valid_unparsed_uri) {
        /* not the request line's URI any more: $uri is what goes out */
        return NGX_DECLINED;
    }

    /*
     * Without a %, a dot or double slash, or an empty path, nginx took
     * $uri from the request line as it came: the two are the same.
     */
    if (!r->quoted_uri && !r->complex_uri && !r->empty_path_in_uri) {
        return NGX_DECLINED;
    }

    ngx_http_gamma_raw_path(r, &raw);

    if (raw.len == r->uri.len
        && ngx_strncmp(raw.data, r->uri.data, raw.len) == 0)
    {
        return NGX_DECLINED;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gamma_module);
    slash = ngx_http_gamma_escaped_slash(&raw);

    switch (glcf->escaped_slashes) {

    case NGX_HTTP_GAMMA_SLASHES_REJECT:
        if (slash || ngx_http_gamma_escaped_dot(&raw)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "gamma: the path \"%V\" has an encoded \"/\", "
                          "\"\\\" or dot segment, answering 400 "
                          "(gamma_escaped_slashes reject)", &raw);
            return NGX_HTTP_BAD_REQUEST;
        }

        break;

    case NGX_HTTP_GAMMA_SLASHES_KEEP:
        if (slash) {
            /* routed, filtered and sent as it came */
            r->uri = raw;
            ctx->path_escaped = 1;
            return NGX_DECLINED;
        }

        break;

    default: /* NGX_HTTP_GAMMA_SLASHES_DECODE */
        break;
    }

    /* proxy_pass sends $uri, escaped, and the query string as it came */
    r->valid_unparsed_uri = 0;
    r->quoted_uri = 1;

    return NGX_DECLINED;
}


/* the request line's path, without the query string */
static void
ngx_http_gamma_raw_path(ngx_http_request_t *r, ngx_str_t *raw)
{
    u_char  *q;

    raw->data = r->unparsed_uri.data;
    raw->len = r->unparsed_uri.len;

    q = ngx_strlchr(raw->data, raw->data + raw->len, '?');
    if (q) {
        raw->len = q - raw->data;
    }
}


/* %2F or %5C, either case */
static ngx_uint_t
ngx_http_gamma_escaped_slash(ngx_str_t *raw)
{
    u_char  *p, *end;

    end = raw->data + raw->len;

    for (p = raw->data; p + 2 < end; p++) {
        if (p[0] != '%') {
            continue;
        }

        if ((p[1] == '2' && (p[2] == 'f' || p[2] == 'F'))
            || (p[1] == '5' && (p[2] == 'c' || p[2] == 'C')))
        {
            return 1;
        }
    }

    return 0;
}


/* a segment that is "." or ".." only once %2E is decoded */
static ngx_uint_t
ngx_http_gamma_escaped_dot(ngx_str_t *raw)
{
    u_char  *p, *seg, *end;

    end = raw->data + raw->len;
    seg = raw->data;

    for (p = raw->data; p <= end; p++) {
        if (p == end || *p == '/') {
            if (ngx_http_gamma_dot_segment(seg, p)) {
                return 1;
            }

            seg = p + 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_gamma_dot_segment(u_char *p, u_char *end)
{
    ngx_uint_t  dots, escaped;

    dots = 0;
    escaped = 0;

    while (p < end) {
        if (*p == '.') {
            p++;

        } else if (end - p >= 3 && p[0] == '%' && p[1] == '2'
                   && (p[2] == 'e' || p[2] == 'E'))
        {
            p += 3;
            escaped = 1;

        } else {
            return 0;
        }

        if (++dots > 2) {
            return 0;
        }
    }

    return escaped && dots > 0;
}
