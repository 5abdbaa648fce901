/*
 * nginx-gamma: a bump allocator; everything in it is freed at once.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_arena.h"


#define GM_ARENA_ALIGN     8
#define GM_ARENA_MAX_STEP  65536


/*
 * Structures are taken from the bottom of a block, strings from its top
 * (memory, issue 12): a string between two structures would cost the
 * second one its alignment, 3.5 bytes on average.
 */
struct gm_arena_block_s {
    gm_arena_block_t  *next;
    size_t             size;
    size_t             used;          /* the structures: data[0, used) */
    size_t             top;           /* the strings: data[top, size) */
    /* keeps data aligned on 16 bytes */
    _Alignas(16) unsigned char  data[];
};


static void *gm_arena_get(gm_arena_t *a, size_t size, size_t align);
static int gm_alloc_ok(void);
static void *gm_arena_malloc(void *data, size_t size);
static void gm_arena_free(void *data, void *p);


/* per thread: a test's hook never fails another thread's allocations */
static _Thread_local uint64_t  gm_alloc_n;
static _Thread_local uint64_t  gm_alloc_fail;
static _Thread_local int       gm_alloc_once;


static const gm_allocator_t  gm_arena_default_allocator = {
    gm_arena_malloc, gm_arena_free, NULL, NULL
};


int
gm_allocator_exhausted(const gm_allocator_t *al)
{
    return al != NULL && al->exhausted != NULL && al->exhausted(al->data);
}


gm_arena_t *
gm_arena_create(size_t block_size)
{
    return gm_arena_create_in(block_size, NULL);
}


gm_arena_t *
gm_arena_create_in(size_t block_size, const gm_allocator_t *al)
{
    gm_arena_t  *a;

    if (al == NULL) {
        al = &gm_arena_default_allocator;
    }

    a = gm_alloc_ok() ? al->alloc(al->data, sizeof(gm_arena_t)) : NULL;
    if (a == NULL) {
        return NULL;
    }

    memset(a, 0, sizeof(gm_arena_t));
    a->block_size = block_size ? block_size : 16384;
    a->allocator = *al;

    return a;
}


void
gm_arena_destroy(gm_arena_t *a)
{
    gm_allocator_t     al;
    gm_arena_block_t  *b, *next;

    if (a == NULL) {
        return;
    }

    al = a->allocator;

    for (b = a->blocks; b; b = next) {
        next = b->next;
        al.free(al.data, b);
    }

    al.free(al.data, a);
}


void *
gm_arena_alloc(gm_arena_t *a, size_t size)
{
    return gm_arena_get(a, size, GM_ARENA_ALIGN);
}


/* align: a power of two; 1 (strings) takes the top of the block */
static void *
gm_arena_get(gm_arena_t *a, size_t size, size_t align)
{
    int                regular;
    size_t             bsize, off;
    gm_arena_block_t  *b;

    /* the hook fails any allocation, not only the ones that need a block */
    if (!gm_alloc_ok()) {
        return NULL;
    }

    b = a->blocks;
    off = (b != NULL) ? (b->used + align - 1) & ~(align - 1) : 0;

    if (b == NULL || off > b->top || b->top - off < size) {
        /*
         * A regular block takes block_size bytes with its header: whole
         * pages from a page allocator (the nginx glue's slab zone).
         */
        regular = (size <= a->block_size / 4);
        bsize = regular ? a->block_size - sizeof(gm_arena_block_t) : size;

        b = a->allocator.alloc(a->allocator.data,
                               sizeof(gm_arena_block_t) + bsize);
        if (b == NULL) {
            return NULL;
        }

        b->size = bsize;
        b->used = 0;
        b->top = bsize;
        a->total += sizeof(gm_arena_block_t) + bsize;

        if (regular || a->blocks == NULL) {
            b->next = a->blocks;
            a->blocks = b;

            /* small arenas stay small; busy ones take bigger steps */
            if (a->block_size < GM_ARENA_MAX_STEP) {
                a->block_size *= 2;
            }

        } else {
            /* a big block goes behind the current one, so it stays in use */
            b->next = a->blocks->next;
            a->blocks->next = b;
        }

        off = 0;
    }

    if (align == 1) {
        b->top -= size;
        return b->data + b->top;
    }

    b->used = off + size;

    return b->data + off;
}


void *
gm_arena_bytes(gm_arena_t *a, size_t size)
{
    return gm_arena_get(a, size, 1);
}


void *
gm_arena_calloc(gm_arena_t *a, size_t size)
{
    void  *p;

    p = gm_arena_alloc(a, size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


size_t
gm_arena_used(const gm_arena_t *a)
{
    size_t             used;
    gm_arena_block_t  *b;

    used = 0;

    /* in one block, each block's first allocation may need its padding */
    for (b = a->blocks; b; b = b->next) {
        used += b->used + (b->size - b->top)
                + (b->next ? GM_ARENA_ALIGN - 1 : 0);
    }

    return used;
}


size_t
gm_arena_fit(size_t used)
{
    return sizeof(gm_arena_block_t) + used;
}


int
gm_arena_strdup(gm_arena_t *a, gm_str_t *dst, const char *src, size_t len)
{
    /* never written to: every empty string can be this one */
    static char  empty[1];

    if (len == 0) {
        dst->data = empty;
        dst->len = 0;
        return 0;
    }

    dst->data = gm_arena_get(a, len + 1, 1);
    if (dst->data == NULL) {
        return -1;
    }

    memcpy(dst->data, src, len);
    dst->data[len] = '\0';
    dst->len = len;

    return 0;
}


void *
gm_malloc(size_t size)
{
    return gm_alloc_ok() ? malloc(size) : NULL;
}


void *
gm_calloc(size_t n, size_t size)
{
    return gm_alloc_ok() ? calloc(n, size) : NULL;
}


void *
gm_realloc(void *p, size_t size)
{
    return gm_alloc_ok() ? realloc(p, size) : NULL;
}


void
gm_alloc_fail_at(uint64_t nth, int once)
{
    gm_alloc_n = 0;
    gm_alloc_fail = nth;
    gm_alloc_once = once;
}


uint64_t
gm_alloc_count(void)
{
    return gm_alloc_n;
}


/* counts one allocation; 0 when the hook makes it fail */
static int
gm_alloc_ok(void)
{
    gm_alloc_n++;

    return gm_alloc_fail == 0 || gm_alloc_n < gm_alloc_fail
           || (gm_alloc_once && gm_alloc_n > gm_alloc_fail);
}


static void *
gm_arena_malloc(void *data, size_t size)
{
    (void) data;

    return malloc(size);
}


static void
gm_arena_free(void *data, void *p)
{
    (void) data;

    free(p);
}
