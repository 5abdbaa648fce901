/*
 * nginx-gamma: session persistence tokens (gm_session.h): SipHash-2-4
 * (Aumasson and Bernstein, 2012) as the MAC, the token's text form, and
 * the generated session names.
 */

#include <stdint.h>
#include <string.h>

#include "gm_hash.h"
#include "gm_session.h"
#include "gm_snapshot.h"


#define gm_rotl(x, b)  (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

#define gm_sipround(v0, v1, v2, v3)                                          \
    do {                                                                     \
        v0 += v1; v1 = gm_rotl(v1, 13); v1 ^= v0; v0 = gm_rotl(v0, 32);      \
        v2 += v3; v3 = gm_rotl(v3, 16); v3 ^= v2;                            \
        v0 += v3; v3 = gm_rotl(v3, 21); v3 ^= v0;                            \
        v2 += v1; v1 = gm_rotl(v1, 17); v1 ^= v2; v2 = gm_rotl(v2, 32);      \
    } while (0)


static uint64_t gm_le64(const uint8_t *p, size_t n);
static int gm_hex(const char *s, size_t n, uint64_t *out);


static uint64_t
gm_le64(const uint8_t *p, size_t n)
{
    size_t    i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < n; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }

    return v;
}


uint64_t
gm_siphash(const uint8_t *key, const void *data, size_t len)
{
    size_t          i, left;
    uint64_t        k0, k1, v0, v1, v2, v3, m, b;
    const uint8_t  *p;

    p = data;
    k0 = gm_le64(key, 8);
    k1 = gm_le64(key + 8, 8);

    v0 = k0 ^ 0x736f6d6570736575ULL;
    v1 = k1 ^ 0x646f72616e646f6dULL;
    v2 = k0 ^ 0x6c7967656e657261ULL;
    v3 = k1 ^ 0x7465646279746573ULL;

    for (i = 0; i + 8 <= len; i += 8) {
        m = gm_le64(p + i, 8);
        v3 ^= m;
        gm_sipround(v0, v1, v2, v3);
        gm_sipround(v0, v1, v2, v3);
        v0 ^= m;
    }

    left = len - i;
    b = ((uint64_t) len << 56) | gm_le64(p + i, left);

    v3 ^= b;
    gm_sipround(v0, v1, v2, v3);
    gm_sipround(v0, v1, v2, v3);
    v0 ^= b;

    v2 ^= 0xff;
    gm_sipround(v0, v1, v2, v3);
    gm_sipround(v0, v1, v2, v3);
    gm_sipround(v0, v1, v2, v3);
    gm_sipround(v0, v1, v2, v3);

    return v0 ^ v1 ^ v2 ^ v3;
}


uint64_t
gm_session_scope(const uint8_t *key, const char *scope, size_t len)
{
    return gm_siphash(key, scope, len);
}


/* the scope, the second, then the address: one block of at most 76 bytes */
uint64_t
gm_session_mac(const uint8_t *key, uint64_t scope, uint32_t issued,
    const char *endpoint, size_t len)
{
    size_t   i;
    uint8_t  buf[12 + 64];

    if (len > 64) {
        len = 64;
    }

    for (i = 0; i < 8; i++) {
        buf[i] = (uint8_t) (scope >> (8 * i));
    }

    for (i = 0; i < 4; i++) {
        buf[8 + i] = (uint8_t) (issued >> (8 * i));
    }

    memcpy(buf + 12, endpoint, len);

    return gm_siphash(key, buf, 12 + len);
}


void
gm_session_token_format(char *out, uint32_t issued, uint64_t mac)
{
    int                i;
    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < 8; i++) {
        out[i] = hex[(issued >> (28 - 4 * i)) & 0xf];
    }

    out[8] = '.';

    for (i = 0; i < 16; i++) {
        out[9 + i] = hex[(mac >> (60 - 4 * i)) & 0xf];
    }
}


static int
gm_hex(const char *s, size_t n, uint64_t *out)
{
    size_t    i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            v = (v << 4) | (uint64_t) (s[i] - '0');

        } else if (s[i] >= 'a' && s[i] <= 'f') {
            v = (v << 4) | (uint64_t) (s[i] - 'a' + 10);

        } else {
            return -1;
        }
    }

    *out = v;

    return 0;
}


int
gm_session_token_parse(const char *s, size_t len, uint32_t *issued,
    uint64_t *mac)
{
    uint64_t  t;

    if (len != GM_SESSION_TOKEN_LEN || s[8] != '.'
        || gm_hex(s, 8, &t) != 0 || gm_hex(s + 9, 16, mac) != 0)
    {
        return -1;
    }

    *issued = (uint32_t) t;

    return 0;
}


int
gm_session_expired(uint32_t issued, uint32_t now, int64_t absolute_ms)
{
    int64_t  age;

    if (absolute_ms <= 0) {
        return 0;
    }

    /* a token from the future was not issued here */
    age = (int64_t) now - (int64_t) issued;

    return age < 0 || age * 1000 >= absolute_ms;
}


void
gm_session_default_name(char *out, const char *scope, size_t len)
{
    int                i;
    size_t             n;
    uint32_t           h;
    static const char  hex[] = "0123456789abcdef";

    h = gm_fnv32_add(GM_FNV32_BASIS, scope, len);

    n = sizeof(GM_SESSION_NAME_PREFIX) - 1;
    memcpy(out, GM_SESSION_NAME_PREFIX, n);

    for (i = 0; i < 8; i++) {
        out[n + i] = hex[(h >> (28 - 4 * i)) & 0xf];
    }
}


/* the rule's own wins over its backend's policy (spec 1.14) */
const gm_session_t *
gm_session_effective(const gm_rule_t *rule, const gm_backend_t *b)
{
    if (rule != NULL && rule->ext->session != NULL) {
        return rule->ext->session;
    }

    return b ? b->ext->session : NULL;
}
