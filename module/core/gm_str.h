/*
 * nginx-gamma: counted strings for the plain-C core.
 */

#ifndef GM_STR_H
#define GM_STR_H


#include <stddef.h>
#include <string.h>


/* data is always NUL-terminated; len excludes the NUL */
typedef struct {
    size_t   len;
    char    *data;
} gm_str_t;


#define gm_str_eq(a, b)                                                      \
    ((a)->len == (b)->len && memcmp((a)->data, (b)->data, (a)->len) == 0)

#define gm_str_eq_cstr(a, s)                                                 \
    ((a)->len == strlen(s) && memcmp((a)->data, s, (a)->len) == 0)


#endif /* GM_STR_H */
