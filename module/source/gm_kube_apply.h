/*
 * nginx-gamma: what the API server says, applied to the store: the items
 * of a list (deletions included) and the events of a watch.
 */

#ifndef GM_KUBE_APPLY_H
#define GM_KUBE_APPLY_H


#include <jansson.h>

#include "gm_kube_resource.h"
#include "gm_log.h"
#include "gm_store.h"


#define GM_KUBE_RV_MAX  256


/* where the objects come from: one list/watch */
typedef struct {
    gm_store_t                *store;
    const gm_log_t            *log;
    const gm_kube_resource_t  *res;
    const char                *api_version;   /* of the request */
    const char                *ns;            /* NULL: all namespaces */
    const char                *path;          /* for log lines */
} gm_kube_scope_t;

typedef enum {
    GM_KUBE_EVENT_OK = 0,         /* applied, or nothing to apply */
    GM_KUBE_EVENT_EXPIRED,        /* 410: the client must list again */
    GM_KUBE_EVENT_ERROR,          /* another ERROR event (logged) */
    GM_KUBE_EVENT_MALFORMED       /* logged */
} gm_kube_event_e;


/*
 * Makes the scope hold exactly the items (a JSON array): puts what is new
 * or changed and deletes what is gone.  Returns 1 when the store changed.
 */
int gm_kube_apply_list(const gm_kube_scope_t *s, json_t *items);

/*
 * Applies one line of a watch stream.  rv receives the resourceVersion
 * the event carries (bookmarks included), "" when none; *changed is set
 * when the store changed.
 */
gm_kube_event_e gm_kube_apply_event(const gm_kube_scope_t *s,
    const char *line, size_t len, char *rv, int *changed);


#endif /* GM_KUBE_APPLY_H */
