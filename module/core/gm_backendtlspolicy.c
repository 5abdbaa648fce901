/*
 * nginx-gamma: parsing a BackendTLSPolicy (gateway.networking.k8s.io v1,
 * also v1alpha3): the Service (port) it targets, the hostname used as SNI
 * and verified, the CA (ConfigMaps or the system's) and subjectAltNames.
 * A CA reference that cannot be used is kept: requests to the backend
 * then fail (spec 1.15), they never go out in plain text.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_btls_validation_parse(gm_parse_ctx_t *ctx, json_t *val,
    gm_backendtlspolicy_t *p);
static int gm_btls_ca_refs_parse(gm_parse_ctx_t *ctx, json_t *val,
    gm_backendtlspolicy_t *p);
static int gm_btls_sans_parse(gm_parse_ctx_t *ctx, json_t *val,
    gm_backendtlspolicy_t *p);
static int gm_btls_san_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_san_t *san);


int
gm_backendtlspolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    json_t                 *spec, *val;
    gm_backendtlspolicy_t  *p;

    p = &body->backendtlspolicy;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    if (spec == NULL) {
        return gm_reject(ctx, "spec", "is required");
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_policy_targets_parse(ctx, spec, 0, &p->targets, &p->ntargets) != 0
        || gm_get_object(ctx, spec, "validation", &val) != 0)
    {
        return -1;
    }

    if (val == NULL) {
        return gm_reject(ctx, "validation", "is required");
    }

    (void) gm_path_push(ctx, "validation");

    if (gm_btls_validation_parse(ctx, val, p) != 0) {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_btls_validation_parse(gm_parse_ctx_t *ctx, json_t *val,
    gm_backendtlspolicy_t *p)
{
    int          rc;
    size_t       len;
    const char  *s;

    if (gm_get_name(ctx, val, "hostname", GM_NAME_PRECISE_HOSTNAME,
                    GM_REQUIRED, &p->hostname) < 0
        || gm_btls_ca_refs_parse(ctx, val, p) != 0
        || gm_btls_sans_parse(ctx, val, p) != 0)
    {
        return -1;
    }

    rc = gm_get_cstr(ctx, val, "wellKnownCACertificates", 1, 253, &s, &len);
    if (rc < 0) {
        return -1;
    }

    if (rc == 1) {
        if (len != 6 || memcmp(s, "System", 6) != 0) {
            return gm_reject(ctx, "wellKnownCACertificates", "only "
                             "\"System\" is supported");
        }

        p->system_ca = 1;
    }

    if (p->system_ca == (p->nca_refs != 0)) {
        return gm_reject(ctx, NULL, "exactly one of caCertificateRefs or "
                         "wellKnownCACertificates must be specified");
    }

    return 0;
}


static int
gm_btls_ca_refs_parse(gm_parse_ctx_t *ctx, json_t *val,
    gm_backendtlspolicy_t *p)
{
    size_t      i, n, old;
    json_t     *refs, *item;
    gm_str_t    group, kind;

    if (gm_get_array(ctx, val, "caCertificateRefs", GM_MAX_CA_REFS, &refs)
        != 0)
    {
        return -1;
    }

    n = json_array_size(refs);
    if (n == 0) {
        return 0;
    }

    p->ca_refs = gm_alloc(ctx, n, sizeof(gm_str_t));
    if (p->ca_refs == NULL) {
        return -1;
    }

    p->nca_refs = n;

    json_array_foreach(refs, i, item) {
        old = gm_path_push(ctx, "caCertificateRefs[%zu]", i);

        if (gm_check_object(ctx, item) != 0
            || gm_get_name_def(ctx, item, "group", GM_NAME_GROUP, "", &group)
               != 0
            || gm_get_name(ctx, item, "kind", GM_NAME_KIND, GM_REQUIRED,
                           &kind) < 0
            || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, GM_REQUIRED,
                           &p->ca_refs[i]) < 0)
        {
            return -1;
        }

        if (group.len != 0 || !gm_str_eq_cstr(&kind, "ConfigMap")) {
            p->bad_ca_kind = 1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_btls_sans_parse(gm_parse_ctx_t *ctx, json_t *val, gm_backendtlspolicy_t *p)
{
    size_t   i, n, old;
    json_t  *arr, *item;

    if (gm_get_array(ctx, val, "subjectAltNames", GM_MAX_SANS, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    p->sans = gm_alloc(ctx, n, sizeof(gm_san_t));
    if (p->sans == NULL) {
        return -1;
    }

    p->nsans = n;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "subjectAltNames[%zu]", i);

        if (gm_check_object(ctx, item) != 0
            || gm_btls_san_parse(ctx, item, &p->sans[i]) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_btls_san_parse(gm_parse_ctx_t *ctx, json_t *item, gm_san_t *san)
{
    int                       type;
    static const char *const  types[] = { "Hostname", "URI", NULL };

    if (gm_get_enum(ctx, item, "type", types, &type) < 0) {
        return -1;
    }

    if (gm_field(item, "type") == NULL) {
        return gm_reject(ctx, "type", "is required");
    }

    san->type = (gm_san_type_e) type;

    if (san->type == GM_SAN_HOSTNAME) {
        if (gm_field(item, "uri") != NULL) {
            return gm_reject(ctx, "uri", "must not be set with type "
                             "Hostname");
        }

        return gm_get_name(ctx, item, "hostname", GM_NAME_HOSTNAME,
                           GM_REQUIRED, &san->value) < 0 ? -1 : 0;
    }

    if (gm_field(item, "hostname") != NULL) {
        return gm_reject(ctx, "hostname", "must not be set with type URI");
    }

    if (gm_get_string(ctx, item, "uri", 1, GM_MAX_SAN_URI, &san->value) < 0)
    {
        return -1;
    }

    if (san->value.len == 0) {
        return gm_reject(ctx, "uri", "is required");
    }

    if (strstr(san->value.data, "://") == NULL) {
        return gm_reject(ctx, "uri", "must be an absolute URI such as "
                         "\"spiffe://cluster.local/ns/x/sa/y\"");
    }

    return 0;
}
