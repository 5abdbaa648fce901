/*
 * nginx-gamma: manifests from a file or a directory, watched with inotify.
 *
 * Every change rescans the directory and compares each file's identity,
 * size, mtime and ctime with what was last read: that also catches the
 * symlink swap Kubernetes uses to update a mounted ConfigMap, and a chmod.
 * A file that fails to parse keeps its previous objects, and so does an
 * object that turns invalid in an edit: the last good state keeps serving
 * until the file is fixed or removed.
 *
 * A changed file is read only once it is complete: renamed into place (the
 * recommended way), closed by its writer, or unchanged for a settle time;
 * a file that suddenly empties always waits the settle time.  A read that
 * fails (permissions, a file changing under it) is tried again, and its
 * fingerprint is kept only once a read succeeded.
 *
 * An object several files define comes from the first of them by file
 * name (the order kubectl reads a directory in), with a warning naming
 * both; when that file drops it, the next one's version takes over.
 */

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm_file_notify.h"
#include "gm_file_source_int.h"
#include "gm_manifest.h"


#define GM_FILE_MAX_SIZE   (64 * 1024 * 1024)
/* unchanged for this long, a file nobody said was complete is read */
#define GM_FILE_SETTLE_MS  500
/* ... and this long while a writer still has it open */
#define GM_FILE_OPEN_MS    2000
#define GM_FILE_RETRY_MS   1000
/*
 * a file that vanished is dropped only once it stayed away this long: an
 * editor's save that moves the old file away and writes a new one must not
 * publish a snapshot without the file's objects in between
 */
#define GM_FILE_GONE_MS    25
/* what the parser may log per second; the rest is counted */
#define GM_FILE_LOG_BURST  100


static int gm_file_source_where(const char *path, char **dir, char **only);
static int gm_file_wanted(const char *name);
static int gm_file_scan_dir(gm_file_source_t *fs);
static int gm_file_scan_one(gm_file_source_t *fs, const char *path);
static gm_file_t *gm_file_get(gm_file_source_t *fs, const char *path);
static void gm_file_stat(gm_file_stat_t *fst, struct stat *st);
static int gm_file_stat_eq(gm_file_stat_t *one, gm_file_stat_t *two);
static int gm_file_complete(gm_file_source_t *fs, gm_file_t *f,
    gm_file_stat_t *now, int link);
static int gm_file_load(gm_file_source_t *fs, gm_file_t *f);
static char *gm_file_read(gm_file_source_t *fs, gm_file_t *f, size_t *len);
static void gm_file_failed(gm_file_source_t *fs, gm_file_t *f,
    const char *fmt, const char *path, int err);
static int gm_file_gone_wait(gm_file_source_t *fs, gm_file_t *f);
static int gm_file_reload_stale(gm_file_source_t *fs);
static void gm_file_free(gm_file_t *f);


/*
 * The directory watched (*dir) and, for a single file, its name (*only,
 * else NULL): a single file's directory is watched, so renames are seen
 * too.  -1: out of memory.
 */

static int
gm_file_source_where(const char *path, char **dir, char **only)
{
    char         *slash;
    struct stat   st;

    *only = NULL;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        *dir = strdup(path);
        return (*dir != NULL) ? 0 : -1;
    }

    slash = strrchr(path, '/');
    *dir = slash == NULL ? strdup(".")
         : slash == path ? strdup("/")
         : strndup(path, slash - path);
    *only = strdup(slash ? slash + 1 : path);

    if (*dir == NULL || *only == NULL) {
        free(*dir);
        free(*only);
        *dir = *only = NULL;
        return -1;
    }

    return 0;
}


int
gm_file_source_watchable(const char *path)
{
    int    rc;
    char  *dir, *only;

    if (gm_file_source_where(path, &dir, &only) != 0) {
        return 1;                      /* let the source say what failed */
    }

    rc = access(dir, R_OK | X_OK) == 0;

    free(dir);
    free(only);

    return rc;
}


gm_file_source_t *
gm_file_source_create(const char *path, gm_store_t *store,
    const gm_log_t *log)
{
    gm_file_source_t  *fs;

    fs = calloc(1, sizeof(gm_file_source_t));
    if (fs == NULL) {
        return NULL;
    }

    fs->store = store;
    fs->log = log;
    fs->path = strdup(path);
    gm_log_limit_init(&fs->limit, log, GM_FILE_LOG_BURST, 1000);

    if (fs->path == NULL) {
        goto failed;
    }

    if (gm_file_source_where(path, &fs->dir, &fs->only) != 0) {
        goto failed;
    }

    fs->notify = gm_file_notify_create(fs->dir, log);
    if (fs->notify == NULL) {
        goto failed;
    }

    return fs;

failed:

    gm_file_source_destroy(fs);
    return NULL;
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
        gm_file_free(f);
    }

    gm_file_notify_destroy(fs->notify);
    free(fs->path);
    free(fs->dir);
    free(fs->only);
    free(fs);
}


int
gm_file_source_fd(gm_file_source_t *fs)
{
    return gm_file_notify_fd(fs->notify);
}


int
gm_file_source_drain(gm_file_source_t *fs)
{
    return gm_file_notify_drain(fs->notify);
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

    gm_file_notify_reset(fs->notify);

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

        if (f->seen || gm_file_gone_wait(fs, f)) {
            pf = &f->next;
            continue;
        }

        if (f->loaded || f->nkeys) {
            gm_log(fs->log, GM_LOG_NOTICE, "manifest \"%s\" removed",
                   f->path);
        }

        changed |= gm_file_drop(fs, f);
        gm_file_notify_forget(fs->notify, f->name);
        *pf = f->next;
        gm_file_free(f);
    }

    changed |= gm_file_reload_stale(fs);

    gm_log_limit_flush(&fs->limit);
    gm_file_notify_arm(fs->notify);
    fs->scanned = 1;

    return changed;
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
    gm_file_t      *f;
    struct dirent **list;

    /* sorted, so that the order objects are read in is stable */
    n = scandir(fs->dir, &list, NULL, alphasort);
    if (n == -1) {
        if (!fs->dir_failed) {
            gm_log(fs->log, GM_LOG_ERR, "cannot read directory \"%s\": %s, "
                   "trying again every %d ms", fs->dir, strerror(errno),
                   GM_FILE_RETRY_MS);
        }

        fs->dir_failed = 1;
        gm_file_notify_at(fs->notify, gm_file_now_ms() + GM_FILE_RETRY_MS);

        /* keep what we have rather than dropping every object */
        for (f = fs->files; f; f = f->next) {
            f->seen = 1;
        }

        return 0;
    }

    if (fs->dir_failed) {
        gm_log(fs->log, GM_LOG_NOTICE, "directory \"%s\" can be read again",
               fs->dir);
        fs->dir_failed = 0;
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
    int             link;
    gm_file_t      *f;
    struct stat     st;
    gm_file_stat_t  now;

    link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);

    if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
        return 0;
    }

    f = gm_file_get(fs, path);
    if (f == NULL) {
        return 0;
    }

    f->seen = 1;
    f->gone_since = -1;
    gm_file_stat(&now, &st);

    if (f->loaded && gm_file_stat_eq(&f->read, &now)) {
        return 0;
    }

    if (!gm_file_stat_eq(&f->seen_as, &now)) {
        f->seen_as = now;
        f->seen_since = gm_file_now_ms();
    }

    if (!gm_file_complete(fs, f, &now, link)) {
        return 0;
    }

    return gm_file_load(fs, f);
}


static gm_file_t *
gm_file_get(gm_file_source_t *fs, const char *path)
{
    char       *slash;
    gm_file_t  *f;

    for (f = fs->files; f; f = f->next) {
        if (strcmp(f->path, path) == 0) {
            return f;
        }
    }

    f = calloc(1, sizeof(gm_file_t));
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return NULL;
    }

    slash = strrchr(f->path, '/');
    f->name = slash ? slash + 1 : f->path;
    f->seen_since = -1;
    f->gone_since = -1;

    f->next = fs->files;
    fs->files = f;

    return f;
}


static void
gm_file_stat(gm_file_stat_t *fst, struct stat *st)
{
    memset(fst, 0, sizeof(gm_file_stat_t));

    fst->dev = st->st_dev;
    fst->ino = st->st_ino;
    fst->size = st->st_size;
    fst->mtime = st->st_mtim;
    fst->ctime = st->st_ctim;
}


static int
gm_file_stat_eq(gm_file_stat_t *one, gm_file_stat_t *two)
{
    return one->dev == two->dev && one->ino == two->ino
           && one->size == two->size
           && one->mtime.tv_sec == two->mtime.tv_sec
           && one->mtime.tv_nsec == two->mtime.tv_nsec
           && one->ctime.tv_sec == two->ctime.tv_sec
           && one->ctime.tv_nsec == two->ctime.tv_nsec;
}


/*
 * Whether what the file holds now may be read: a half-written file must
 * not replace a whole one (": > routes.yaml" would drop every route, a cp
 * read mid-way only some).  If not, a rescan is asked for.
 */
static int
gm_file_complete(gm_file_source_t *fs, gm_file_t *f, gm_file_stat_t *now,
    int link)
{
    int              emptied, replaced;
    int64_t          quiet;
    gm_file_event_e  ev;

    /* the first scan finds what is there; there is nothing to protect */
    if (!fs->scanned) {
        return 1;
    }

    emptied = now->size == 0 && f->nkeys > 0;
    replaced = !f->loaded || f->read.ino != now->ino
               || f->read.dev != now->dev;

    /* a symlink's target is written elsewhere: its events say nothing */
    ev = link ? GM_FILE_EV_NONE : gm_file_notify_event(fs->notify, f->name);

    if (!emptied
        && (ev == GM_FILE_EV_MOVED || ev == GM_FILE_EV_CLOSED
            || (ev == GM_FILE_EV_NONE && replaced)))
    {
        return 1;
    }

    quiet = (ev == GM_FILE_EV_WRITING) ? GM_FILE_OPEN_MS : GM_FILE_SETTLE_MS;

    if (gm_file_now_ms() - f->seen_since >= quiet) {
        return 1;
    }

    gm_file_notify_at(fs->notify, f->seen_since + quiet);

    return 0;
}


static int
gm_file_load(gm_file_source_t *fs, gm_file_t *f)
{
    char            *buf;
    size_t           len, i;
    gm_file_name_t   n;
    gm_file_load_t   ld;

    buf = gm_file_read(fs, f, &len);
    if (buf == NULL) {
        return 0;
    }

    gm_file_notify_forget(fs->notify, f->name);

    memset(&ld, 0, sizeof(ld));
    ld.fs = fs;
    ld.file = f;

    if (gm_manifest_parse(buf, len, f->path, gm_file_doc, &ld,
                          &fs->limit.log)
        != 0)
    {
        /* the parser said why; the file's previous objects stay */
        free(buf);
        gm_file_keys_free(ld.keys, ld.names);
        return 0;
    }

    free(buf);

    gm_file_keys_sort(&ld);

    /* objects the file no longer holds */
    for (i = 0; i < f->nkeys; i++) {
        n = gm_file_key_names(gm_file_names(f), &f->keys[i]);

        if (gm_file_keys_find(ld.keys, ld.nkeys, gm_file_load_names(&ld), &n)
            == NULL)
        {
            ld.changed |= gm_file_forget(fs, f, &f->keys[i]);
        }
    }

    gm_file_keys_free(f->keys, f->names);
    f->keys = ld.keys;
    f->nkeys = ld.nkeys;
    f->names = ld.names;
    f->parsed = 1;

    gm_log(fs->log, GM_LOG_INFO, "manifest \"%s\": %zu objects", f->path,
           f->nkeys);

    return ld.changed;
}


/*
 * Reads the whole file, or NULL: then it is read again later.  What was
 * read becomes the file's fingerprint only if the file did not change
 * while it was read.
 */
static char *
gm_file_read(gm_file_source_t *fs, gm_file_t *f, size_t *len)
{
    int             fd;
    char           *buf;
    size_t          have;
    ssize_t         n;
    struct stat     st;
    gm_file_stat_t  before, after;

    fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        gm_file_failed(fs, f, "cannot open manifest \"%s\": %s", f->path,
                       errno);
        return NULL;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }

    if (st.st_size > GM_FILE_MAX_SIZE) {
        gm_file_failed(fs, f, "manifest \"%s\" is larger than 64 MB%s",
                       f->path, 0);
        close(fd);
        return NULL;
    }

    gm_file_stat(&before, &st);

    buf = malloc(st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        gm_file_failed(fs, f, "cannot read manifest \"%s\": %s", f->path,
                       ENOMEM);
        return NULL;
    }

    for (have = 0; have < (size_t) st.st_size; have += n) {
        n = read(fd, buf + have, st.st_size - have);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n == -1) {
            gm_file_failed(fs, f, "cannot read manifest \"%s\": %s", f->path,
                           errno);
            free(buf);
            close(fd);
            return NULL;
        }

        if (n == 0) {
            break;
        }
    }

    if (fstat(fd, &st) == -1) {
        st.st_size = -1;
    }

    close(fd);
    gm_file_stat(&after, &st);

    if (have != (size_t) before.size || !gm_file_stat_eq(&before, &after)) {
        /* written while it was read: read it once it has settled */
        f->seen_as = after;
        f->seen_since = gm_file_now_ms();
        gm_file_notify_at(fs->notify, f->seen_since + GM_FILE_SETTLE_MS);
        free(buf);
        return NULL;
    }

    if (f->failed) {
        gm_log(fs->log, GM_LOG_NOTICE, "manifest \"%s\" can be read again",
               f->path);
    }

    f->read = before;
    f->loaded = 1;
    f->failed = 0;

    buf[have] = '\0';
    *len = have;

    return buf;
}


/* logged once until the file can be read again; retried meanwhile */
static void
gm_file_failed(gm_file_source_t *fs, gm_file_t *f, const char *fmt,
    const char *path, int err)
{
    char  msg[PATH_MAX + 256];

    if (!f->failed) {
        snprintf(msg, sizeof(msg), fmt, path, err ? strerror(err) : "");
        gm_log(fs->log, GM_LOG_ERR, "%s; its objects stay as they were, "
               "trying again every %d ms", msg, GM_FILE_RETRY_MS);
    }

    f->failed = 1;
    gm_file_notify_at(fs->notify, gm_file_now_ms() + GM_FILE_RETRY_MS);
}


/*
 * Whether a file the scan did not find is kept a while yet: a rescan is
 * asked for when its grace ends, and it comes back unchanged if it was
 * only moved away and written again.
 */
static int
gm_file_gone_wait(gm_file_source_t *fs, gm_file_t *f)
{
    int64_t  now;

    if (!fs->scanned || (!f->loaded && f->nkeys == 0)) {
        return 0;
    }

    now = gm_file_now_ms();

    if (f->gone_since == -1) {
        f->gone_since = now;
    }

    if (now - f->gone_since >= GM_FILE_GONE_MS) {
        return 0;
    }

    gm_file_notify_at(fs->notify, f->gone_since + GM_FILE_GONE_MS);

    return 1;
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


static void
gm_file_free(gm_file_t *f)
{
    gm_file_keys_free(f->keys, f->names);
    free(f->path);
    free(f);
}


int
gm_file_source_synced(gm_file_source_t *fs)
{
    gm_file_t  *f;

    for (f = fs->files; f; f = f->next) {
        if (!f->parsed) {
            return 0;
        }
    }

    return 1;
}
