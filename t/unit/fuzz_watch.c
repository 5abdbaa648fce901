/*
 * nginx-gamma: libFuzzer target for the Kubernetes watch stream: the
 * client's line splitter (gm_kube_client.c, included for its static
 * functions) handing events that arrive in arbitrary chunks to
 * gm_kube_apply_event(), as a watch does, then a compile of what the store
 * holds.  Bookmarks, ERROR events (410 and others) and malformed lines
 * end the stream the way they end a watch.
 *
 * Input: byte 0 picks the resource (bits 0-1) and whether the first line
 * is a list page applied with gm_kube_apply_list() (bit 2); byte 1 seeds
 * the chunk sizes (1..64 bytes); the rest is the response body.
 */


#include "../../module/source/gm_kube_client.c"

#include "gm_kube_apply.h"
#include "gm_snapshot.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    gm_kube_scope_t  scope;
    unsigned         changed;
    unsigned         events;
} fuzz_watch_t;


static void
fuzz_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    (void) level;

    *(size_t *) data += strlen(msg);
}


static int
fuzz_line(void *data, char *line, size_t len)
{
    fuzz_watch_t  *fw = data;

    int              changed;
    char             rv[GM_KUBE_RV_MAX];
    gm_kube_event_e  rc;

    rc = gm_kube_apply_event(&fw->scope, line, len, rv, &changed);

    if (strlen(rv) >= GM_KUBE_RV_MAX) {
        __builtin_trap();
    }

    fw->changed |= changed;
    fw->events++;

    return rc != GM_KUBE_EVENT_OK;
}


static void
fuzz_list(fuzz_watch_t *fw, const char *body, size_t len)
{
    json_t        *root, *items;
    json_error_t   err;

    root = json_loadb(body, len, 0, &err);
    if (root == NULL) {
        return;
    }

    items = json_object_get(root, "items");

    if (json_is_array(items)) {
        fw->changed |= gm_kube_apply_list(&fw->scope, items);
    }

    json_decref(root);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          logged, n, off;
    uint32_t        rnd;
    gm_log_t        log;
    gm_store_t     *store;
    const char     *nl;
    fuzz_watch_t    fw;
    gm_kube_req_t   r;
    gm_snapshot_t  *s;

    static const gm_kind_e  kinds[] = {
        GM_KIND_SERVICE, GM_KIND_ENDPOINTSLICE, GM_KIND_HTTPROUTE,
        GM_KIND_SERVICE
    };

    if (size < 2) {
        return 0;
    }

    logged = 0;
    log.handler = fuzz_log_handler;
    log.data = &logged;

    store = gm_store_create();
    if (store == NULL) {
        return 0;
    }

    memset(&fw, 0, sizeof(fw));
    fw.scope.store = store;
    fw.scope.log = &log;
    fw.scope.res = gm_kube_resource(kinds[data[0] & 3]);
    fw.scope.api_version = (data[0] & 3) == 1 ? "discovery.k8s.io/v1"
                           : (data[0] & 3) == 2
                           ? "gateway.networking.k8s.io/v1" : "v1";
    fw.scope.ns = (data[0] & 8) ? "prod" : NULL;
    fw.scope.path = "/fuzz";

    rnd = data[1] | 1;
    data += 2;
    size -= 2;

    if ((data[-2] & 4) && (nl = memchr(data, '\n', size)) != NULL) {
        fuzz_list(&fw, (const char *) data, nl - (const char *) data);
        size -= nl + 1 - (const char *) data;
        data = (const uint8_t *) nl + 1;
    }

    memset(&r, 0, sizeof(r));
    r.line = fuzz_line;
    r.data = &fw;

    for (off = 0; off < size; off += n) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 17;
        rnd ^= rnd << 5;
        n = 1 + rnd % 64;

        if (n > size - off) {
            n = size - off;
        }

        if (gm_kube_append(&r, (const char *) data + off, n,
                           GM_KUBE_MAX_EVENT) != 0
            || gm_kube_split(&r) != 0)
        {
            break;
        }
    }

    free(r.buf);

    if (fw.changed) {
        s = gm_snapshot_build(store, &log);
        if (s != NULL) {
            gm_snapshot_unref(s);
        }
    }

    gm_store_destroy(store);

    return 0;
}
