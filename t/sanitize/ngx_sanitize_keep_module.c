/*
 * nginx-gamma: a test-only nginx module that make test-asan loads next to
 * the module under test; it changes no behaviour.
 *
 * A worker (and a master_process off nginx) destroys its cycle pool when
 * it exits, but never frees the connection, read and write event arrays
 * ngx_event_process_init() took with ngx_alloc(): the process exits.  Once
 * the pool is gone nothing points to them, and LeakSanitizer reports
 * them, with a stack only of stripped nginx frames that no suppression can
 * name.  This module keeps a pointer to each in a global in exit_process,
 * which runs just before the pool is destroyed: the arrays stay reachable,
 * as they were all along.
 *
 * The same for the pool nginx's main() creates for its first cycle: when
 * the configuration fails (a must_die test) main() returns without
 * destroying it.  create_conf, which runs as soon as load_module has
 * loaded us, keeps a pointer to the old cycle's pool.
 *
 * Every report left is a real one.
 */

#include <ngx_config.h>
#include <ngx_core.h>


static void *ngx_sanitize_keep_create_conf(ngx_cycle_t *cycle);
static void ngx_sanitize_keep_exit_process(ngx_cycle_t *cycle);


static ngx_core_module_t  ngx_sanitize_keep_module_ctx = {
    ngx_string("sanitize_keep"),
    ngx_sanitize_keep_create_conf,
    NULL
};


ngx_module_t  ngx_sanitize_keep_module = {
    NGX_MODULE_V1,
    &ngx_sanitize_keep_module_ctx,         /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_sanitize_keep_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_module_t  *ngx_modules[] = { &ngx_sanitize_keep_module, NULL };
char          *ngx_module_names[] = { "ngx_sanitize_keep_module", NULL };
char          *ngx_module_order[] = { NULL };


/* volatile: the compiler must store them */
void * volatile  ngx_sanitize_keep[4];


static void *
ngx_sanitize_keep_create_conf(ngx_cycle_t *cycle)
{
    static ngx_uint_t  conf;

    if (cycle->old_cycle != NULL) {
        ngx_sanitize_keep[3] = cycle->old_cycle->pool;
    }

    return &conf;
}


static void
ngx_sanitize_keep_exit_process(ngx_cycle_t *cycle)
{
    ngx_sanitize_keep[0] = cycle->connections;
    ngx_sanitize_keep[1] = cycle->read_events;
    ngx_sanitize_keep[2] = cycle->write_events;
}
