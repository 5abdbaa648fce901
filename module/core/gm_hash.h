/*
 * nginx-gamma: FNV-1a, the one hash of the core, the source process and
 * the balancer and metrics.  Callers compose it: a start value, bytes,
 * separators, and a fold of their own.  Its values are kept as they are:
 * the session cookie's name and the balancer's consistent hash depend on
 * them, and the status writer keeps them between passes.
 */

#ifndef GM_HASH_H
#define GM_HASH_H


#include <stddef.h>
#include <stdint.h>


#define GM_FNV64_BASIS  14695981039346656037ULL
#define GM_FNV64_PRIME  1099511628211ULL

#define GM_FNV32_BASIS  2166136261u
#define GM_FNV32_PRIME  16777619u


/* one step with a whole value, not byte by byte (a count, a family) */
static inline uint64_t
gm_fnv64_value(uint64_t h, uint64_t v)
{
    return (h ^ v) * GM_FNV64_PRIME;
}


static inline uint64_t
gm_fnv64_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * GM_FNV64_PRIME;
}


static inline uint64_t
gm_fnv64_add(uint64_t h, const void *p, size_t len)
{
    size_t                i;
    const unsigned char  *c;

    c = p;

    for (i = 0; i < len; i++) {
        h = (h ^ c[i]) * GM_FNV64_PRIME;
    }

    return h;
}


static inline uint64_t
gm_fnv64_add_str(uint64_t h, const char *s)
{
    for ( /* void */ ; *s; s++) {
        h = (h ^ (unsigned char) *s) * GM_FNV64_PRIME;
    }

    return h;
}


/* for the callers that keep 0 for "no hash" */
static inline uint64_t
gm_fnv64_nonzero(uint64_t h)
{
    return h ? h : 1;
}


static inline uint32_t
gm_fnv32_add(uint32_t h, const void *p, size_t len)
{
    size_t                i;
    const unsigned char  *c;

    c = p;

    for (i = 0; i < len; i++) {
        h = (h ^ c[i]) * GM_FNV32_PRIME;
    }

    return h;
}


#endif /* GM_HASH_H */
