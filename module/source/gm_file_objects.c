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

/* qsort_r() */
#define _GNU_SOURCE

#include <stdlib.h>
#include <string.h>

#include "gm_file_source_int.h"
#include "gm_hash.h"
#include "gm_object_parse.h"
#include "gm_reject.h"


static int gm_file_define(gm_file_load_t *ld, gm_object_t *obj,
    uint64_t hash);
static uint64_t gm_file_doc_hash(json_t *doc);
static int gm_file_unchanged(gm_file_load_t *ld, const gm_file_name_t *key,
    uint64_t hash);
static void gm_file_keep_invalid(gm_file_load_t *ld, json_t *doc);
static gm_file_key_t *gm_file_keys_add(gm_file_load_t *ld,
    const gm_file_name_t *key, uint64_t hash, unsigned owner);
static int gm_file_key_cmp(const void *one, const void *two, void *base);
static int gm_file_name_cmp(const gm_file_name_t *a, const char *base,
    const gm_file_key_t *b);
static void gm_file_keys_pack(gm_file_load_t *ld);
static gm_file_key_t *gm_file_find(const gm_file_t *f,
    const gm_file_name_t *key);


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
    gm_file_t       *f, *other, *first;
    gm_file_key_t   *k, *ok;
    gm_file_name_t   key;

    key.kind = obj->body->meta.kind;
    key.ns = obj->body->meta.ns.data;
    key.name = obj->body->meta.name.data;

    first = ld->file;
    other = NULL;

    for (f = ld->fs->files; f; f = f->next) {
        if (f == ld->file || gm_file_find(f, &key) == NULL) {
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
               gm_kind_name(key.kind), key.ns, key.name,
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
        ok = (f == ld->file) ? NULL : gm_file_find(f, &key);
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
    char      *text;
    uint64_t   h;

    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL) {
        return 0;
    }

    h = gm_fnv64_add_str(GM_FNV64_BASIS, text);

    free(text);

    return gm_fnv64_nonzero(h);
}


/*
 * The same document as this file's version in the store: nothing to put.
 * Not for a key that appears twice in the file (the later one wins).
 */
static int
gm_file_unchanged(gm_file_load_t *ld, const gm_file_name_t *key,
    uint64_t hash)
{
    gm_file_key_t  *prev;

    prev = gm_file_find(ld->file, key);

    if (prev == NULL) {
        return 0;
    }

    if (prev->again) {
        return 0;
    }

    prev->again = 1;

    return hash != 0 && prev->owner && prev->hash == hash
           && gm_store_get(ld->fs->store, key->kind, key->ns, key->name)
              != NULL;
}


/* an invalid object keeps its previous version, if this file had it */
static void
gm_file_keep_invalid(gm_file_load_t *ld, json_t *doc)
{
    json_t          *meta;
    const char      *kind;
    gm_file_key_t   *prev;
    gm_file_name_t   key;

    kind = json_string_value(json_object_get(doc, "kind"));
    meta = json_object_get(doc, "metadata");
    key.name = json_string_value(json_object_get(meta, "name"));
    key.ns = json_string_value(json_object_get(meta, "namespace"));

    if (kind == NULL || key.name == NULL) {
        return;
    }

    if (key.ns == NULL) {
        key.ns = "default";
    }

    for (key.kind = 0; key.kind < GM_KIND_MAX; key.kind++) {
        if (strcmp(kind, gm_kind_name(key.kind)) != 0) {
            continue;
        }

        prev = gm_file_find(ld->file, &key);

        if (prev && prev->owner
            && gm_store_get(ld->fs->store, key.kind, key.ns, key.name))
        {
            gm_file_keys_add(ld, &key, prev->hash, 1);

        } else if (gm_store_get(ld->fs->store, key.kind, key.ns, key.name)
                   == NULL)
        {
            /* never valid: the key stays, its rejection goes with it */
            gm_file_keys_add(ld, &key, 0, 1);
        }
    }
}


/* the names of a key in its set (a file's or a load's) */
gm_file_name_t
gm_file_key_names(const char *base, const gm_file_key_t *key)
{
    gm_file_name_t  n;

    n.kind = key->kind;
    n.ns = base + key->names;
    n.name = n.ns + strlen(n.ns) + 1;

    return n;
}


/* the names of a file's keys: after the array, or the load's buffer */
const char *
gm_file_names(const gm_file_t *f)
{
    if (f->names != NULL || f->keys == NULL) {
        return f->names;
    }

    return (const char *) (f->keys + f->nkeys);
}


/* the names the load appends to: "ns\0name\0", an offset each */
static gm_file_key_t *
gm_file_keys_add(gm_file_load_t *ld, const gm_file_name_t *from,
    uint64_t hash, unsigned owner)
{
    char           *names;
    size_t          ns_len, name_len, cap;
    gm_file_key_t  *keys, key;

    if (ld->nkeys == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 16;
        keys = realloc(ld->keys, ld->cap * sizeof(gm_file_key_t));
        if (keys == NULL) {
            return NULL;
        }

        ld->keys = keys;
    }

    ns_len = strlen(from->ns);
    name_len = strlen(from->name);

    if (ld->names_len + ns_len + name_len + 2 > UINT32_MAX) {
        return NULL;
    }

    if (ld->names_len + ns_len + name_len + 2 > ld->names_cap) {
        cap = ld->names_cap ? ld->names_cap * 2 : 4096;

        while (cap < ld->names_len + ns_len + name_len + 2) {
            cap *= 2;
        }

        names = realloc(ld->names, cap);
        if (names == NULL) {
            return NULL;
        }

        ld->names = names;
        ld->names_cap = cap;
    }

    memcpy(ld->names + ld->names_len, from->ns, ns_len + 1);
    memcpy(ld->names + ld->names_len + ns_len + 1, from->name, name_len + 1);

    key.hash = hash;
    key.names = (uint32_t) ld->names_len;
    key.kind = from->kind;
    key.owner = owner;
    key.again = 0;

    ld->names_len += ns_len + name_len + 2;
    ld->keys[ld->nkeys++] = key;

    return &ld->keys[ld->nkeys - 1];
}


/* base: the names of both keys */
static int
gm_file_key_cmp(const void *one, const void *two, void *base)
{
    gm_file_name_t  a;

    a = gm_file_key_names(base, one);

    return gm_file_name_cmp(&a, base, two);
}


static int
gm_file_name_cmp(const gm_file_name_t *a, const char *base,
    const gm_file_key_t *key)
{
    int             rc;
    gm_file_name_t  b;

    b = gm_file_key_names(base, key);

    if (a->kind != b.kind) {
        return a->kind < b.kind ? -1 : 1;
    }

    rc = strcmp(a->ns, b.ns);

    return rc ? rc : strcmp(a->name, b.name);
}


static gm_file_key_t *
gm_file_find(const gm_file_t *f, const gm_file_name_t *key)
{
    return gm_file_keys_find(f->keys, f->nkeys, gm_file_names(f), key);
}


gm_file_key_t *
gm_file_keys_find(gm_file_key_t *keys, size_t n, const char *base,
    const gm_file_name_t *key)
{
    int     rc;
    size_t  lo, hi, mid;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = gm_file_name_cmp(key, base, &keys[mid]);

        if (rc == 0) {
            return &keys[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


void
gm_file_keys_sort(gm_file_load_t *ld)
{
    size_t           i;
    const char      *base;
    gm_file_name_t   n;

    if (ld->nkeys == 0) {
        free(ld->names);
        ld->names = NULL;
        return;
    }

    gm_file_keys_pack(ld);

    base = gm_file_load_names(ld);

    qsort_r(ld->keys, ld->nkeys, sizeof(gm_file_key_t), gm_file_key_cmp,
            (void *) base);

    for (i = 1; i < ld->nkeys; i++) {
        if (gm_file_key_cmp(&ld->keys[i - 1], &ld->keys[i], (void *) base)
            == 0)
        {
            /* which one the next read finds is not known: put it again */
            ld->keys[i - 1].hash = 0;
            ld->keys[i].hash = 0;

            n = gm_file_key_names(base, &ld->keys[i]);
            gm_log(&ld->fs->limit.log, GM_LOG_WARN,
                   "%s %s/%s appears twice in \"%s\", the later one wins",
                   gm_kind_name(n.kind), n.ns, n.name, ld->file->path);
        }
    }
}


const char *
gm_file_load_names(const gm_file_load_t *ld)
{
    if (ld->names != NULL || ld->keys == NULL) {
        return ld->names;
    }

    return (const char *) (ld->keys + ld->nkeys);
}


/*
 * The keys stay as long as the file: one block of the array and the
 * names after it (the offsets stay), instead of the growing array and
 * the load's buffer.  If that block cannot be had, the file keeps the
 * array and the buffer.
 */
static void
gm_file_keys_pack(gm_file_load_t *ld)
{
    gm_file_key_t  *keys;

    keys = malloc(ld->nkeys * sizeof(gm_file_key_t) + ld->names_len);
    if (keys == NULL) {
        return;
    }

    memcpy(keys, ld->keys, ld->nkeys * sizeof(gm_file_key_t));
    memcpy(keys + ld->nkeys, ld->names, ld->names_len);

    free(ld->keys);
    free(ld->names);
    ld->names = NULL;
    ld->keys = keys;
    ld->cap = ld->nkeys;
}


void
gm_file_keys_free(gm_file_key_t *keys, char *names)
{
    free(keys);
    free(names);
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
    int              shared;
    gm_file_t       *other;
    gm_file_name_t   n;

    if (!key->owner) {
        return 0;
    }

    n = gm_file_key_names(gm_file_names(f), key);
    shared = 0;

    for (other = fs->files; other; other = other->next) {
        if (other != f && gm_file_find(other, &n)) {
            other->stale = 1;
            shared = 1;
        }
    }

    if (shared) {
        gm_log(fs->log, GM_LOG_NOTICE, "%s %s/%s left \"%s\": another file "
               "that defines it provides it now", gm_kind_name(n.kind),
               n.ns, n.name, f->path);
        return 0;
    }

    return gm_store_delete(fs->store, n.kind, n.ns, n.name);
}
