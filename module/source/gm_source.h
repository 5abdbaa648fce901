/*
 * nginx-gamma: what the nginx glue may use of the source layer.  The glue
 * includes this header only: the watcher (source, store and compiler in
 * one thread), the Kubernetes source's configuration and the defaults.
 */

#ifndef GM_SOURCE_H
#define GM_SOURCE_H


#include "gm_kube_source.h"
#include "gm_watcher.h"


/*
 * The defaults and limits of the source layer, in one place.  The
 * Kubernetes source's own (watch timeout, backoff, page size) are in
 * gm_kube_source.h next to the configuration they default.
 */

/*
 * A change (an API event, a manifest read) is published at once, but a
 * burst of them makes at most one snapshot per interval: what comes
 * meanwhile waits for it
 */
#define GM_SOURCE_KUBE_INTERVAL_MS     50
#define GM_SOURCE_FILE_INTERVAL_MS     50
/* an unreadable file source is tried again this often */
#define GM_SOURCE_FILE_RETRY_MS        1000
/* a source that cannot be watched is said once in this many retries */
#define GM_SOURCE_FILE_RETRY_LOG       60
/* a Kubernetes namespace name is a DNS label, its file a few bytes more */
#define GM_SOURCE_NAMESPACE_FILE_MAX   253


/*
 * Reads a small file whole (a service account's namespace), surrounding
 * whitespace trimmed.  Returns a malloc()ed string, or NULL with errno.
 */
char *gm_source_read_small_file(const char *path, size_t max);

/* the object kind of an API resource plural ("services"), or -1 */
int gm_source_kind_by_resource(const char *plural);
/* the label selector a kind is listed with unless configured, or NULL */
const char *gm_source_default_selector(int kind);


#endif /* GM_SOURCE_H */
