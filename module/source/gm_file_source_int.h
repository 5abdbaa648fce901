/*
 * nginx-gamma: the file source's private structures, shared by its two
 * halves: gm_file_source.c (which files, when they are read) and
 * gm_file_objects.c (which file's version of an object is used).
 */

#ifndef GM_FILE_SOURCE_INT_H
#define GM_FILE_SOURCE_INT_H


#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "gm_arena.h"
#include "gm_file_notify.h"
#include "gm_file_source.h"


/*
 * A key: kind, namespace and name.  The name follows the namespace and
 * its NUL (gm_file_key_name()): 24 bytes a key, not 32 (memory, issue
 * 12).  While a file is read, the names of its keys are in the load's
 * arena; once the keys are sorted, all of them are in the keys' own
 * block, after the array, and the arena goes: no small allocation a key
 * is left behind, freed among the objects the read put in the store,
 * where its page stays (about 30,000 such holes of 32 bytes at 10,000
 * Services, 0.8 MB, before).
 */
typedef struct {
    char       *ns;
    uint64_t    hash;               /* of the document, JSON with keys sorted */
    unsigned    kind:8;             /* gm_kind_e */
    unsigned    owner:1;            /* this file's version is the one used */
    unsigned    again:1;            /* a previous key seen in this read */
} gm_file_key_t;

/* what tells a changed file from an unchanged one */
typedef struct {
    dev_t            dev;
    ino_t            ino;
    off_t            size;
    struct timespec  mtime;
    struct timespec  ctime;
} gm_file_stat_t;

typedef struct gm_file_s  gm_file_t;

struct gm_file_s {
    gm_file_t      *next;
    char           *path;
    const char     *name;           /* in path: the name in the directory */
    gm_file_stat_t  read;           /* what was last read successfully */
    gm_file_stat_t  seen_as;        /* what the last scan found */
    int64_t         seen_since;     /* ... unchanged since then */
    int64_t         gone_since;     /* not found since then, or -1 */
    gm_file_key_t  *keys;
    size_t          nkeys;
    gm_arena_t     *names;          /* the keys' names if not in their block */
    unsigned        seen:1;
    unsigned        loaded:1;       /* "read" is valid */
    unsigned        failed:1;       /* the last read failed: retried */
    unsigned        parsed:1;       /* read and parsed once: synced */
    unsigned        stale:1;        /* re-read: it shares a dropped key */
};

struct gm_file_source_s {
    char              *path;
    char              *dir;         /* watched directory */
    char              *only;        /* file name when path is a file */
    gm_file_notify_t  *notify;
    gm_store_t        *store;
    const gm_log_t    *log;
    gm_log_limit_t     limit;       /* the parser's log */
    gm_file_t         *files;
    unsigned           scanned:1;   /* the first scan is done */
    unsigned           dir_failed:1;
};

typedef struct {
    gm_file_source_t  *fs;
    gm_file_t         *file;
    gm_file_key_t     *keys;
    size_t             nkeys;
    size_t             cap;
    gm_arena_t        *names;       /* the keys' names until sorted */
    int                changed;
} gm_file_load_t;



void gm_file_doc(void *data, json_t *doc, size_t index);
/* sorts the keys of a load and reports an object it holds twice */
void gm_file_keys_sort(gm_file_load_t *ld);
/* keys must be sorted */
gm_file_key_t *gm_file_keys_find(gm_file_key_t *keys, size_t n,
    gm_file_key_t *key);
/* the keys and the arena of their names if any */
void gm_file_keys_free(gm_file_key_t *keys, gm_arena_t *names);
/* the key's name: after its namespace */
const char *gm_file_key_name(const gm_file_key_t *key);
/* the file's objects leave: returns 1 when the store changed */
int gm_file_drop(gm_file_source_t *fs, gm_file_t *f);
int gm_file_forget(gm_file_source_t *fs, gm_file_t *f, gm_file_key_t *key);


#endif /* GM_FILE_SOURCE_INT_H */
