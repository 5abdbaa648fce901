/*
 * nginx-gamma: the source layer's entry points for the nginx glue.
 */

#include <stddef.h>

#include "gm_kube_auth.h"
#include "gm_kube_resource.h"
#include "gm_source.h"


char *
gm_source_read_small_file(const char *path, size_t max)
{
    return gm_kube_read_file(path, max);
}


int
gm_source_kind_by_resource(const char *plural)
{
    const gm_kube_resource_t  *res;

    res = gm_kube_resource_by_plural(plural);

    return (res != NULL) ? (int) res->kind : -1;
}


const char *
gm_source_default_selector(int kind)
{
    const gm_kube_resource_t  *res;

    res = gm_kube_resource((gm_kind_e) kind);

    return (res != NULL) ? res->selector : NULL;
}
