/*
 * nginx-gamma: inotify events remembered per file name, and the timer of
 * the file source, behind one epoll descriptor.
 *
 * The file source decides from the last event naming a file whether what
 * it finds there is complete: a file renamed into place or closed by its
 * writer is, one still open for writing may not be.  The table is small
 * and bounded: a name it cannot hold, or an event queue overflow, only
 * means "no event known", and the file then has to stay unchanged for a
 * while before it is read.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "gm_file_notify.h"


#define GM_FILE_NOTIFY_NAMES  512


typedef struct {
    char             *name;
    gm_file_event_e   ev;
} gm_file_name_t;

struct gm_file_notify_s {
    int              efd;           /* epoll: the two below */
    int              ifd;           /* inotify */
    int              tfd;           /* timerfd */
    const gm_log_t  *log;
    int64_t          due_ms;        /* -1: none asked since the reset */
    int64_t          armed_ms;      /* what the timer is set to, or -1 */
    size_t           nnames;
    gm_file_name_t   names[GM_FILE_NOTIFY_NAMES];
};


static int gm_file_notify_open(gm_file_notify_t *fn, const char *dir);
static void gm_file_notify_record(gm_file_notify_t *fn,
    struct inotify_event *ie);
static gm_file_name_t *gm_file_notify_find(gm_file_notify_t *fn,
    const char *name);
static void gm_file_notify_clear(gm_file_notify_t *fn);


gm_file_notify_t *
gm_file_notify_create(const char *dir, const gm_log_t *log)
{
    gm_file_notify_t  *fn;

    fn = calloc(1, sizeof(gm_file_notify_t));
    if (fn == NULL) {
        return NULL;
    }

    fn->efd = -1;
    fn->ifd = -1;
    fn->tfd = -1;
    fn->log = log;
    fn->due_ms = -1;
    fn->armed_ms = -1;

    if (gm_file_notify_open(fn, dir) != 0) {
        gm_file_notify_destroy(fn);
        return NULL;
    }

    return fn;
}


static int
gm_file_notify_open(gm_file_notify_t *fn, const char *dir)
{
    struct epoll_event  ee;

    fn->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    fn->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    fn->efd = epoll_create1(EPOLL_CLOEXEC);

    if (fn->ifd == -1 || fn->tfd == -1 || fn->efd == -1) {
        gm_log(fn->log, GM_LOG_ERR, "file source: inotify, timerfd or epoll "
               "failed: %s", strerror(errno));
        return -1;
    }

    if (inotify_add_watch(fn->ifd, dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM
                          | IN_CREATE | IN_DELETE | IN_MODIFY
                          | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
        == -1)
    {
        gm_log(fn->log, GM_LOG_ERR, "cannot watch \"%s\": %s", dir,
               strerror(errno));
        return -1;
    }

    memset(&ee, 0, sizeof(ee));
    ee.events = EPOLLIN;

    ee.data.fd = fn->ifd;
    if (epoll_ctl(fn->efd, EPOLL_CTL_ADD, fn->ifd, &ee) == -1) {
        return -1;
    }

    ee.data.fd = fn->tfd;
    if (epoll_ctl(fn->efd, EPOLL_CTL_ADD, fn->tfd, &ee) == -1) {
        return -1;
    }

    return 0;
}


void
gm_file_notify_destroy(gm_file_notify_t *fn)
{
    if (fn == NULL) {
        return;
    }

    gm_file_notify_clear(fn);

    if (fn->efd != -1) {
        close(fn->efd);
    }

    if (fn->ifd != -1) {
        close(fn->ifd);
    }

    if (fn->tfd != -1) {
        close(fn->tfd);
    }

    free(fn);
}


int
gm_file_notify_fd(gm_file_notify_t *fn)
{
    return fn->efd;
}


int
gm_file_notify_drain(gm_file_notify_t *fn)
{
    char                   buf[8192]
                           __attribute__((aligned(__alignof__(
                               struct inotify_event))));
    int                    due;
    char                  *p;
    ssize_t                n;
    uint64_t               expirations;
    struct inotify_event  *ie;

    due = 0;

    if (read(fn->tfd, &expirations, sizeof(expirations)) > 0) {
        fn->armed_ms = -1;
        due = 1;
    }

    for ( ;; ) {
        n = read(fn->ifd, buf, sizeof(buf));

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            return due;
        }

        for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
            ie = (struct inotify_event *) p;
            gm_file_notify_record(fn, ie);
        }

        due = 1;
    }
}


static void
gm_file_notify_record(gm_file_notify_t *fn, struct inotify_event *ie)
{
    gm_file_name_t   *fname;
    gm_file_event_e   ev;

    if (ie->mask & IN_Q_OVERFLOW) {
        /* events were lost: nothing is known about any name */
        gm_file_notify_clear(fn);
        return;
    }

    if (ie->len == 0 || ie->name[0] == '\0' || (ie->mask & IN_ISDIR)) {
        return;
    }

    if (ie->mask & (IN_DELETE | IN_MOVED_FROM)) {
        gm_file_notify_forget(fn, ie->name);
        return;
    }

    if (ie->mask & IN_MOVED_TO) {
        ev = GM_FILE_EV_MOVED;

    } else if (ie->mask & IN_CLOSE_WRITE) {
        ev = GM_FILE_EV_CLOSED;

    } else if (ie->mask & (IN_CREATE | IN_MODIFY)) {
        ev = GM_FILE_EV_WRITING;

    } else {
        /* IN_ATTRIB: a chmod or a touch says nothing about the content */
        return;
    }

    fname = gm_file_notify_find(fn, ie->name);

    if (fname == NULL) {
        if (fn->nnames == GM_FILE_NOTIFY_NAMES) {
            return;
        }

        fname = &fn->names[fn->nnames];
        fname->name = strdup(ie->name);

        if (fname->name == NULL) {
            return;
        }

        fn->nnames++;
    }

    fname->ev = ev;
}


static gm_file_name_t *
gm_file_notify_find(gm_file_notify_t *fn, const char *name)
{
    size_t  i;

    for (i = 0; i < fn->nnames; i++) {
        if (strcmp(fn->names[i].name, name) == 0) {
            return &fn->names[i];
        }
    }

    return NULL;
}


gm_file_event_e
gm_file_notify_event(gm_file_notify_t *fn, const char *name)
{
    gm_file_name_t  *fname;

    fname = gm_file_notify_find(fn, name);

    return fname ? fname->ev : GM_FILE_EV_NONE;
}


void
gm_file_notify_forget(gm_file_notify_t *fn, const char *name)
{
    gm_file_name_t  *fname;

    fname = gm_file_notify_find(fn, name);
    if (fname == NULL) {
        return;
    }

    free(fname->name);
    *fname = fn->names[--fn->nnames];
}


static void
gm_file_notify_clear(gm_file_notify_t *fn)
{
    while (fn->nnames) {
        free(fn->names[--fn->nnames].name);
    }
}


void
gm_file_notify_reset(gm_file_notify_t *fn)
{
    fn->due_ms = -1;
}


void
gm_file_notify_at(gm_file_notify_t *fn, int64_t due_ms)
{
    if (fn->due_ms < 0 || due_ms < fn->due_ms) {
        fn->due_ms = due_ms;
    }
}


void
gm_file_notify_arm(gm_file_notify_t *fn)
{
    struct itimerspec  its;

    if (fn->due_ms == fn->armed_ms) {
        return;
    }

    memset(&its, 0, sizeof(its));

    if (fn->due_ms >= 0) {
        /* 0 would disarm it: a time already past is at least 1 ns */
        its.it_value.tv_sec = fn->due_ms / 1000;
        its.it_value.tv_nsec = (fn->due_ms % 1000) * 1000000 + 1;
    }

    if (timerfd_settime(fn->tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1) {
        gm_log(fn->log, GM_LOG_ERR, "file source: timerfd_settime() failed: "
               "%s", strerror(errno));
        return;
    }

    fn->armed_ms = fn->due_ms;
}


int64_t
gm_file_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
