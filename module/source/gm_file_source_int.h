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

#include "gm_file_notify.h"
#include "gm_file_source.h"


/* a key looked for, or a key's names */
typedef struct {
    unsigned      kind;             /* gm_kind_e */
    const char   *ns;
    const char   *name;
} gm_file_name_t;

/*
 * A key: kind, namespace and name.  Its names, "ns\0name\0", are at an
 * offset into the names of its set (gm_file_key_names()): 16 bytes a key
 * (memory, issue 12).  While a file is read, the names of its keys are
 * appended to the load's buffer; once the keys are sorted, the array and
 * the names are one block, the names after the array, and the buffer
 * goes: no small allocation a key is left behind, freed among the
 * objects the read put in the store, where its page stays (about 30,000
 * such holes of 32 bytes at 10,000 Services, 0.8 MB, before).
 */
typedef struct {
    uint64_t    hash;               /* of the document, JSON with keys sorted */
    uint32_t    names;              /* offset in the set's names */
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
    char           *names;          /* the keys' names if not in their block */
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
    char              *names;       /* the keys' names until packed */
    size_t             names_len;
    size_t             names_cap;
    int                changed;
} gm_file_load_t;



void gm_file_doc(void *data, json_t *doc, size_t index);
/* sorts the keys of a load and reports an object it holds twice */
void gm_file_keys_sort(gm_file_load_t *ld);
/* keys must be sorted; base: their names */
gm_file_key_t *gm_file_keys_find(gm_file_key_t *keys, size_t n,
    const char *base, const gm_file_name_t *key);
/* the keys and their names' buffer if any */
void gm_file_keys_free(gm_file_key_t *keys, char *names);
/* a key's names in the names of its set (base) */
gm_file_name_t gm_file_key_names(const char *base, const gm_file_key_t *key);
/* the names of a file's keys, of a load's */
const char *gm_file_names(const gm_file_t *f);
const char *gm_file_load_names(const gm_file_load_t *ld);
/* the file's objects leave: returns 1 when the store changed */
int gm_file_drop(gm_file_source_t *fs, gm_file_t *f);
int gm_file_forget(gm_file_source_t *fs, gm_file_t *f, gm_file_key_t *key);


#endif /* GM_FILE_SOURCE_INT_H */
