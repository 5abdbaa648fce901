/*
 * nginx-gamma: the service-account token, read from its file and re-read
 * when the file changes (the kubelet rotates it), at least every minute,
 * and after a 401.  The token itself is never logged.
 */

#ifndef GM_KUBE_AUTH_H
#define GM_KUBE_AUTH_H


#include <stddef.h>
#include <stdint.h>

#include "gm_log.h"


#define GM_KUBE_TOKEN_MAX        65536
#define GM_KUBE_TOKEN_REREAD_MS  60000


typedef struct gm_kube_token_s  gm_kube_token_t;


/* path NULL: no token; NULL on out of memory */
gm_kube_token_t *gm_kube_token_create(const char *path, const gm_log_t *log);
void gm_kube_token_destroy(gm_kube_token_t *t);

/* the current token, or NULL when there is none */
const char *gm_kube_token_get(gm_kube_token_t *t, int64_t now_ms);

/* the API server refused the token: read the file again next time */
void gm_kube_token_expire(gm_kube_token_t *t);

/*
 * Reads a small file whole, surrounding whitespace trimmed.  Returns a
 * malloc()ed string, or NULL with errno set (EFBIG when larger than max).
 */
char *gm_kube_read_file(const char *path, size_t max);


#endif /* GM_KUBE_AUTH_H */
