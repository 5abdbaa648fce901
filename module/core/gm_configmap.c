/*
 * nginx-gamma: a ConfigMap (v1), read for the CA bundle a BackendTLSPolicy
 * names: only data["ca.crt"] is kept.
 */

#include <stdint.h>
#include <string.h>

#include "gm_parse_int.h"


int
gm_configmap_parse(gm_parse_ctx_t *ctx, json_t *json, gm_object_body_t *body)
{
    json_t          *data;
    gm_configmap_t  *cm;

    cm = &body->configmap;

    if (gm_get_object(ctx, json, "data", &data) != 0) {
        return -1;
    }

    if (data == NULL) {
        cm->ca_crt.data = (char *) "";
        return 0;
    }

    (void) gm_path_push(ctx, "data");

    if (gm_get_string(ctx, data, "ca.crt", 0, GM_MAX_CA_BUNDLE, &cm->ca_crt)
        < 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}
