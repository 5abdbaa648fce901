/*
 * nginx-gamma: a stand-in for libcurl 7.86, for test_curl: every symbol
 * the module looks up is here, and curl_version_info() says 7.86.0, one
 * release before what the Kubernetes source needs.  Not a curl: the
 * functions do nothing and the module must never call them.
 */

#include <stddef.h>


/* the first fields of curl_version_info_data, the ones the module reads */
typedef struct {
    int            age;
    const char    *version;
    unsigned int   version_num;
    const char    *host;
} fake_curl_version_t;


static fake_curl_version_t  fake_version = {
    10, "7.86.0", 0x075600, "x86_64-pc-linux-gnu"
};


void *
curl_version_info(int v)
{
    (void) v;

    return &fake_version;
}


#define fake_curl_stub(name)  void name(void); void name(void) {}

fake_curl_stub(curl_global_init)
fake_curl_stub(curl_global_cleanup)
fake_curl_stub(curl_easy_init)
fake_curl_stub(curl_easy_cleanup)
fake_curl_stub(curl_easy_setopt)
fake_curl_stub(curl_easy_getinfo)
fake_curl_stub(curl_easy_strerror)
fake_curl_stub(curl_easy_escape)
fake_curl_stub(curl_free)
fake_curl_stub(curl_multi_init)
fake_curl_stub(curl_multi_cleanup)
fake_curl_stub(curl_multi_setopt)
fake_curl_stub(curl_multi_add_handle)
fake_curl_stub(curl_multi_remove_handle)
fake_curl_stub(curl_multi_perform)
fake_curl_stub(curl_multi_poll)
fake_curl_stub(curl_multi_info_read)
fake_curl_stub(curl_multi_strerror)
fake_curl_stub(curl_slist_append)
fake_curl_stub(curl_slist_free_all)
