/*
 * nginx-gamma: libcurl, loaded when the Kubernetes source starts.  The
 * module does not link libcurl: dlopen() maps it (and the ~25 libraries
 * it needs) in the source process only, so that the master, the workers
 * and a file source never carry it.  Include this instead of
 * <curl/curl.h>: the curl_* calls the module makes go through a table of
 * pointers that gm_curl_load() fills.
 */

#ifndef GM_CURL_H
#define GM_CURL_H


#include <stddef.h>

/*
 * Without it curl.h 7.88 (typecheck-gcc.h) turns curl_easy_setopt() and
 * curl_easy_getinfo() into statement expressions that call the functions
 * by name; with it they are plain 3-argument macros, undone below.
 * GM_CURL_TYPECHECK (make curl-typecheck) compiles the callers against
 * curl.h as it is, for its checks of the options' argument types.
 */
#ifndef GM_CURL_TYPECHECK
#define CURL_DISABLE_TYPECHECK  1
#endif

#include <curl/curl.h>


/* the soname of libcurl4 (OpenSSL), the flavour the module builds with */
#ifndef GM_CURL_LIBRARY
#define GM_CURL_LIBRARY         "libcurl.so.4"
#endif
/* its Debian package: libcurl4 up to Debian 12, libcurl4t64 from 13 */
#define GM_CURL_PACKAGE         "libcurl4 or libcurl4t64"

/* CURLOPT_CA_CACHE_TIMEOUT and CURL_WRITEFUNC_ERROR, as config checks */
#define GM_CURL_VERSION_MIN     0x075700
#define GM_CURL_VERSION_MIN_S   "7.87"


typedef struct {
    CURLcode              (*global_init)(long flags);
    void                  (*global_cleanup)(void);
    curl_version_info_data *(*version_info)(CURLversion v);

    CURL                 *(*easy_init)(void);
    void                  (*easy_cleanup)(CURL *h);
    CURLcode              (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode              (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    const char           *(*easy_strerror)(CURLcode code);
    char                 *(*easy_escape)(CURL *h, const char *s, int len);
    void                  (*free)(void *p);

    CURLM                *(*multi_init)(void);
    CURLMcode             (*multi_cleanup)(CURLM *m);
    CURLMcode             (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
    CURLMcode             (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode             (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode             (*multi_perform)(CURLM *m, int *running);
    CURLMcode             (*multi_poll)(CURLM *m, struct curl_waitfd *fds,
                              unsigned int nfds, int timeout_ms, int *numfds);
    CURLMsg              *(*multi_info_read)(CURLM *m, int *left);
    const char           *(*multi_strerror)(CURLMcode code);

    struct curl_slist    *(*slist_append)(struct curl_slist *l,
                              const char *s);
    void                  (*slist_free_all)(struct curl_slist *l);
} gm_curl_api_t;


/*
 * Loads GM_CURL_LIBRARY once per process (it stays mapped: libcurl and
 * its TLS library keep global state).  0, or -1 with why in err (the
 * dlerror() text, a missing symbol, a version before 7.87): a later call
 * tries again.  Call it before curl_global_init(), in one thread.
 */
int gm_curl_load(char *err, size_t len);
/* the same from another file name: the unit tests' failures */
int gm_curl_load_file(const char *file, char *err, size_t len);
/* 1 once loaded */
int gm_curl_loaded(void);


/* set by gm_curl_load(); NULL pointers until then */
extern gm_curl_api_t  gm_curl;


#ifndef GM_CURL_TYPECHECK

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt

#define curl_global_init(f)            gm_curl.global_init(f)
#define curl_global_cleanup()          gm_curl.global_cleanup()
#define curl_version_info(v)           gm_curl.version_info(v)
#define curl_easy_init()               gm_curl.easy_init()
#define curl_easy_cleanup(h)           gm_curl.easy_cleanup(h)
#define curl_easy_setopt(h, o, v)      gm_curl.easy_setopt(h, o, v)
#define curl_easy_getinfo(h, i, v)     gm_curl.easy_getinfo(h, i, v)
#define curl_easy_strerror(c)          gm_curl.easy_strerror(c)
#define curl_easy_escape(h, s, n)      gm_curl.easy_escape(h, s, n)
#define curl_free(p)                   gm_curl.free(p)
#define curl_multi_init()              gm_curl.multi_init()
#define curl_multi_cleanup(m)          gm_curl.multi_cleanup(m)
#define curl_multi_setopt(m, o, v)     gm_curl.multi_setopt(m, o, v)
#define curl_multi_add_handle(m, h)    gm_curl.multi_add_handle(m, h)
#define curl_multi_remove_handle(m, h) gm_curl.multi_remove_handle(m, h)
#define curl_multi_perform(m, r)       gm_curl.multi_perform(m, r)
#define curl_multi_poll(m, f, n, t, r) gm_curl.multi_poll(m, f, n, t, r)
#define curl_multi_info_read(m, l)     gm_curl.multi_info_read(m, l)
#define curl_multi_strerror(c)         gm_curl.multi_strerror(c)
#define curl_slist_append(l, s)        gm_curl.slist_append(l, s)
#define curl_slist_free_all(l)         gm_curl.slist_free_all(l)

#endif /* GM_CURL_TYPECHECK */


#endif /* GM_CURL_H */
