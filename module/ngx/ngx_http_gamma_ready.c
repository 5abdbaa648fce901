/*
 * nginx-gamma: "gamma_ready;", for a readiness probe: 200 once every
 * worker serves a snapshot of a complete sync, else 503 and one line
 * saying why.  Each worker says which generation it serves in its row
 * of the metrics zone.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_metrics.h"


static ngx_uint_t ngx_http_gamma_unsynced(ngx_http_gamma_metrics_sh_t *sh,
    ngx_atomic_t *pid, ngx_uint_t *live);
static ngx_uint_t ngx_http_gamma_workers_expected(void);


/*
 * 200 once every worker serves a snapshot of a complete sync: the file
 * source read once, every Kubernetes resource listed once.
 */
ngx_int_t
ngx_http_gamma_ready_handler(ngx_http_request_t *r)
{
    ngx_uint_t                           live, want;
    ngx_atomic_t                         pid;
    gm_snapshot_t                       *s;
    ngx_http_gamma_out_t                 out;
    const gm_source_stats_t             *st;
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_metrics_module);
    s = ngx_http_gamma_metrics_snapshot(r);
    st = s ? gm_snapshot_stats(s) : NULL;

    ngx_http_gamma_out_init(&out, r->pool);

    live = 0;
    want = ngx_http_gamma_workers_expected();

    if (st == NULL) {
        ngx_http_gamma_out(&out, "not ready: no mesh state yet\n");

    } else if (!st->synced) {
        ngx_http_gamma_out(&out, "not ready: a manifest of the source "
                           "could not be read yet (see the error log)\n");

    } else if (mmcf->sh && ngx_http_gamma_unsynced(mmcf->sh, &pid, &live)) {
        ngx_http_gamma_out(&out, "not ready: worker %uA serves no "
                           "complete sync yet\n", (ngx_atomic_uint_t) pid);

    } else if (mmcf->sh && live < want) {
        ngx_http_gamma_out(&out, "not ready: %ui of %ui workers serve the "
                           "mesh\n", live, want);

    } else {
        ngx_http_gamma_out(&out, "ready: generation %uL\n", st->generation);
        return ngx_http_gamma_out_send(r, &out, NGX_HTTP_OK, "text/plain");
    }

    return ngx_http_gamma_out_send(r, &out, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "text/plain");
}


/* live workers without a synced snapshot, one of them in *pid */
static ngx_uint_t
ngx_http_gamma_unsynced(ngx_http_gamma_metrics_sh_t *sh, ngx_atomic_t *pid,
    ngx_uint_t *live)
{
    ngx_uint_t     i, n;
    ngx_atomic_t   p;

    n = 0;
    *live = 0;

    for (i = 1; i < NGX_HTTP_GAMMA_METRICS_ROWS; i++) {
        p = sh->rows[i].pid;

        if (p == 0 || (kill((pid_t) p, 0) == -1 && ngx_errno == NGX_ESRCH)) {
            continue;
        }

        if (sh->rows[i].generation == 0 || !sh->rows[i].synced) {
            *pid = p;
            n++;

        } else {
            (*live)++;
        }
    }

    return n;
}


/* a worker not started yet has no row: count the ones there should be */
static ngx_uint_t
ngx_http_gamma_workers_expected(void)
{
    ngx_core_conf_t  *ccf;

    if (ngx_process != NGX_PROCESS_WORKER) {
        return 1;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    return ngx_min((ngx_uint_t) ccf->worker_processes,
                   NGX_HTTP_GAMMA_METRICS_ROWS - 1);
}
