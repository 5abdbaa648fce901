/*
 * nginx-gamma: the service-account token.  The projected volume swaps a
 * "..data" symlink to update the file, so the path is opened afresh each
 * time and its identity (device, inode, size, mtime) tells a change.
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm_kube_auth.h"


struct gm_kube_token_s {
    char            *path;
    char            *token;
    const gm_log_t  *log;
    dev_t            dev;
    ino_t            ino;
    off_t            size;
    struct timespec  mtime;
    int64_t          read_ms;
    int              last_errno;
    unsigned         expired:1;
};


static int gm_kube_token_changed(gm_kube_token_t *t, struct stat *st,
    int64_t now_ms);
static void gm_kube_token_read(gm_kube_token_t *t, struct stat *st,
    int64_t now_ms);


gm_kube_token_t *
gm_kube_token_create(const char *path, const gm_log_t *log)
{
    gm_kube_token_t  *t;

    t = calloc(1, sizeof(gm_kube_token_t));
    if (t == NULL) {
        return NULL;
    }

    t->log = log;

    if (path != NULL) {
        t->path = strdup(path);
        if (t->path == NULL) {
            free(t);
            return NULL;
        }
    }

    return t;
}


void
gm_kube_token_destroy(gm_kube_token_t *t)
{
    if (t == NULL) {
        return;
    }

    if (t->token) {
        explicit_bzero(t->token, strlen(t->token));
        free(t->token);
    }

    free(t->path);
    free(t);
}


const char *
gm_kube_token_get(gm_kube_token_t *t, int64_t now_ms)
{
    struct stat  st;

    if (t->path == NULL) {
        return NULL;
    }

    if (stat(t->path, &st) == -1) {
        if (t->last_errno != errno) {
            t->last_errno = errno;
            gm_log(t->log, GM_LOG_ERR, "kubernetes: cannot read the token "
                   "file \"%s\": %s", t->path, strerror(errno));
        }

        /* a token read before stays in use until the file is back */
        return t->token;
    }

    if (gm_kube_token_changed(t, &st, now_ms)) {
        gm_kube_token_read(t, &st, now_ms);
    }

    return t->token;
}


void
gm_kube_token_expire(gm_kube_token_t *t)
{
    t->expired = 1;
}


static int
gm_kube_token_changed(gm_kube_token_t *t, struct stat *st, int64_t now_ms)
{
    return t->token == NULL || t->expired
           || now_ms - t->read_ms >= GM_KUBE_TOKEN_REREAD_MS
           || t->dev != st->st_dev || t->ino != st->st_ino
           || t->size != st->st_size
           || t->mtime.tv_sec != st->st_mtim.tv_sec
           || t->mtime.tv_nsec != st->st_mtim.tv_nsec;
}


static void
gm_kube_token_read(gm_kube_token_t *t, struct stat *st, int64_t now_ms)
{
    int    first;
    char  *token;

    t->read_ms = now_ms;
    t->expired = 0;

    token = gm_kube_read_file(t->path, GM_KUBE_TOKEN_MAX);

    if (token == NULL || token[0] == '\0') {
        if (t->last_errno != (token ? ENODATA : errno)) {
            t->last_errno = token ? ENODATA : errno;
            gm_log(t->log, GM_LOG_ERR, "kubernetes: cannot read the token "
                   "file \"%s\": %s", t->path,
                   token ? "the file is empty" : strerror(errno));
        }

        free(token);
        return;
    }

    t->last_errno = 0;
    t->dev = st->st_dev;
    t->ino = st->st_ino;
    t->size = st->st_size;
    t->mtime = st->st_mtim;

    first = (t->token == NULL);

    if (t->token && strcmp(t->token, token) == 0) {
        free(token);
        return;
    }

    if (t->token) {
        explicit_bzero(t->token, strlen(t->token));
        free(t->token);
    }

    t->token = token;

    gm_log(t->log, first ? GM_LOG_INFO : GM_LOG_NOTICE,
           "kubernetes: %s read from \"%s\"",
           first ? "token" : "new token", t->path);
}


char *
gm_kube_read_file(const char *path, size_t max)
{
    int      fd, err;
    char    *buf, *p;
    size_t   len;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return NULL;
    }

    buf = malloc(max + 1);
    if (buf == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }

    len = 0;

    for ( ;; ) {
        n = read(fd, buf + len, max + 1 - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0 || (len += n) > max) {
            break;
        }
    }

    err = (n == -1) ? errno : (len > max ? EFBIG : 0);
    close(fd);

    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }

    while (len && isspace((unsigned char) buf[len - 1])) {
        len--;
    }

    buf[len] = '\0';

    for (p = buf; isspace((unsigned char) *p); p++) { /* void */ }

    memmove(buf, p, len - (p - buf) + 1);

    return buf;
}
