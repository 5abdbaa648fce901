/*
 * nginx-gamma: libcurl through dlopen().  Linked, libcurl and its
 * libraries (TLS, Kerberos, LDAP, SSH, HTTP/2, IDN, ...) were mapped and
 * their constructors run in every nginx process, about 4.3 MB of PSS for
 * an instance whatever its source; loaded here, only the source process
 * of the Kubernetes source has them.
 */

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "gm_curl.h"


#define gm_curl_sym(api, h, field, name)                                     \
    (((api)->field = (__typeof__((api)->field)) dlsym(h, name)) == NULL)


static int gm_curl_symbols(void *h, gm_curl_api_t *api);
static int gm_curl_version(const gm_curl_api_t *api, const char *file,
    char *err, size_t len);


/* the process's one copy, as the library itself is one per process */
gm_curl_api_t  gm_curl;


int
gm_curl_load(char *err, size_t len)
{
    return gm_curl_load_file(GM_CURL_LIBRARY, err, len);
}


int
gm_curl_load_file(const char *file, char *err, size_t len)
{
    void           *h;
    const char     *e;
    gm_curl_api_t   api;

    if (gm_curl_loaded()) {
        return 0;
    }

    h = dlopen(file, RTLD_NOW | RTLD_LOCAL);

    if (h == NULL) {
        e = dlerror();
        snprintf(err, len, "kubernetes: cannot load libcurl (%s, Debian "
                 "package %s): %s", file, GM_CURL_PACKAGE,
                 e ? e : "dlopen() failed");
        return -1;
    }

    memset(&api, 0, sizeof(gm_curl_api_t));

    if (gm_curl_symbols(h, &api) != 0) {
        e = dlerror();
        snprintf(err, len, "kubernetes: %s is not a usable libcurl: %s",
                 file, e ? e : "a symbol is missing");
        dlclose(h);
        return -1;
    }

    if (gm_curl_version(&api, file, err, len) != 0) {
        dlclose(h);
        return -1;
    }

    /* never closed: curl_global_cleanup() leaves its TLS library set up */
    gm_curl = api;

    return 0;
}


int
gm_curl_loaded(void)
{
    return gm_curl.global_init != NULL;
}


static int
gm_curl_symbols(void *h, gm_curl_api_t *api)
{
    if (gm_curl_sym(api, h, global_init, "curl_global_init")
        || gm_curl_sym(api, h, global_cleanup, "curl_global_cleanup")
        || gm_curl_sym(api, h, easy_init, "curl_easy_init")
        || gm_curl_sym(api, h, easy_cleanup, "curl_easy_cleanup")
        || gm_curl_sym(api, h, easy_setopt, "curl_easy_setopt")
        || gm_curl_sym(api, h, easy_getinfo, "curl_easy_getinfo")
        || gm_curl_sym(api, h, easy_strerror, "curl_easy_strerror")
        || gm_curl_sym(api, h, easy_escape, "curl_easy_escape")
        || gm_curl_sym(api, h, free, "curl_free")
        || gm_curl_sym(api, h, multi_init, "curl_multi_init")
        || gm_curl_sym(api, h, multi_cleanup, "curl_multi_cleanup")
        || gm_curl_sym(api, h, multi_setopt, "curl_multi_setopt")
        || gm_curl_sym(api, h, multi_add_handle, "curl_multi_add_handle")
        || gm_curl_sym(api, h, multi_remove_handle,
                       "curl_multi_remove_handle")
        || gm_curl_sym(api, h, multi_perform, "curl_multi_perform")
        || gm_curl_sym(api, h, multi_poll, "curl_multi_poll")
        || gm_curl_sym(api, h, multi_info_read, "curl_multi_info_read")
        || gm_curl_sym(api, h, multi_strerror, "curl_multi_strerror")
        || gm_curl_sym(api, h, slist_append, "curl_slist_append")
        || gm_curl_sym(api, h, slist_free_all, "curl_slist_free_all")
        || gm_curl_sym(api, h, version_info, "curl_version_info"))
    {
        return -1;
    }

    return 0;
}


/* the build checked the headers; this checks the library found at run */
static int
gm_curl_version(const gm_curl_api_t *api, const char *file, char *err,
    size_t len)
{
    curl_version_info_data  *v;

    v = api->version_info(CURLVERSION_NOW);

    if (v == NULL || v->version == NULL) {
        snprintf(err, len, "kubernetes: %s: curl_version_info() failed",
                 file);
        return -1;
    }

    if (v->version_num < GM_CURL_VERSION_MIN) {
        snprintf(err, len, "kubernetes: %s is libcurl %s, the Kubernetes "
                 "source needs %s or later", file, v->version,
                 GM_CURL_VERSION_MIN_S);
        return -1;
    }

    return 0;
}
