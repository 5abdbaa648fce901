/*
 * nginx-gamma: manifests from a file or a directory, watched with inotify.
 * Runs in the watcher thread only.
 */

#ifndef GM_FILE_SOURCE_H
#define GM_FILE_SOURCE_H


#include "gm_log.h"
#include "gm_store.h"


typedef struct gm_file_source_s  gm_file_source_t;


/* path: a manifest file, or a directory whose *.yaml, *.yml, *.json count */
gm_file_source_t *gm_file_source_create(const char *path, gm_store_t *store,
    const gm_log_t *log);
void gm_file_source_destroy(gm_file_source_t *fs);
/* 1 when what create() would watch can be read (path, or a file's dir) */
int gm_file_source_watchable(const char *path);

/* the inotify descriptor to poll for POLLIN */
int gm_file_source_fd(gm_file_source_t *fs);

/* drains pending inotify events; returns 1 when a rescan is due */
int gm_file_source_drain(gm_file_source_t *fs);

/*
 * Re-reads every file whose identity, size or mtime changed, and drops the
 * objects of vanished files.  Returns 1 when the store changed.
 */
int gm_file_source_scan(gm_file_source_t *fs);

/* 1 once every manifest file was read and parsed at least once */
int gm_file_source_synced(gm_file_source_t *fs);


#endif /* GM_FILE_SOURCE_H */
