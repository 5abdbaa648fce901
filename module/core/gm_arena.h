/*
 * nginx-gamma: a bump allocator; everything in it is freed at once.
 */

#ifndef GM_ARENA_H
#define GM_ARENA_H


#include <stddef.h>
#include <stdint.h>

#include "gm_str.h"


typedef struct gm_arena_block_s  gm_arena_block_t;

/*
 * Where an arena's blocks come from: malloc() by default, or another
 * allocator (the nginx glue's shared memory zone).  alloc returns NULL
 * when the memory is exhausted.  exhausted (NULL for malloc()) says
 * whether alloc refused a request since the build began: the allocator's
 * owner then reports that failure with its sizes, and the compiler and
 * the watcher do not add a generic "out of memory" before it.
 */
typedef struct {
    void              *(*alloc)(void *data, size_t size);
    void               (*free)(void *data, void *p);
    void               *data;
    int                (*exhausted)(void *data);
} gm_allocator_t;

typedef struct {
    gm_arena_block_t  *blocks;
    size_t             block_size;
    size_t             total;         /* bytes obtained from the allocator */
    gm_allocator_t     allocator;
} gm_arena_t;


/* the first block holds block_size bytes; later ones double, to 64 KB */
gm_arena_t *gm_arena_create(size_t block_size);
/* the same with another allocator, which also holds the gm_arena_t */
gm_arena_t *gm_arena_create_in(size_t block_size, const gm_allocator_t *al);
void gm_arena_destroy(gm_arena_t *a);
/* 8-byte aligned (no structure needs more); NULL on allocation failure */
void *gm_arena_alloc(gm_arena_t *a, size_t size);
void *gm_arena_calloc(gm_arena_t *a, size_t size);
/* unaligned, for bytes (strings packed one after the other) */
void *gm_arena_bytes(gm_arena_t *a, size_t size);
/* the bytes handed out so far, alignment included */
size_t gm_arena_used(const gm_arena_t *a);
/* the block_size of an arena whose first block holds "used" bytes */
size_t gm_arena_fit(size_t used);
/* copies len bytes and appends a NUL; returns -1 on failure */
int gm_arena_strdup(gm_arena_t *a, gm_str_t *dst, const char *src,
    size_t len);

/* al (NULL: malloc()) refused a request of this build: its owner reports */
int gm_allocator_exhausted(const gm_allocator_t *al);

/*
 * malloc(), calloc() and realloc() for the compiler's scratch vectors:
 * like arena blocks they count as allocations for the hook below.
 */
void *gm_malloc(size_t size);
void *gm_calloc(size_t n, size_t size);
void *gm_realloc(void *p, size_t size);

/*
 * The allocation-failure hook, for tests: from now on, the nth allocation
 * the calling thread makes (arenas and the functions above; 1 is the next
 * one) fails, and with once 0 so does every later one until the hook is
 * reset; nth 0 turns it off.  gm_alloc_count() is the number of
 * allocations the thread made since the last gm_alloc_fail_at().
 */
void gm_alloc_fail_at(uint64_t nth, int once);
uint64_t gm_alloc_count(void);


#endif /* GM_ARENA_H */
