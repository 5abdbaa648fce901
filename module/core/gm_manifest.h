/*
 * nginx-gamma: the documents of a manifest file, JSON or multi-document
 * YAML, as jansson values.
 */

#ifndef GM_MANIFEST_H
#define GM_MANIFEST_H


#include <stddef.h>
#include <jansson.h>

#include "gm_limits.h"
#include "gm_log.h"


/*
 * Called once per object of the file.  doc is a borrowed reference: the
 * parser releases it after the callback returns, so json_incref() it to
 * keep it.  index counts the documents handed out, from 0.
 */
typedef void (*gm_manifest_doc_pt)(void *data, json_t *doc, size_t index);


/*
 * Parses the whole buffer first and only then hands out its documents:
 * on an error nothing is handed out, one line naming source_name, the
 * line, the column and the reason is logged, and -1 is returned.
 *
 * Input starting with '{' or '[' is JSON (even when it would be valid
 * YAML flow style): one value or several values one after another;
 * anything else is YAML, read with the YAML 1.2 core
 * schema (quoted scalars are always strings), anchors, aliases and "<<"
 * merge keys included.  A top-level array, and the items of any kind
 * "List" or "<Kind>List", are handed out one by one; list items without
 * kind/apiVersion get them from a "<Kind>List".  Empty documents and
 * scalars are skipped.
 */
int gm_manifest_parse(const char *buf, size_t len, const char *source_name,
    gm_manifest_doc_pt cb, void *data, const gm_log_t *log);


#endif /* GM_MANIFEST_H */
