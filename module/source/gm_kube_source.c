/*
 * nginx-gamma: the Kubernetes API source: one list+watch loop per resource
 * and namespace, all on one client.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gm_kube_source.h"
#include "gm_kube_watch.h"


/* what the parser may log per second; the rest is counted */
#define GM_KUBE_LOG_BURST  100


struct gm_kube_source_s {
    gm_kube_conf_t      conf;
    gm_kube_env_t       env;
    gm_kube_watch_t   **watches;
    size_t              nwatches;
};


static void gm_kube_source_defaults(gm_kube_conf_t *conf);
static int gm_kube_source_watch(gm_kube_source_t *ks, gm_kind_e kind,
    const char *ns);


gm_kube_source_t *
gm_kube_source_create(const gm_kube_conf_t *conf, gm_store_t *store,
    const gm_log_t *log)
{
    size_t                  n, nns;
    gm_kind_e               kind;
    gm_kube_source_t       *ks;
    gm_kube_client_conf_t   cc;

    ks = calloc(1, sizeof(gm_kube_source_t));
    if (ks == NULL) {
        return NULL;
    }

    /* the strings belong to the configuration, which outlives the thread */
    ks->conf = *conf;
    gm_kube_source_defaults(&ks->conf);

    for (nns = 0; conf->namespaces && conf->namespaces[nns]; nns++) {
        /* void */
    }

    n = GM_KIND_MAX * (nns ? nns : 1);

    ks->watches = calloc(n, sizeof(gm_kube_watch_t *));

    cc.url = conf->url;
    cc.ca_file = conf->ca_file;
    cc.token_file = conf->token_file;
    cc.stall_timeout_ms = ks->conf.stall_timeout_ms;

    ks->env.client = gm_kube_client_create(&cc, log);
    ks->env.store = store;
    ks->env.log = log;
    gm_log_limit_init(&ks->env.limit, log, GM_KUBE_LOG_BURST, 1000);
    ks->env.conf = &ks->conf;
    ks->env.rnd = ((uint64_t) time(NULL) << 32) ^ (uint64_t) getpid()
                  ^ (uint64_t) (uintptr_t) ks;
    ks->env.rnd |= 1;

    if (ks->watches == NULL || ks->env.client == NULL) {
        goto failed;
    }

    for (kind = 0; kind < GM_KIND_MAX; kind++) {
        if (nns == 0) {
            if (gm_kube_source_watch(ks, kind, NULL) != 0) {
                goto failed;
            }

            continue;
        }

        for (n = 0; n < nns; n++) {
            if (gm_kube_source_watch(ks, kind, conf->namespaces[n]) != 0) {
                goto failed;
            }
        }
    }

    return ks;

failed:

    gm_kube_source_destroy(ks);
    return NULL;
}


static void
gm_kube_source_defaults(gm_kube_conf_t *conf)
{
    if (conf->watch_timeout_s == 0) {
        conf->watch_timeout_s = GM_KUBE_WATCH_TIMEOUT_S;
    }

    /* longer than any healthy watch: its end would have come by then */
    if (conf->stall_timeout_ms == 0) {
        conf->stall_timeout_ms = conf->watch_timeout_s * 2000 + 30000;
    }

    /* bookmarks come about once a minute: silence past that is a stall */
    if (conf->watch_idle_timeout_ms == 0) {
        conf->watch_idle_timeout_ms = GM_KUBE_WATCH_IDLE_MS;
    }

    if (conf->backoff_initial_ms == 0) {
        conf->backoff_initial_ms = GM_KUBE_BACKOFF_INITIAL_MS;
    }

    if (conf->backoff_max_ms == 0) {
        conf->backoff_max_ms = GM_KUBE_BACKOFF_MAX_MS;
    }

    if (conf->backoff_initial_ms > conf->backoff_max_ms) {
        conf->backoff_initial_ms = conf->backoff_max_ms;
    }

    if (conf->page_size == 0) {
        conf->page_size = GM_KUBE_PAGE_SIZE;
    }
}


static int
gm_kube_source_watch(gm_kube_source_t *ks, gm_kind_e kind, const char *ns)
{
    gm_kube_watch_t           *w;
    const gm_kube_resource_t  *res;

    res = gm_kube_resource(kind);

    /* nothing reads ReferenceGrants unless they are required */
    if (res == NULL
        || (kind == GM_KIND_REFERENCEGRANT && !ks->conf.reference_grants))
    {
        return 0;
    }

    w = gm_kube_watch_create(&ks->env, res, ns, ks->conf.selectors[kind]
                             ? ks->conf.selectors[kind] : res->selector);
    if (w == NULL) {
        return -1;
    }

    ks->watches[ks->nwatches++] = w;

    return 0;
}


void
gm_kube_source_destroy(gm_kube_source_t *ks)
{
    size_t  i;

    if (ks == NULL) {
        return;
    }

    for (i = 0; i < ks->nwatches; i++) {
        gm_kube_watch_destroy(ks->watches[i]);
    }

    gm_kube_client_destroy(ks->env.client);
    free(ks->watches);
    free(ks);
}


int
gm_kube_source_wait(gm_kube_source_t *ks, int stop_fd, int timeout_ms)
{
    size_t   i;
    int64_t  now, due;

    now = gm_kube_now_ms();

    for (i = 0; i < ks->nwatches; i++) {
        due = gm_kube_watch_due(ks->watches[i]);

        if (due < 0) {
            continue;
        }

        due = due > now ? due - now : 0;

        if (timeout_ms < 0 || due < timeout_ms) {
            timeout_ms = (int) due;
        }
    }

    /* the count of suppressed lines is not held back for long */
    if (ks->env.limit.suppressed && (timeout_ms < 0 || timeout_ms > 1000)) {
        timeout_ms = 1000;
    }

    return gm_kube_client_wait(ks->env.client, stop_fd, timeout_ms);
}


int
gm_kube_source_run(gm_kube_source_t *ks)
{
    size_t   i;
    int64_t  now;

    gm_kube_client_run(ks->env.client);

    now = gm_kube_now_ms();

    for (i = 0; i < ks->nwatches; i++) {
        gm_kube_watch_step(ks->watches[i], now);
    }

    /* what was started gets its first chance at once */
    gm_kube_client_run(ks->env.client);

    gm_log_limit_tick(&ks->env.limit);

    if (ks->env.changed) {
        ks->env.changed = 0;
        return 1;
    }

    return 0;
}


int
gm_kube_source_synced(gm_kube_source_t *ks)
{
    size_t  i;

    for (i = 0; i < ks->nwatches; i++) {
        if (!gm_kube_watch_synced(ks->watches[i])) {
            return 0;
        }
    }

    return 1;
}


void
gm_kube_source_counters(gm_kube_source_t *ks, uint64_t *restarts,
    uint64_t *relists)
{
    *restarts = ks->env.watch_restarts;
    *relists = ks->env.relists;
}
