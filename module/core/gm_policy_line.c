/*
 * nginx-gamma: one operator line, "<scope> <field> <value>" of
 * gamma_default and gamma_override, read into an entry.  No nginx type:
 * nginx.conf (ngx_http_gamma_policy_conf.c) and a fuzz target call it.
 */

#include <string.h>

#include "gm_policy.h"


int
gm_operator_line_parse(gm_operator_entry_t *e, unsigned override,
    const char *scope, size_t scope_len, const char *field, size_t field_len,
    const char *value, size_t value_len, gm_policy_alloc_pt alloc,
    void *pool, char *err, size_t errsize)
{
    uint32_t  bit;

    memset(e, 0, sizeof(gm_operator_entry_t));
    gm_policy_values_init(&e->v);
    e->override = override ? 1 : 0;

    if (gm_operator_scope_parse(e, scope, scope_len, alloc, pool, err,
                                errsize)
        != 0)
    {
        return GM_OPLINE_SCOPE;
    }

    bit = gm_policy_field(field, field_len);

    if (bit == 0) {
        return GM_OPLINE_FIELD;
    }

    if (gm_policy_value_parse(&e->v, bit, value, value_len, alloc, pool, err,
                              errsize)
        != 0)
    {
        return GM_OPLINE_VALUE;
    }

    return GM_OPLINE_OK;
}
