/*
 * nginx-gamma: the request path's side of policies: the settings that
 * the compiler resolved for a client namespace.  A binary search, and
 * only where consumer policies exist.
 */

#include <stddef.h>

#include "gm_snapshot_int.h"


const gm_effective_t *
gm_policy_set_effective(const gm_policy_set_t *p, const char *ns,
    size_t ns_len)
{
    int     c;
    size_t  lo, hi, mid;

    if (p == NULL) {
        return NULL;
    }

    lo = 0;
    hi = (ns != NULL) ? p->nns : 0;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = gm_str_cmp(ns, ns_len, p->ns[mid].data, p->ns[mid].len);

        if (c == 0) {
            return p->by_ns[mid];
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return p->all;
}
