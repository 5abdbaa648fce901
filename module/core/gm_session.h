/*
 * nginx-gamma: session persistence (GEP-1619, spec 1.14 and 2.4), the
 * rule's own sessionPersistence or an XBackendTrafficPolicy's, and the
 * token that names a session's endpoint.
 *
 * A token is "IIIIIIII.MMMMMMMMMMMMMMMM": the second it was issued and a
 * SipHash-2-4 of the endpoint's address under the instance's secret key,
 * the session's scope (its rule, or the Service port passed through) and
 * that second.  It never says where to connect: the proxy finds which of
 * the backend's ready endpoints it names, and one that names none (an
 * endpoint gone, another scope, a guess) starts a new session.
 */

#ifndef GM_SESSION_H
#define GM_SESSION_H


#include <stddef.h>
#include <stdint.h>

#include "gm_str.h"


#define GM_SESSION_KEY_LEN       16
/* 8 hex digits, ".", 16 hex digits */
#define GM_SESSION_TOKEN_LEN     25
/* "gamma-session-" and 8 hex digits: a name per rule (spec 1.14) */
#define GM_SESSION_NAME_PREFIX   "gamma-session-"
#define GM_SESSION_NAME_LEN      (sizeof(GM_SESSION_NAME_PREFIX) - 1 + 8)
/* CookieName and HeaderName: 1 to 256 token characters */
#define GM_SESSION_NAME_MAX      256
#define GM_SESSION_PATH_MAX      1024
/* absoluteTimeout, at most (a token holds seconds) */
#define GM_SESSION_MAX_TIMEOUT_MS  (365LL * 24 * 3600 * 1000)


typedef enum {
    GM_SESSION_COOKIE = 0,
    GM_SESSION_HEADER
} gm_session_type_e;

/* one sessionPersistence, as parsed and as compiled */
typedef struct {
    gm_session_type_e   type;
    gm_str_t            name;        /* as written; empty: one per rule */
    gm_str_t            lname;       /* Header: lowercase, for lookups */
    gm_str_t            path;        /* cookie.path; empty: the rule's */
    unsigned            permanent:1; /* cookie.lifetimeType Permanent */
    int64_t             absolute_ms; /* absoluteTimeout; 0: none */
    gm_str_t            policy;      /* XBackendTrafficPolicy "ns/name" */
} gm_session_t;


uint64_t gm_siphash(const uint8_t *key, const void *data, size_t len);

/* the hash of a session's scope (a rule's or a frontend's label) */
uint64_t gm_session_scope(const uint8_t *key, const char *scope, size_t len);

/* the MAC of an endpoint ("10.0.0.1:8080") within a scope, at a second */
uint64_t gm_session_mac(const uint8_t *key, uint64_t scope, uint32_t issued,
    const char *endpoint, size_t len);

/* writes GM_SESSION_TOKEN_LEN characters, no NUL */
void gm_session_token_format(char *out, uint32_t issued, uint64_t mac);

/* 0 and the parts, or -1 when s is no token at all */
int gm_session_token_parse(const char *s, size_t len, uint32_t *issued,
    uint64_t *mac);

/* whether a token issued then is past absoluteTimeout now (0: never) */
int gm_session_expired(uint32_t issued, uint32_t now, int64_t absolute_ms);

/* the generated name of a scope's session, GM_SESSION_NAME_LEN bytes */
void gm_session_default_name(char *out, const char *scope, size_t len);


#endif /* GM_SESSION_H */
