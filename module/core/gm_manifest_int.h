/*
 * nginx-gamma: what the manifest readers share (gm_manifest.c for JSON
 * and the documents, gm_manifest_yaml.c for YAML): the error of a read.
 */

#ifndef GM_MANIFEST_INT_H
#define GM_MANIFEST_INT_H


#include "gm_manifest.h"


/* where reading stopped and why */
typedef struct {
    size_t   line;
    size_t   column;
    char     reason[GM_MANIFEST_REASON_MAX];
} gm_manifest_err_t;


/* sets err; returns -1 */
int gm_manifest_fail(gm_manifest_err_t *err, size_t line,
    size_t column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* appends the documents of a YAML stream to docs; -1 sets err */
int gm_yaml_load(const char *buf, size_t len, json_t *docs,
    gm_manifest_err_t *err);


#endif /* GM_MANIFEST_INT_H */
