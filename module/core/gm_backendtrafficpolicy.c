/*
 * nginx-gamma: parsing an XBackendTrafficPolicy (gateway.networking.x-k8s.io
 * v1alpha1): the Services it targets (no port: the kind cannot name one),
 * retryConstraint, its retry budget, with the defaults of GEP-3388, and
 * sessionPersistence (spec 2.4), whose parser route rules share.
 */

#include <stdint.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_xbtp_retry_parse(gm_parse_ctx_t *ctx, json_t *rc,
    gm_backendtrafficpolicy_t *p);
static int gm_xbtp_duration(gm_parse_ctx_t *ctx, json_t *obj,
    const char *key, int64_t min, int64_t *out);
static int gm_session_fields(gm_parse_ctx_t *ctx, json_t *sp,
    gm_session_t *s);
static int gm_session_name(gm_parse_ctx_t *ctx, json_t *obj,
    const char *key, gm_str_t *out);
static int gm_session_header(gm_parse_ctx_t *ctx, json_t *header,
    const gm_str_t *legacy, gm_session_t *s);
static int gm_session_cookie(gm_parse_ctx_t *ctx, json_t *sp,
    gm_session_t *s);
static int gm_session_timeout(gm_parse_ctx_t *ctx, json_t *sp,
    const char *key, int64_t *ms);


int
gm_backendtrafficpolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    size_t                      i;
    json_t                     *spec, *rc;
    gm_session_t               *sp;
    gm_backendtrafficpolicy_t  *p;

    p = &body->backendtrafficpolicy;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    if (spec == NULL) {
        return gm_reject(ctx, "spec", "is required");
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_policy_targets_parse(ctx, spec, 0, &p->targets, &p->ntargets) != 0
        || gm_get_object(ctx, spec, "retryConstraint", &rc) != 0
        || gm_session_parse(ctx, spec, &sp) != 0)
    {
        return -1;
    }

    for (i = 0; i < p->ntargets; i++) {
        if (p->targets[i].section_name.len) {
            return gm_reject(ctx, "targetRefs", "cannot name a port "
                             "(sectionName): the policy is for a whole "
                             "Service");
        }
    }

    if (sp != NULL) {
        p->has_session = 1;
        p->session = *sp;
    }

    if (rc == NULL) {
        return 0;
    }

    (void) gm_path_push(ctx, "retryConstraint");

    return gm_xbtp_retry_parse(ctx, rc, p);
}


static int
gm_xbtp_retry_parse(gm_parse_ctx_t *ctx, json_t *rc,
    gm_backendtrafficpolicy_t *p)
{
    size_t   old;
    int64_t  n;
    json_t  *budget, *min;

    p->has_retry = 1;
    p->percent = GM_RETRY_BUDGET_PERCENT;
    p->interval_ms = GM_RETRY_BUDGET_INTERVAL_MS;
    p->min_count = GM_RETRY_MIN_COUNT;
    p->min_interval_ms = GM_RETRY_MIN_INTERVAL_MS;

    if (gm_get_object(ctx, rc, "budget", &budget) != 0
        || gm_get_object(ctx, rc, "minRetryRate", &min) != 0)
    {
        return -1;
    }

    if (budget != NULL) {
        old = gm_path_push(ctx, "budget");

        switch (gm_get_int(ctx, budget, "percent", 0, 100, &n)) {
        case -1:
            return -1;
        case 1:
            p->percent = (uint32_t) n;
            break;
        default:
            break;
        }

        if (gm_xbtp_duration(ctx, budget, "interval", 1000, &p->interval_ms)
            != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    if (min != NULL) {
        old = gm_path_push(ctx, "minRetryRate");

        switch (gm_get_int(ctx, min, "count", 1, GM_RETRY_MAX_COUNT, &n)) {
        case -1:
            return -1;
        case 1:
            p->min_count = (uint32_t) n;
            break;
        default:
            break;
        }

        if (gm_xbtp_duration(ctx, min, "interval", 1, &p->min_interval_ms)
            != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


/* a GEP-2257 duration in [min, 1h]; *out keeps its default when absent */
static int
gm_xbtp_duration(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    int64_t min, int64_t *out)
{
    int          rc;
    size_t       len;
    int64_t      ms;
    const char  *s;

    rc = gm_get_cstr(ctx, obj, key, 1, 64, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    ms = gm_duration_parse(s, len);

    if (ms < min || ms > GM_RETRY_MAX_INTERVAL_MS) {
        return gm_reject(ctx, key, "must be a duration from %s to 1h such as "
                         "\"10s\" (GEP-2257)", min >= 1000 ? "1s" : "1ms");
    }

    *out = ms;

    return 0;
}


/*
 * sessionPersistence of a route rule or a policy, the spec's shape
 * (cookie.name, cookie.path, cookie.lifetimeType, header.name) and the
 * older API's (sessionName, cookieConfig.lifetimeType); *out NULL when
 * absent.  What the CRD's CEL forbids rejects the object.
 */
int
gm_session_parse(gm_parse_ctx_t *ctx, json_t *obj, gm_session_t **out)
{
    size_t         old;
    json_t        *sp;
    gm_session_t  *s;

    *out = NULL;

    if (gm_get_object(ctx, obj, "sessionPersistence", &sp) != 0) {
        return -1;
    }

    if (sp == NULL) {
        return 0;
    }

    s = gm_alloc(ctx, 1, sizeof(gm_session_t));
    if (s == NULL) {
        return -1;
    }

    old = gm_path_push(ctx, "sessionPersistence");

    if (gm_session_fields(ctx, sp, s) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    *out = s;

    return 0;
}


static int
gm_session_fields(gm_parse_ctx_t *ctx, json_t *sp, gm_session_t *s)
{
    int                       type;
    json_t                   *cookie, *header;
    gm_str_t                  legacy;
    static const char *const  types[] = { "Cookie", "Header", NULL };

    legacy.len = 0;

    if (gm_get_enum(ctx, sp, "type", types, &type) < 0
        || gm_get_object(ctx, sp, "cookie", &cookie) != 0
        || gm_get_object(ctx, sp, "header", &header) != 0
        || gm_session_name(ctx, sp, "sessionName", &legacy) < 0
        || gm_session_timeout(ctx, sp, "absoluteTimeout", &s->absolute_ms)
           < 0)
    {
        return -1;
    }

    s->type = (type == 1) ? GM_SESSION_HEADER : GM_SESSION_COOKIE;

    if (s->type == GM_SESSION_HEADER) {
        if (cookie != NULL || gm_field(sp, "cookieConfig") != NULL) {
            return gm_reject(ctx, "cookie", "is only allowed with type "
                             "Cookie");
        }

        if (header == NULL && legacy.len == 0) {
            return gm_reject(ctx, "header", "is required with type Header");
        }

        return gm_session_header(ctx, header, &legacy, s);
    }

    if (header != NULL) {
        return gm_reject(ctx, "header", "is only allowed with type Header");
    }

    s->name = legacy;

    return gm_session_cookie(ctx, sp, s);
}


static int
gm_session_header(gm_parse_ctx_t *ctx, json_t *header, const gm_str_t *legacy,
    gm_session_t *s)
{
    int     rc;
    size_t  i, old;

    s->name = *legacy;

    if (header != NULL) {
        old = gm_path_push(ctx, "header");

        rc = gm_session_name(ctx, header, "name", &s->name);

        if (rc < 0) {
            return -1;
        }

        if (rc == 0 && legacy->len == 0) {
            return gm_reject(ctx, "name", "is required");
        }

        if (rc == 1 && legacy->len && !gm_str_eq(&s->name, legacy)) {
            return gm_reject(ctx, "name", "differs from sessionName");
        }

        gm_path_pop(ctx, old);
    }

    if (gm_strdup(ctx, &s->lname, s->name.data, s->name.len) != 0) {
        return -1;
    }

    for (i = 0; i < s->lname.len; i++) {
        if (s->lname.data[i] >= 'A' && s->lname.data[i] <= 'Z') {
            s->lname.data[i] |= 0x20;
        }
    }

    return 0;
}


static int
gm_session_cookie(gm_parse_ctx_t *ctx, json_t *sp, gm_session_t *s)
{
    int                       lifetime;
    size_t                    i, old;
    json_t                   *cookie, *conf;
    gm_str_t                  name;
    static const char *const  lifetimes[] = { "Session", "Permanent", NULL };

    lifetime = 0;

    if (gm_get_object(ctx, sp, "cookie", &cookie) != 0
        || gm_get_object(ctx, sp, "cookieConfig", &conf) != 0)
    {
        return -1;
    }

    if (conf != NULL) {
        old = gm_path_push(ctx, "cookieConfig");

        if (gm_get_enum(ctx, conf, "lifetimeType", lifetimes, &lifetime) < 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    if (cookie != NULL) {
        old = gm_path_push(ctx, "cookie");
        name.len = 0;

        if (gm_session_name(ctx, cookie, "name", &name) < 0
            || gm_get_string(ctx, cookie, "path", 1, GM_SESSION_PATH_MAX,
                             &s->path) < 0
            || (conf == NULL
                && gm_get_enum(ctx, cookie, "lifetimeType", lifetimes,
                               &lifetime) < 0))
        {
            return -1;
        }

        if (name.len) {
            if (s->name.len && !gm_str_eq(&s->name, &name)) {
                return gm_reject(ctx, "name", "differs from sessionName");
            }

            s->name = name;
        }

        /* the path goes into Set-Cookie as it is */
        for (i = 0; i < s->path.len; i++) {
            if ((i == 0 && s->path.data[0] != '/')
                || (unsigned char) s->path.data[i] <= 0x20
                || (unsigned char) s->path.data[i] >= 0x7f
                || s->path.data[i] == ';')
            {
                return gm_reject(ctx, "path", "must start with \"/\" and "
                                 "hold no spaces, controls or \";\"");
            }
        }

        gm_path_pop(ctx, old);
    }

    s->permanent = (lifetime == 1);

    if (s->permanent && s->absolute_ms == 0) {
        return gm_reject(ctx, "absoluteTimeout", "is required with "
                         "lifetimeType Permanent");
    }

    return 0;
}


/* CookieName, HeaderName: 1 to 256 token characters; 1 when present */
static int
gm_session_name(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    gm_str_t *out)
{
    int          rc;
    size_t       len;
    const char  *s;

    rc = gm_get_cstr(ctx, obj, key, 1, GM_SESSION_NAME_MAX, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    if (gm_check_name(ctx, key, s, len, GM_NAME_HEADER) != 0
        || gm_strdup(ctx, out, s, len) != 0)
    {
        return -1;
    }

    return 1;
}


/* absoluteTimeout: a GEP-2257 duration of 1s or more; 0 when absent */
static int
gm_session_timeout(gm_parse_ctx_t *ctx, json_t *sp, const char *key,
    int64_t *ms)
{
    int          rc;
    size_t       len;
    int64_t      n;
    const char  *s;

    *ms = 0;

    rc = gm_get_cstr(ctx, sp, key, 1, 64, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    n = gm_duration_parse(s, len);

    if (n < 1000 || n > GM_SESSION_MAX_TIMEOUT_MS) {
        return gm_reject(ctx, key, "must be a duration from 1s to 8760h "
                         "such as \"30m\" (GEP-2257)");
    }

    *ms = n;

    return 1;
}
