/*
 * nginx-gamma: libcurl loaded with dlopen() (gm_curl.c): the errors when
 * the library is missing, is not a libcurl or is too old name the file
 * and leave nothing loaded; then the real libcurl.so.4 loads once and the
 * calls the module makes go through it.
 */

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "gm_curl.h"


static void test_missing(void);
static void test_not_curl(void);
static void test_too_old(void);
static void test_real(void);


int
main(void)
{
    ok(!gm_curl_loaded(), "nothing loaded before a load");

    test_missing();
    test_not_curl();
    test_too_old();
    test_real();

    return done_testing();
}


static void
test_missing(void)
{
    char  err[512];

    err[0] = '\0';

    is_int(gm_curl_load_file("libgamma-no-such-curl.so.4", err, sizeof(err)),
           -1, "a missing library: -1");
    is_str(err, "kubernetes: cannot load libcurl (libgamma-no-such-curl.so.4, "
           "Debian package libcurl4 or libcurl4t64): "
           "libgamma-no-such-curl.so.4: cannot open shared object file: "
           "No such file or directory",
           "names the file, the package and says dlerror()'s why");
    ok(!gm_curl_loaded(), "nothing loaded");
    ok(gm_curl.easy_setopt == NULL, "the table stays empty");
}


static void
test_not_curl(void)
{
    char  err[512];

    is_int(gm_curl_load_file("libc.so.6", err, sizeof(err)), -1,
           "a library without curl's symbols: -1");
    ok(strncmp(err, "kubernetes: libc.so.6 is not a usable libcurl: ", 47) == 0
       && strstr(err, "undefined symbol: curl_global_init") != NULL,
       "names the first missing symbol: %s", err);
    ok(!gm_curl_loaded(), "nothing loaded");
}


static void
test_too_old(void)
{
    char     err[512], exe[PATH_MAX], fake[PATH_MAX + 32];
    ssize_t  n;

    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0) {
        ok(0, "readlink(/proc/self/exe)");
        return;
    }

    exe[n] = '\0';
    snprintf(fake, sizeof(fake), "%s/fake-libcurl.so", dirname(exe));

    is_int(gm_curl_load_file(fake, err, sizeof(err)), -1,
           "libcurl 7.86: -1");
    ok(strstr(err, "fake-libcurl.so is libcurl 7.86.0, the Kubernetes source "
                   "needs 7.87 or later") != NULL,
       "says the version found and the one needed: %s", err);
    ok(!gm_curl_loaded(), "nothing loaded");
}


static void
test_real(void)
{
    long                    status;
    char                    err[512], *esc, *priv;
    CURL                   *h;
    CURLM                  *m;
    struct curl_slist      *l;
    curl_version_info_data *v;

    err[0] = '\0';

    if (!tap_ok(gm_curl_load(err, sizeof(err)) == 0, __FILE__, __LINE__,
                "libcurl.so.4 loads"))
    {
        printf("#   %s\n", err);
        return;
    }

    ok(gm_curl_loaded(), "loaded");
    is_int(gm_curl_load_file("libgamma-no-such-curl.so.4", err, sizeof(err)),
           0, "a second load is a no-op");

    v = curl_version_info(CURLVERSION_NOW);
    ok(v->version_num >= GM_CURL_VERSION_MIN, "version %s", v->version);

    is_int(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK,
           "curl_global_init()");

    h = curl_easy_init();
    ok(h != NULL, "curl_easy_init()");
    is_int(curl_easy_setopt(h, CURLOPT_URL, "https://127.0.0.1:1/"), CURLE_OK,
           "a string option");
    is_int(curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L), CURLE_OK,
           "a long option, 7.87's");
    is_int(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "gopher-nope"),
           CURLE_UNSUPPORTED_PROTOCOL, "a bad value is refused");
    is_int(curl_easy_setopt(h, CURLOPT_PRIVATE, err), CURLE_OK,
           "a pointer option");
    is_int(curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv), CURLE_OK,
           "curl_easy_getinfo()");
    ok(priv == err, "the pointer comes back");
    status = -1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    is_int(status, 0, "no response yet");
    is_str(curl_easy_strerror(CURLE_BAD_FUNCTION_ARGUMENT),
           "A libcurl function was given a bad argument", "strerror");

    esc = curl_easy_escape(NULL, "app=a b/c", 0);
    is_str(esc, "app%3Da%20b%2Fc", "curl_easy_escape()");
    curl_free(esc);

    l = curl_slist_append(NULL, "Accept: application/json");
    l = curl_slist_append(l, "X: y");
    ok(l && l->next && strcmp(l->next->data, "X: y") == 0,
       "curl_slist_append()");
    curl_slist_free_all(l);

    m = curl_multi_init();
    ok(m != NULL, "curl_multi_init()");
    is_int(curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L), CURLM_OK,
           "curl_multi_setopt()");
    is_int(curl_multi_add_handle(m, h), CURLM_OK, "curl_multi_add_handle()");
    is_int(curl_multi_remove_handle(m, h), CURLM_OK,
           "curl_multi_remove_handle()");
    is_int(curl_multi_cleanup(m), CURLM_OK, "curl_multi_cleanup()");
    is_str(curl_multi_strerror(CURLM_BAD_HANDLE), "Invalid multi handle",
           "curl_multi_strerror()");

    curl_easy_cleanup(h);
    curl_global_cleanup();
}
