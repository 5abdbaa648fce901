/*
 * nginx-gamma: manifests from a file or a directory, watched with inotify.
 *
 * Every change rescans the directory and compares each file's inode, size
 * and mtime: that also catches the symlink swap Kubernetes uses to update a
 * mounted ConfigMap.  A file that fails to parse keeps its previous objects,
 * and so does an object that turns invalid in an edit: the last good state
 * keeps serving until the file is fixed or removed.
 */

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm_file_source.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"


#define GM_FILE_MAX_SIZE  (64 * 1024 * 1024)


typedef struct {
    gm_kind_e   kind;
    char       *ns;
    char       *name;
} gm_file_key_t;

typedef struct gm_file_s  gm_file_t;

struct gm_file_s {
    gm_file_t      *next;
    char           *path;
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtime;
    gm_file_key_t  *keys;
    size_t          nkeys;
    unsigned        seen:1;
    unsigned        stale:1;        /* re-read: it shares a dropped key */
};

struct gm_file_source_s {
    char           *path;
    char           *dir;           /* watched directory */
    char           *only;          /* file name when path is a file */
    int             ifd;
    gm_store_t     *store;
    const gm_log_t *log;
    gm_file_t      *files;
};

typedef struct {
    gm_file_source_t  *fs;
    gm_file_t         *file;
    gm_file_key_t     *keys;
    size_t             nkeys;
    size_t             cap;
    int                changed;
    int                failed;
} gm_file_load_t;


static int gm_file_source_watch(gm_file_source_t *fs);
static int gm_file_wanted(const char *name);
static int gm_file_scan_dir(gm_file_source_t *fs);
static int gm_file_scan_one(gm_file_source_t *fs, const char *path);
static gm_file_t *gm_file_find(gm_file_source_t *fs, const char *path);
static int gm_file_load(gm_file_source_t *fs, gm_file_t *f);
static char *gm_file_read(gm_file_source_t *fs, const char *path,
    size_t *len);
static void gm_file_doc(void *data, json_t *doc, size_t index);
static int gm_file_keys_add(gm_file_load_t *ld, gm_kind_e kind,
    const char *ns, const char *name);
static int gm_file_keys_has(gm_file_key_t *keys, size_t n,
    gm_file_key_t *key);
static int gm_file_key_cmp(const void *one, const void *two);
static void gm_file_keys_sort(gm_file_load_t *ld);
static void gm_file_keys_free(gm_file_key_t *keys, size_t n);
static int gm_file_drop(gm_file_source_t *fs, gm_file_t *f);
static int gm_file_forget(gm_file_source_t *fs, gm_file_t *f,
    gm_file_key_t *key);
static int gm_file_reload_stale(gm_file_source_t *fs);


gm_file_source_t *
gm_file_source_create(const char *path, gm_store_t *store,
    const gm_log_t *log)
{
    char               *slash;
    struct stat         st;
    gm_file_source_t   *fs;

    fs = calloc(1, sizeof(gm_file_source_t));
    if (fs == NULL) {
        return NULL;
    }

    fs->ifd = -1;
    fs->store = store;
    fs->log = log;
    fs->path = strdup(path);

    if (fs->path == NULL) {
        goto failed;
    }

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fs->dir = strdup(path);

    } else {
        /* a single file: watch its directory, so renames are seen too */
        slash = strrchr(fs->path, '/');
        fs->dir = slash ? strndup(fs->path, slash - fs->path) : strdup(".");
        fs->only = strdup(slash ? slash + 1 : fs->path);

        if (fs->only == NULL) {
            goto failed;
        }

        if (fs->dir && fs->dir[0] == '\0') {
            free(fs->dir);
            fs->dir = strdup("/");
        }
    }

    if (fs->dir == NULL || gm_file_source_watch(fs) != 0) {
        goto failed;
    }

    return fs;

failed:

    gm_file_source_destroy(fs);
    return NULL;
}


static int
gm_file_source_watch(gm_file_source_t *fs)
{
    fs->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fs->ifd == -1) {
        gm_log(fs->log, GM_LOG_ERR, "inotify_init1() failed: %s",
               strerror(errno));
        return -1;
    }

    if (inotify_add_watch(fs->ifd, fs->dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM
                          | IN_CREATE | IN_DELETE | IN_MODIFY
                          | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
        == -1)
    {
        gm_log(fs->log, GM_LOG_ERR, "cannot watch \"%s\": %s", fs->dir,
               strerror(errno));
        return -1;
    }

    return 0;
}


void
gm_file_source_destroy(gm_file_source_t *fs)
{
    gm_file_t  *f, *next;

    if (fs == NULL) {
        return;
    }

    for (f = fs->files; f; f = next) {
        next = f->next;
        gm_file_keys_free(f->keys, f->nkeys);
        free(f->path);
        free(f);
    }

    if (fs->ifd != -1) {
        close(fs->ifd);
    }

    free(fs->path);
    free(fs->dir);
    free(fs->only);
    free(fs);
}


int
gm_file_source_fd(gm_file_source_t *fs)
{
    return fs->ifd;
}


int
gm_file_source_drain(gm_file_source_t *fs)
{
    char     buf[8192]
             __attribute__((aligned(__alignof__(struct inotify_event))));
    int      due;
    ssize_t  n;

    due = 0;

    for ( ;; ) {
        n = read(fs->ifd, buf, sizeof(buf));

        if (n > 0) {
            due = 1;
            continue;
        }

        if (n == -1 && errno == EINTR) {
            continue;
        }

        return due;
    }
}


int
gm_file_source_scan(gm_file_source_t *fs)
{
    int          changed;
    char         path[PATH_MAX];
    gm_file_t   *f, **pf;

    for (f = fs->files; f; f = f->next) {
        f->seen = 0;
    }

    if (fs->only) {
        snprintf(path, sizeof(path), "%s/%s", fs->dir, fs->only);
        changed = gm_file_scan_one(fs, path);

    } else {
        changed = gm_file_scan_dir(fs);
    }

    /* files that vanished take their objects with them */
    pf = &fs->files;

    while (*pf) {
        f = *pf;

        if (f->seen) {
            pf = &f->next;
            continue;
        }

        gm_log(fs->log, GM_LOG_NOTICE, "manifest \"%s\" removed", f->path);

        changed |= gm_file_drop(fs, f);
        *pf = f->next;
        free(f->path);
        free(f);
    }

    return changed | gm_file_reload_stale(fs);
}


static int
gm_file_wanted(const char *name)
{
    size_t  len;

    if (name[0] == '.') {
        return 0;
    }

    len = strlen(name);

    return (len > 5 && strcmp(name + len - 5, ".yaml") == 0)
           || (len > 4 && strcmp(name + len - 4, ".yml") == 0)
           || (len > 5 && strcmp(name + len - 5, ".json") == 0);
}


static int
gm_file_scan_dir(gm_file_source_t *fs)
{
    int             changed, n, i;
    char            path[PATH_MAX];
    struct dirent **list;

    /* sorted, so that the order objects are read in is stable */
    n = scandir(fs->dir, &list, NULL, alphasort);
    if (n == -1) {
        gm_log(fs->log, GM_LOG_ERR, "cannot read directory \"%s\": %s",
               fs->dir, strerror(errno));

        /* keep what we have rather than dropping every object */
        for (gm_file_t *f = fs->files; f; f = f->next) {
            f->seen = 1;
        }

        return 0;
    }

    changed = 0;

    for (i = 0; i < n; i++) {
        if (gm_file_wanted(list[i]->d_name)) {
            snprintf(path, sizeof(path), "%s/%s", fs->dir, list[i]->d_name);
            changed |= gm_file_scan_one(fs, path);
        }

        free(list[i]);
    }

    free(list);

    return changed;
}


static int
gm_file_scan_one(gm_file_source_t *fs, const char *path)
{
    struct stat   st;
    gm_file_t    *f;

    if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
        return 0;
    }

    f = gm_file_find(fs, path);

    if (f == NULL) {
        f = calloc(1, sizeof(gm_file_t));
        if (f == NULL || (f->path = strdup(path)) == NULL) {
            free(f);
            return 0;
        }

        f->next = fs->files;
        fs->files = f;

    } else if (f->dev == st.st_dev && f->ino == st.st_ino
               && f->size == st.st_size
               && f->mtime.tv_sec == st.st_mtim.tv_sec
               && f->mtime.tv_nsec == st.st_mtim.tv_nsec)
    {
        f->seen = 1;
        return 0;
    }

    f->seen = 1;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->mtime = st.st_mtim;

    return gm_file_load(fs, f);
}


static gm_file_t *
gm_file_find(gm_file_source_t *fs, const char *path)
{
    gm_file_t  *f;

    for (f = fs->files; f; f = f->next) {
        if (strcmp(f->path, path) == 0) {
            return f;
        }
    }

    return NULL;
}


static int
gm_file_load(gm_file_source_t *fs, gm_file_t *f)
{
    char            *buf;
    size_t           len, i;
    gm_file_load_t   ld;

    buf = gm_file_read(fs, f->path, &len);
    if (buf == NULL) {
        return 0;
    }

    memset(&ld, 0, sizeof(ld));
    ld.fs = fs;
    ld.file = f;

    if (gm_manifest_parse(buf, len, f->path, gm_file_doc, &ld, fs->log)
        != 0)
    {
        /* the parser said why; the file's previous objects stay */
        free(buf);
        gm_file_keys_free(ld.keys, ld.nkeys);
        return 0;
    }

    free(buf);

    gm_file_keys_sort(&ld);

    /* objects the file no longer holds */
    for (i = 0; i < f->nkeys; i++) {
        if (!gm_file_keys_has(ld.keys, ld.nkeys, &f->keys[i])) {
            ld.changed |= gm_file_forget(fs, f, &f->keys[i]);
        }
    }

    gm_file_keys_free(f->keys, f->nkeys);
    f->keys = ld.keys;
    f->nkeys = ld.nkeys;

    gm_log(fs->log, GM_LOG_INFO, "manifest \"%s\": %zu objects", f->path,
           f->nkeys);

    return ld.changed;
}


static char *
gm_file_read(gm_file_source_t *fs, const char *path, size_t *len)
{
    int          fd;
    char        *buf;
    size_t       have;
    ssize_t      n;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        gm_log(fs->log, GM_LOG_ERR, "cannot open manifest \"%s\": %s", path,
               strerror(errno));
        return NULL;
    }

    if (fstat(fd, &st) == -1 || st.st_size > GM_FILE_MAX_SIZE) {
        gm_log(fs->log, GM_LOG_ERR, "manifest \"%s\" is larger than %d bytes",
               path, GM_FILE_MAX_SIZE);
        close(fd);
        return NULL;
    }

    buf = malloc(st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return NULL;
    }

    for (have = 0; have < (size_t) st.st_size; have += n) {
        n = read(fd, buf + have, st.st_size - have);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            break;
        }
    }

    close(fd);

    buf[have] = '\0';
    *len = have;

    return buf;
}


static void
gm_file_doc(void *data, json_t *doc, size_t index)
{
    int              ignored;
    json_t          *meta;
    const char      *kind, *ns, *name;
    gm_object_t     *obj;
    gm_file_load_t  *ld;

    ld = data;
    ignored = 0;

    obj = gm_object_parse(doc, ld->fs->log, &ignored);

    if (obj) {
        if (gm_file_keys_add(ld, obj->body->meta.kind,
                             obj->body->meta.ns.data,
                             obj->body->meta.name.data)
            == 0)
        {
            gm_store_put(ld->fs->store, obj);
            ld->changed = 1;

        } else {
            gm_object_free(obj);
        }

        return;
    }

    if (ignored) {
        gm_log(ld->fs->log, GM_LOG_DEBUG, "%s: document %zu ignored",
               ld->file->path, index);
        return;
    }

    /* invalid: keep the previous version of the object, if any */
    kind = json_string_value(json_object_get(doc, "kind"));
    meta = json_object_get(doc, "metadata");
    name = json_string_value(json_object_get(meta, "name"));
    ns = json_string_value(json_object_get(meta, "namespace"));

    if (kind == NULL || name == NULL) {
        return;
    }

    for (int k = 0; k < GM_KIND_MAX; k++) {
        if (strcmp(kind, gm_kind_name(k)) == 0
            && gm_store_get(ld->fs->store, k, ns ? ns : "default", name))
        {
            gm_file_keys_add(ld, k, ns ? ns : "default", name);
        }
    }
}


static int
gm_file_keys_add(gm_file_load_t *ld, gm_kind_e kind, const char *ns,
    const char *name)
{
    gm_file_key_t  *keys, key;

    key.kind = kind;
    key.ns = (char *) ns;
    key.name = (char *) name;

    if (ld->nkeys == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 16;
        keys = realloc(ld->keys, ld->cap * sizeof(gm_file_key_t));
        if (keys == NULL) {
            return -1;
        }

        ld->keys = keys;
    }

    key.ns = strdup(ns);
    key.name = strdup(name);

    if (key.ns == NULL || key.name == NULL) {
        free(key.ns);
        free(key.name);
        return -1;
    }

    ld->keys[ld->nkeys++] = key;

    return 0;
}


static int
gm_file_key_cmp(const void *one, const void *two)
{
    int                   rc;
    const gm_file_key_t  *a, *b;

    a = one;
    b = two;

    if (a->kind != b->kind) {
        return a->kind < b->kind ? -1 : 1;
    }

    rc = strcmp(a->ns, b->ns);

    return rc ? rc : strcmp(a->name, b->name);
}


/* keys must be sorted */
static int
gm_file_keys_has(gm_file_key_t *keys, size_t n, gm_file_key_t *key)
{
    return n && bsearch(key, keys, n, sizeof(gm_file_key_t),
                        gm_file_key_cmp) != NULL;
}


/* sorts the keys and reports an object a file holds twice */
static void
gm_file_keys_sort(gm_file_load_t *ld)
{
    size_t  i;

    if (ld->nkeys == 0) {
        return;
    }

    qsort(ld->keys, ld->nkeys, sizeof(gm_file_key_t), gm_file_key_cmp);

    for (i = 1; i < ld->nkeys; i++) {
        if (gm_file_key_cmp(&ld->keys[i - 1], &ld->keys[i]) == 0) {
            gm_log(ld->fs->log, GM_LOG_WARN,
                   "%s %s/%s appears twice in \"%s\", the later one wins",
                   gm_kind_name(ld->keys[i].kind), ld->keys[i].ns,
                   ld->keys[i].name, ld->file->path);
        }
    }
}


static void
gm_file_keys_free(gm_file_key_t *keys, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(keys[i].ns);
        free(keys[i].name);
    }

    free(keys);
}


static int
gm_file_drop(gm_file_source_t *fs, gm_file_t *f)
{
    int     changed;
    size_t  i;

    changed = 0;

    for (i = 0; i < f->nkeys; i++) {
        changed |= gm_file_forget(fs, f, &f->keys[i]);
    }

    gm_file_keys_free(f->keys, f->nkeys);
    f->keys = NULL;
    f->nkeys = 0;

    return changed;
}


/*
 * An object a file no longer holds leaves the store, unless another file
 * defines it too: then that file is read again and its version stays.
 */
static int
gm_file_forget(gm_file_source_t *fs, gm_file_t *f, gm_file_key_t *key)
{
    int         shared;
    gm_file_t  *other;

    shared = 0;

    for (other = fs->files; other; other = other->next) {
        if (other != f && gm_file_keys_has(other->keys, other->nkeys, key)) {
            other->stale = 1;
            shared = 1;
        }
    }

    if (shared) {
        return 0;
    }

    return gm_store_delete(fs->store, key->kind, key->ns, key->name);
}


static int
gm_file_reload_stale(gm_file_source_t *fs)
{
    int         changed;
    gm_file_t  *f;

    changed = 0;

    for (f = fs->files; f; f = f->next) {
        if (f->stale) {
            f->stale = 0;
            changed |= gm_file_load(fs, f);
        }
    }

    return changed;
}
