/*
 * nginx-gamma: which file's version of an object is used.
 *
 * Each file keeps the sorted keys of the objects it defines; a key is the
 * owner when that file's version is the one in the store.  An object
 * several files define comes from the first of them by file name, the
 * order kubectl reads a directory in, and a warning names both files; an
 * edit of a later file never swaps it silently.  When the owner drops it,
 * the others are read again and the first of them takes over.
 *
 * A file read again puts only the objects whose document changed (a hash
 * of it, keys sorted): the store reports those alone to the incremental
 * compiler, so that an edit of one route in a file of 10,000 objects
 * recompiles what depends on that route.
 */

#include <stdlib.h>
#include <string.h>

#include "gm_file_source_int.h"
#include "gm_limits.h"
#include "gm_object_parse.h"
#include "gm_reject.h"


static int gm_file_define(gm_file_load_t *ld, gm_object_t *obj,
    uint64_t hash);
static int gm_file_define_key(gm_file_load_t *ld, gm_object_t *obj,
    uint64_t hash, gm_file_key_t *key_in);
static uint64_t gm_file_doc_hash(json_t *doc);
static int gm_file_unchanged(gm_file_load_t *ld, gm_file_key_t *key,
    uint64_t hash);
static void gm_file_keep_invalid(gm_file_load_t *ld, json_t *doc);
static int gm_file_key_init(gm_file_key_t *key, unsigned kind,
    const char *ns, const char *name, char *buf, size_t size, char **alloc);
static gm_file_key_t *gm_file_keys_add(gm_file_load_t *ld,
    const gm_file_key_t *key, uint64_t hash, unsigned owner);
static int gm_file_key_cmp(const void *one, const void *two);
static void gm_file_keys_pack(gm_file_load_t *ld);
static size_t gm_file_key_size(const gm_file_key_t *key);


void
gm_file_doc(void *data, json_t *doc, size_t index)
{
    int              ignored;
    gm_object_t     *obj;
    gm_file_load_t  *ld;
    gm_reject_tap_t  tap;

    ld = data;
    ignored = 0;

    /* the reasons it logs are kept next to the object for the status */
    gm_reject_tap_init(&tap, &ld->fs->limit.log);
    obj = gm_object_parse(doc, &tap.log, &ignored);

    if (obj) {
        if (gm_file_define(ld, obj, gm_file_doc_hash(doc))) {
            gm_reject_tap_note(&tap, ld->fs->store);
        }

        gm_reject_tap_free(&tap);
        return;
    }

    ld->changed |= gm_reject_tap_note(&tap, ld->fs->store);
    gm_reject_tap_free(&tap);

    if (ignored) {
        gm_log(&ld->fs->limit.log, GM_LOG_DEBUG, "%s: document %zu ignored",
               ld->file->path, index);
        return;
    }

    gm_file_keep_invalid(ld, doc);
}


/*
 * An object the file defines.  If an earlier file by name defines it too,
 * that one's version stays; if this file is the earlier one, it takes
 * over from the others.
 */
static int
gm_file_define(gm_file_load_t *ld, gm_object_t *obj, uint64_t hash)
{
    int             rc;
    char            buf[GM_MAX_LABEL + GM_MAX_OBJECT_NAME + 2], *alloc;
    gm_file_key_t   key;

    if (gm_file_key_init(&key, obj->body->meta.kind,
                         obj->body->meta.ns.data, obj->body->meta.name.data,
                         buf, sizeof(buf), &alloc)
        != 0)
    {
        gm_object_free(obj);
        return 0;
    }

    rc = gm_file_define_key(ld, obj, hash, &key);
    free(alloc);

    return rc;
}


static int
gm_file_define_key(gm_file_load_t *ld, gm_object_t *obj, uint64_t hash,
    gm_file_key_t *key_in)
{
    gm_file_t      *f, *other, *first;
    gm_file_key_t   key, *k, *ok;

    f = ld->file;
    key = *key_in;

    first = f;
    other = NULL;

    for (f = ld->fs->files; f; f = f->next) {
        if (f == ld->file || gm_file_keys_find(f->keys, f->nkeys, &key) == 0)
        {
            continue;
        }

        other = f;

        if (strcmp(f->path, first->path) < 0) {
            first = f;
        }
    }

    if (other) {
        gm_log(&ld->fs->limit.log, GM_LOG_WARN,
               "%s %s/%s is defined in \"%s\" and in \"%s\": the one in "
               "\"%s\" is used (the first file by name wins)",
               gm_kind_name(key.kind), key.ns, gm_file_key_name(&key),
               first == ld->file ? ld->file->path : first->path,
               first == ld->file ? other->path : ld->file->path,
               first->path);
    }

    k = gm_file_keys_add(ld, &key, hash, first == ld->file);

    if (k == NULL || first != ld->file
        || (other == NULL && gm_file_unchanged(ld, &key, hash)))
    {
        gm_object_free(obj);
        return 0;
    }

    /* the others' versions are no longer the ones in the store */
    for (f = ld->fs->files; other && f; f = f->next) {
        ok = (f == ld->file) ? NULL : gm_file_keys_find(f->keys, f->nkeys,
                                                        &key);
        if (ok) {
            ok->owner = 0;
        }
    }

    gm_store_put(ld->fs->store, obj);
    ld->changed = 1;

    return 1;
}


/* FNV-1a of the compact JSON, keys sorted; 0: not known */
static uint64_t
gm_file_doc_hash(json_t *doc)
{
    char      *text, *p;
    uint64_t   h;

    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL) {
        return 0;
    }

    h = 14695981039346656037ULL;

    for (p = text; *p; p++) {
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    }

    free(text);

    return h ? h : 1;
}


/*
 * The same document as this file's version in the store: nothing to put.
 * Not for a key that appears twice in the file (the later one wins).
 */
static int
gm_file_unchanged(gm_file_load_t *ld, gm_file_key_t *key, uint64_t hash)
{
    gm_file_key_t  *prev;

    prev = gm_file_keys_find(ld->file->keys, ld->file->nkeys, key);

    if (prev == NULL) {
        return 0;
    }

    if (prev->again) {
        return 0;
    }

    prev->again = 1;

    return hash != 0 && prev->owner && prev->hash == hash
           && gm_store_get(ld->fs->store, key->kind, key->ns,
                           gm_file_key_name(key))
              != NULL;
}


/* an invalid object keeps its previous version, if this file had it */
static void
gm_file_keep_invalid(gm_file_load_t *ld, json_t *doc)
{
    char            buf[GM_MAX_LABEL + GM_MAX_OBJECT_NAME + 2], *alloc;
    json_t         *meta;
    unsigned        k;
    const char     *kind, *ns, *name, *kname;
    gm_file_key_t   key, *prev;

    kind = json_string_value(json_object_get(doc, "kind"));
    meta = json_object_get(doc, "metadata");
    name = json_string_value(json_object_get(meta, "name"));
    ns = json_string_value(json_object_get(meta, "namespace"));

    if (kind == NULL || name == NULL) {
        return;
    }

    for (k = 0; k < GM_KIND_MAX; k++) {
        if (strcmp(kind, gm_kind_name(k)) != 0) {
            continue;
        }

        if (gm_file_key_init(&key, k, ns ? ns : "default", name, buf,
                             sizeof(buf), &alloc)
            != 0)
        {
            return;
        }

        kname = gm_file_key_name(&key);
        prev = gm_file_keys_find(ld->file->keys, ld->file->nkeys, &key);

        if (prev && prev->owner
            && gm_store_get(ld->fs->store, key.kind, key.ns, kname))
        {
            gm_file_keys_add(ld, &key, prev->hash, 1);

        } else if (gm_store_get(ld->fs->store, key.kind, key.ns, kname)
                   == NULL)
        {
            /* never valid: the key stays, its rejection goes with it */
            gm_file_keys_add(ld, &key, 0, 1);
        }

        free(alloc);
    }
}


/*
 * A key to look for: the two names one after the other, in buf or, when
 * they do not fit, in an allocation (*alloc, to free; NULL if none).
 */
static int
gm_file_key_init(gm_file_key_t *key, unsigned kind, const char *ns,
    const char *name, char *buf, size_t size, char **alloc)
{
    size_t  ns_len, name_len;

    ns_len = strlen(ns);
    name_len = strlen(name);
    *alloc = NULL;

    if (ns_len + name_len + 2 > size) {
        buf = malloc(ns_len + name_len + 2);
        if (buf == NULL) {
            return -1;
        }

        *alloc = buf;
    }

    memcpy(buf, ns, ns_len + 1);
    memcpy(buf + ns_len + 1, name, name_len + 1);

    key->ns = buf;
    key->hash = 0;
    key->kind = kind;
    key->owner = 0;
    key->again = 0;

    return 0;
}


const char *
gm_file_key_name(const gm_file_key_t *key)
{
    return key->ns + strlen(key->ns) + 1;
}


static gm_file_key_t *
gm_file_keys_add(gm_file_load_t *ld, const gm_file_key_t *from,
    uint64_t hash, unsigned owner)
{
    size_t          len;
    gm_str_t        names;
    gm_file_key_t  *keys, key;

    if (ld->nkeys == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 16;
        keys = realloc(ld->keys, ld->cap * sizeof(gm_file_key_t));
        if (keys == NULL) {
            return NULL;
        }

        ld->keys = keys;
    }

    if (ld->names == NULL) {
        ld->names = gm_arena_create(4096);

        if (ld->names == NULL) {
            return NULL;
        }
    }

    /* the two names, the first NUL among the bytes copied */
    len = gm_file_key_size(from);

    if (gm_arena_strdup(ld->names, &names, from->ns, len - 1) != 0) {
        return NULL;
    }

    key.kind = from->kind;
    key.hash = hash;
    key.owner = owner;
    key.again = 0;
    key.ns = names.data;

    ld->keys[ld->nkeys++] = key;

    return &ld->keys[ld->nkeys - 1];
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

    return rc ? rc : strcmp(gm_file_key_name(a), gm_file_key_name(b));
}


gm_file_key_t *
gm_file_keys_find(gm_file_key_t *keys, size_t n, gm_file_key_t *key)
{
    return n ? bsearch(key, keys, n, sizeof(gm_file_key_t), gm_file_key_cmp)
             : NULL;
}


void
gm_file_keys_sort(gm_file_load_t *ld)
{
    size_t          i;
    gm_file_key_t  *keys;

    if (ld->nkeys == 0) {
        gm_arena_destroy(ld->names);
        ld->names = NULL;
        return;
    }

    gm_file_keys_pack(ld);

    /* without memory for that, at least without the growth's slack */
    if (ld->nkeys < ld->cap) {
        keys = realloc(ld->keys, ld->nkeys * sizeof(gm_file_key_t));

        if (keys != NULL) {
            ld->keys = keys;
            ld->cap = ld->nkeys;
        }
    }

    qsort(ld->keys, ld->nkeys, sizeof(gm_file_key_t), gm_file_key_cmp);

    for (i = 1; i < ld->nkeys; i++) {
        if (gm_file_key_cmp(&ld->keys[i - 1], &ld->keys[i]) == 0) {
            /* which one the next read finds is not known: put it again */
            ld->keys[i - 1].hash = 0;
            ld->keys[i].hash = 0;

            gm_log(&ld->fs->limit.log, GM_LOG_WARN,
                   "%s %s/%s appears twice in \"%s\", the later one wins",
                   gm_kind_name(ld->keys[i].kind), ld->keys[i].ns,
                   gm_file_key_name(&ld->keys[i]), ld->file->path);
        }
    }
}


/*
 * The keys stay as long as the file: one block of the array and the
 * names after it, instead of the growing array and the load's arena.
 * If that block cannot be had, the names stay in the arena, which the
 * file keeps.
 */
static void
gm_file_keys_pack(gm_file_load_t *ld)
{
    char           *p;
    size_t          i, size, len;
    gm_file_key_t  *keys, *k;

    size = ld->nkeys * sizeof(gm_file_key_t);

    for (i = 0; i < ld->nkeys; i++) {
        k = &ld->keys[i];
        size += gm_file_key_size(k);
    }

    keys = malloc(size);
    if (keys == NULL) {
        return;
    }

    p = (char *) (keys + ld->nkeys);

    for (i = 0; i < ld->nkeys; i++) {
        k = &ld->keys[i];
        keys[i] = *k;

        len = gm_file_key_size(k);
        memcpy(p, k->ns, len);

        keys[i].ns = p;
        p += len;
    }

    free(ld->keys);
    gm_arena_destroy(ld->names);
    ld->names = NULL;
    ld->keys = keys;
    ld->cap = ld->nkeys;
}


void
gm_file_keys_free(gm_file_key_t *keys, gm_arena_t *names)
{
    free(keys);
    gm_arena_destroy(names);
}


int
gm_file_drop(gm_file_source_t *fs, gm_file_t *f)
{
    int     changed;
    size_t  i;

    changed = 0;

    for (i = 0; i < f->nkeys; i++) {
        changed |= gm_file_forget(fs, f, &f->keys[i]);
    }

    gm_file_keys_free(f->keys, f->names);
    f->keys = NULL;
    f->nkeys = 0;
    f->names = NULL;

    return changed;
}


/*
 * An object a file no longer holds leaves the store, unless another file
 * defines it too: then those files are read again, and the first of them
 * by name provides it.  A version that was not the one used changes
 * nothing.
 */
int
gm_file_forget(gm_file_source_t *fs, gm_file_t *f, gm_file_key_t *key)
{
    int         shared;
    gm_file_t  *other;

    if (!key->owner) {
        return 0;
    }

    shared = 0;

    for (other = fs->files; other; other = other->next) {
        if (other != f && gm_file_keys_find(other->keys, other->nkeys, key))
        {
            other->stale = 1;
            shared = 1;
        }
    }

    if (shared) {
        gm_log(fs->log, GM_LOG_NOTICE, "%s %s/%s left \"%s\": another file "
               "that defines it provides it now", gm_kind_name(key->kind),
               key->ns, gm_file_key_name(key), f->path);
        return 0;
    }

    return gm_store_delete(fs->store, key->kind, key->ns,
                           gm_file_key_name(key));
}


/* the two names and their NULs */
static size_t
gm_file_key_size(const gm_file_key_t *key)
{
    const char  *name;

    name = gm_file_key_name(key);

    return (size_t) (name - key->ns) + strlen(name) + 1;
}
