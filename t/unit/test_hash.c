/*
 * nginx-gamma: gm_hash.h, FNV-1a: the published test vectors, input split
 * anywhere hashing as the whole, and the values of the callers that leave
 * the process (the session cookie's name) or key a snapshot.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "gm_compile_int.h"
#include "gm_hash.h"
#include "gm_session.h"


static int
is_u64(uint64_t got, uint64_t want, const char *what)
{
    if (!ok(got == want, "%s", what)) {
        printf("#   got: 0x%016llx\n#   expected: 0x%016llx\n",
               (unsigned long long) got, (unsigned long long) want);
        return 0;
    }

    return 1;
}


static void
test_vectors(void)
{
    /* FNV-1a test vectors (Noll, "FNV hash" test suite) */
    is_u64(gm_fnv64_add(GM_FNV64_BASIS, "", 0), 0xcbf29ce484222325ULL,
           "fnv64: \"\"");
    is_u64(gm_fnv64_add(GM_FNV64_BASIS, "a", 1), 0xaf63dc4c8601ec8cULL,
           "fnv64: \"a\"");
    is_u64(gm_fnv64_add(GM_FNV64_BASIS, "foobar", 6), 0x85944171f73967e8ULL,
           "fnv64: \"foobar\"");
    is_u64(gm_fnv64_add_str(GM_FNV64_BASIS, "foobar"), 0x85944171f73967e8ULL,
           "fnv64: \"foobar\" as a C string");
    is_u64(gm_fnv64_byte(GM_FNV64_BASIS, 'a'), 0xaf63dc4c8601ec8cULL,
           "fnv64: 'a' as one byte");

    is_u64(gm_fnv32_add(GM_FNV32_BASIS, "", 0), 0x811c9dc5, "fnv32: \"\"");
    is_u64(gm_fnv32_add(GM_FNV32_BASIS, "a", 1), 0xe40c292c, "fnv32: \"a\"");
    is_u64(gm_fnv32_add(GM_FNV32_BASIS, "foobar", 6), 0xbf9cf968,
           "fnv32: \"foobar\"");

    /* a byte above 0x7f is hashed as unsigned, whatever char is */
    is_u64(gm_fnv64_add_str(GM_FNV64_BASIS, "\xc3\xa9"),
           gm_fnv64_byte(gm_fnv64_byte(GM_FNV64_BASIS, 0xc3), 0xa9),
           "fnv64: bytes above 0x7f, string and bytes agree");
}


static void
test_split(void)
{
    size_t       i, len;
    uint32_t     h32, whole32;
    uint64_t     h, whole;
    const char  *s = "faces/backend-v2\0default/web";

    len = 28;
    whole = gm_fnv64_add(GM_FNV64_BASIS, s, len);
    whole32 = gm_fnv32_add(GM_FNV32_BASIS, s, len);

    for (i = 0; i <= len; i++) {
        h = gm_fnv64_add(gm_fnv64_add(GM_FNV64_BASIS, s, i), s + i, len - i);
        h32 = gm_fnv32_add(gm_fnv32_add(GM_FNV32_BASIS, s, i), s + i,
                           len - i);

        if (h != whole || h32 != whole32) {
            break;
        }
    }

    ok(i == len + 1, "split at any of %zu places: the whole's hash", len + 1);

    h = GM_FNV64_BASIS;

    for (i = 0; i < len; i++) {
        h = gm_fnv64_byte(h, (unsigned char) s[i]);
    }

    is_u64(h, whole, "byte by byte: the whole's hash");

    h = gm_fnv64_add_str(gm_fnv64_add_str(GM_FNV64_BASIS, "faces/"),
                         "backend-v2");
    is_u64(h, gm_fnv64_add(GM_FNV64_BASIS, s, 16),
           "two C strings: the bytes of both");

    is_u64(gm_fnv64_value(GM_FNV64_BASIS, 'a'), 0xaf63dc4c8601ec8cULL,
           "a value below 256: one byte's step");
    ok(gm_fnv64_value(GM_FNV64_BASIS, 0x100) != gm_fnv64_byte(GM_FNV64_BASIS,
                                                              0),
       "a value above 255: all of it");

    is_u64(gm_fnv64_nonzero(0), 1, "nonzero: 0 is 1");
    is_u64(gm_fnv64_nonzero(0xaf63dc4c8601ec8cULL), 0xaf63dc4c8601ec8cULL,
           "nonzero: others as they are");
}


static void
test_callers(void)
{
    char      name[GM_SESSION_NAME_LEN + 1];
    gm_str_t  a = { 5, "faces" }, b = { 3, "svc" }, x = { 1, "x" };

    /* a browser keeps the cookie: its name must not change with a release */
    gm_session_default_name(name, "prod/rt/main", 12);
    name[GM_SESSION_NAME_LEN] = '\0';
    is_str(name, "gamma-session-816b2bb5", "session cookie name: main");

    gm_session_default_name(name, "prod/rt/rule1", 13);
    name[GM_SESSION_NAME_LEN] = '\0';
    is_str(name, "gamma-session-5dbd1e95", "session cookie name: rule1");

    is_u64(gm_compile_hash(&a, &b, 0x1234567), 0xa6d285e2ba0c5bafULL,
           "compile hash: \"faces\" '/' \"svc\", a count");
    is_u64(gm_compile_hash(&x, NULL, 0), 0x4caa31493b8f448aULL,
           "compile hash: one string");
}


int
main(void)
{
    test_vectors();
    test_split();
    test_callers();

    return done_testing();
}
