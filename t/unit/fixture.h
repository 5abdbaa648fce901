/*
 * nginx-gamma: terse builders of Services, EndpointSlices, HTTPRoutes and
 * requests for the unit tests, without the parser.
 *
 * Services:  fx_service("ns", "svc", "10.96.0.1,fd00::1", "http:80>8080,81")
 *            ips "None" makes a headless Service; a port is
 *            [name:]port[>targetPort], targetPort a number or a name.
 * Slices:    fx_slice("ns", "svc-1", "svc", "http:8080",
 *                     "10.1.0.1;10.1.0.2,10.1.0.3;!10.1.0.4")
 *            endpoints are ';'-separated, the addresses of one endpoint
 *            ','-separated, a leading '!' marks it not ready.
 * Routes:    built in order; each call adds to the last rule / match:
 *            rt = fx_route("ns", "r", created);
 *            fx_parent(rt, "ns", "svc", 0, NULL);
 *            fx_rule(rt, NULL);
 *            fx_match(rt, GM_MATCH_PREFIX, "/v1");
 *            fx_header(rt, GM_MATCH_EXACT, "x-env", "canary");
 *            fx_backend(rt, "ns", "svc-v1", 80, 1);
 */

#ifndef GM_FIXTURE_H
#define GM_FIXTURE_H


#include "gm_object.h"
#include "gm_store.h"
#include "gm_match.h"


gm_object_t *fx_service(const char *ns, const char *name, const char *ips,
    const char *ports);
gm_object_t *fx_slice(const char *ns, const char *name, const char *service,
    const char *ports, const char *endpoints);
gm_object_t *fx_route(const char *ns, const char *name, int64_t created);

void fx_created(gm_object_t *obj, int64_t created);

/* group "" kind Service; port 0 and section NULL: unset */
gm_parent_ref_t *fx_parent(gm_object_t *route, const char *ns,
    const char *name, uint16_t port, const char *section);
/* name NULL: unnamed; the rule has no matches until fx_match */
gm_http_rule_t *fx_rule(gm_object_t *route, const char *name);
/* the rule's out-of-line part, made (unset) on first use */
gm_http_rule_ext_t *fx_rule_ext(gm_object_t *route, gm_http_rule_t *rule);
/* path NULL: PathPrefix "/" */
gm_http_match_t *fx_match(gm_object_t *route, gm_match_type_e type,
    const char *path);
void fx_method(gm_object_t *route, const char *method);
void fx_header(gm_object_t *route, gm_match_type_e type, const char *name,
    const char *value);
void fx_query(gm_object_t *route, gm_match_type_e type, const char *name,
    const char *value);
gm_backend_ref_t *fx_backend(gm_object_t *route, const char *ns,
    const char *name, uint16_t port, uint32_t weight);

/* headers: { "name", "value", ..., NULL }; args and headers may be NULL */
gm_request_t fx_request(const char *method, const char *path,
    const char *args, const char **headers);

/* a log handler: counts lines, and keeps the last warning or error */
typedef struct {
    int    n;
    int    nwarn;                     /* warnings and errors */
    char   last[1024];
} fx_log_t;

gm_log_t fx_logger(fx_log_t *fl);

gm_addr_t fx_addr(const char *text);

/* below n, the same sequence from the same *seed on every machine (an LCG) */
uint32_t fx_rand(uint32_t *seed, uint32_t n);

/* every object of a YAML text parsed and put into store, log told why not */
void fx_put_yaml(gm_store_t *store, const char *yaml, const gm_log_t *log);


#endif /* GM_FIXTURE_H */
