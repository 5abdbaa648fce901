/*
 * nginx-gamma: libFuzzer target for gm_manifest_parse() feeding
 * gm_object_parse(), as the file source does.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gm_manifest.h"
#include "gm_object_parse.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* formats every line, so that bad format arguments show up */
static void
fuzz_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    (void) level;

    *(size_t *) data += strlen(msg);
}


static void
fuzz_doc(void *data, json_t *doc, size_t index)
{
    int           ignored;
    gm_object_t  *obj;

    (void) index;

    obj = gm_object_parse(doc, data, &ignored);
    gm_object_free(obj);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t    logged;
    gm_log_t  log;

    logged = 0;
    log.handler = fuzz_log_handler;
    log.data = &logged;

    (void) gm_manifest_parse((const char *) data, size, "fuzz", fuzz_doc,
                             &log, &log);

    return 0;
}
