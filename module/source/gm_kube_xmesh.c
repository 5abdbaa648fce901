/*
 * nginx-gamma: the XMesh object (gateway.networking.x-k8s.io/v1alpha1,
 * cluster-scoped) named nginx-gamma: the holder creates it when absent
 * and writes status.supportedFeatures, the Mesh features the tests prove,
 * sorted by name.  An XMesh of another controller is left alone; a
 * cluster without the CRD gets one log line.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_kube_status_int.h"


#define GM_XMESH_API  "/apis/gateway.networking.x-k8s.io/v1alpha1/xmeshes"


typedef enum {
    GM_XMESH_READ = 0,
    GM_XMESH_CREATE,
    GM_XMESH_WRITE,
    GM_XMESH_DONE
} gm_xmesh_state_e;

struct gm_status_xmesh_s {
    gm_kube_client_t   *client;
    const gm_log_t     *log;
    gm_kube_req_t      *req;
    gm_xmesh_state_e    state;
    int64_t             next_ms;
};


static void gm_status_xmesh_got(void *data, gm_kube_result_t *res);
static void gm_status_xmesh_created(void *data, gm_kube_result_t *res);
static void gm_status_xmesh_status(gm_status_xmesh_t *x, json_t *obj);
static void gm_status_xmesh_wrote(void *data, gm_kube_result_t *res);
static json_t *gm_status_xmesh_features(void);
static void gm_status_xmesh_failed(gm_status_xmesh_t *x, const char *what,
    gm_kube_result_t *res);


/* what the suite would run and our tests prove; sorted, no duplicates */
static const char *const  gm_status_features[] = {
    "GRPCRoute",
    "GRPCRouteNamedRouteRule",
    "GRPCRouteRequestHeaderModifier",
    "HTTPRoute",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteParentRefPort",
    "HTTPRouteResponseHeaderModification",
    "Mesh",
    "MeshClusterIPMatching",
    "MeshConsumerRoute",
    "MeshHTTPRouteBackendRequestHeaderModification",
    "MeshHTTPRouteNamedRouteRule",
    "MeshHTTPRouteQueryParamMatching",
    "MeshHTTPRouteRedirectPath",
    "MeshHTTPRouteRedirectPort",
    "MeshHTTPRouteRewritePath",
    "MeshHTTPRouteSchemeRedirect",
    NULL
};


gm_status_xmesh_t *
gm_status_xmesh_create(gm_kube_client_t *c, const gm_log_t *log)
{
    gm_status_xmesh_t  *x;

    x = calloc(1, sizeof(gm_status_xmesh_t));
    if (x == NULL) {
        return NULL;
    }

    x->client = c;
    x->log = log;
    x->state = GM_XMESH_DONE;

    return x;
}


void
gm_status_xmesh_destroy(gm_status_xmesh_t *x)
{
    if (x) {
        if (x->req) {
            gm_kube_request_cancel(x->req);
        }

        free(x);
    }
}


void
gm_status_xmesh_reset(gm_status_xmesh_t *x)
{
    x->state = GM_XMESH_READ;
    x->next_ms = 0;
}


int
gm_status_xmesh_run(gm_status_xmesh_t *x)
{
    if (x->state == GM_XMESH_DONE) {
        return 0;
    }

    if (x->req == NULL && gm_kube_now_ms() >= x->next_ms) {
        x->req = gm_kube_request(x->client, GM_XMESH_API "/"
                                 GM_STATUS_XMESH_NAME, NULL,
                                 gm_status_xmesh_got, x);
    }

    return 1;
}


static void
gm_status_xmesh_got(void *data, gm_kube_result_t *res)
{
    char               *body;
    json_t             *obj;
    const char         *ctl;
    gm_status_xmesh_t  *x = data;

    x->req = NULL;

    if (res->code == 0 && res->status == 404) {
        body = NULL;
        obj = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion",
                        "gateway.networking.x-k8s.io/v1alpha1", "kind",
                        "XMesh", "metadata", "name", GM_STATUS_XMESH_NAME,
                        "spec", "controllerName", GM_STATUS_CONTROLLER);
        if (obj) {
            body = json_dumps(obj, JSON_COMPACT);
            json_decref(obj);
        }

        if (body) {
            x->req = gm_kube_request_body(x->client, "POST", GM_XMESH_API,
                                          body, gm_status_xmesh_created, x);
            free(body);
        }

        return;
    }

    if (res->code != 0 || res->status != 200) {
        gm_status_xmesh_failed(x, "reading", res);
        return;
    }

    obj = json_loadb(res->body, res->body_len, 0, NULL);
    ctl = json_string_value(json_object_get(json_object_get(obj, "spec"),
                                            "controllerName"));

    if (ctl == NULL || strcmp(ctl, GM_STATUS_CONTROLLER) != 0) {
        gm_log(x->log, GM_LOG_WARN, "status: XMesh %s belongs to \"%s\", "
               "left alone", GM_STATUS_XMESH_NAME, ctl ? ctl : "");
        x->state = GM_XMESH_DONE;
        json_decref(obj);
        return;
    }

    gm_status_xmesh_status(x, obj);
    json_decref(obj);
}


static void
gm_status_xmesh_created(void *data, gm_kube_result_t *res)
{
    json_t             *obj;
    gm_status_xmesh_t  *x = data;

    x->req = NULL;

    if (res->code == 0 && res->status == 404) {
        gm_log(x->log, GM_LOG_NOTICE, "status: no XMesh CRD in the cluster, "
               "supported features not published");
        x->state = GM_XMESH_DONE;
        return;
    }

    if (res->code != 0 || res->status != 201) {
        gm_status_xmesh_failed(x, "creating", res);
        return;
    }

    gm_log(x->log, GM_LOG_NOTICE, "status: XMesh %s created",
           GM_STATUS_XMESH_NAME);

    obj = json_loadb(res->body, res->body_len, 0, NULL);
    gm_status_xmesh_status(x, obj);
    json_decref(obj);
}


static void
gm_status_xmesh_status(gm_status_xmesh_t *x, json_t *obj)
{
    char    *body;
    json_t  *status, *features;

    status = json_object_get(obj, "status");
    features = gm_status_xmesh_features();

    if (features == NULL || !json_is_object(obj)) {
        json_decref(features);
        x->state = GM_XMESH_DONE;
        return;
    }

    if (json_equal(json_object_get(status, "supportedFeatures"), features)) {
        json_decref(features);
        x->state = GM_XMESH_DONE;
        return;
    }

    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(obj, "status", status);
    }

    json_object_set_new(status, "supportedFeatures", features);

    body = json_dumps(obj, JSON_COMPACT);
    if (body == NULL) {
        return;
    }

    x->state = GM_XMESH_WRITE;
    x->req = gm_kube_request_body(x->client, "PUT",
                                  GM_XMESH_API "/" GM_STATUS_XMESH_NAME
                                  "/status", body, gm_status_xmesh_wrote, x);
    free(body);
}


static void
gm_status_xmesh_wrote(void *data, gm_kube_result_t *res)
{
    gm_status_xmesh_t  *x = data;

    x->req = NULL;

    if (res->code != 0 || res->status != 200) {
        /* a 409 too: read it again */
        gm_status_xmesh_failed(x, "writing", res);
        return;
    }

    x->state = GM_XMESH_DONE;
}


static json_t *
gm_status_xmesh_features(void)
{
    size_t   i;
    json_t  *a;

    a = json_array();

    for (i = 0; a && gm_status_features[i]; i++) {
        json_array_append_new(a, json_pack("{s:s}", "name",
                                           gm_status_features[i]));
    }

    return a;
}


static void
gm_status_xmesh_failed(gm_status_xmesh_t *x, const char *what,
    gm_kube_result_t *res)
{
    if (res->status != 409) {
        gm_log(x->log, GM_LOG_WARN, "status: %s XMesh %s failed: %s %ld",
               what, GM_STATUS_XMESH_NAME, res->code ? res->error : "HTTP",
               res->status);
    }

    x->state = GM_XMESH_READ;
    x->next_ms = gm_kube_now_ms() + GM_STATUS_RETRY_MS;
}
