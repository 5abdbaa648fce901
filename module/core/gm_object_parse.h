/*
 * nginx-gamma: objects from their JSON form (a decoded manifest or an
 * API list item).  Only the parsers and the sources include it: the
 * compiler and the nginx glue see the typed objects of gm_object.h.
 */

#ifndef GM_OBJECT_PARSE_H
#define GM_OBJECT_PARSE_H


#include <jansson.h>

#include "gm_log.h"
#include "gm_object.h"


/*
 * Parses and validates one object.  Returns NULL when the object is
 * invalid or of a kind we do not use; in the invalid case one line naming
 * "kind ns/name" and the reason is logged.  *ignored is set to 1 when the
 * kind is simply not one of ours (not logged).
 */
gm_object_t *gm_object_parse(json_t *json, const gm_log_t *log,
    int *ignored);


#endif /* GM_OBJECT_PARSE_H */
