/*
 * nginx-gamma: the watcher thread with the file source, outside nginx:
 * snapshots follow file edits, a broken file keeps the old state, and a
 * thousand swaps leak nothing (run under ASan); a path that cannot be
 * watched at start is said once, not every second, and read once it is
 * there.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "gm_snapshot.h"
#include "gm_watcher.h"


typedef struct {
    pthread_mutex_t   lock;
    gm_snapshot_t    *current;
    unsigned          published;
} test_mailbox_t;


static void
test_publish(void *data, gm_snapshot_t *s)
{
    test_mailbox_t  *mb = data;
    gm_snapshot_t   *old;

    pthread_mutex_lock(&mb->lock);
    old = mb->current;
    mb->current = s;
    mb->published++;
    pthread_mutex_unlock(&mb->lock);

    if (old) {
        gm_snapshot_unref(old);
    }
}


static void
test_write(const char *dir, const char *name, const char *body)
{
    char   tmp[512], path[512];
    FILE  *f;

    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(tmp, "w");
    fputs(body, f);
    fclose(f);
    rename(tmp, path);
}


static unsigned
test_wait(test_mailbox_t *mb, unsigned after)
{
    int       i;
    unsigned  n;

    for (i = 0; i < 2000; i++) {
        pthread_mutex_lock(&mb->lock);
        n = mb->published;
        pthread_mutex_unlock(&mb->lock);

        if (n > after) {
            return n;
        }

        usleep(1000);
    }

    return n;
}


static size_t
test_services(test_mailbox_t *mb)
{
    size_t  n;

    pthread_mutex_lock(&mb->lock);
    n = mb->current ? gm_snapshot_nservices(mb->current) : 0;
    pthread_mutex_unlock(&mb->lock);

    return n;
}


/* the lines of a watcher's log that contain a word, counted */
typedef struct {
    pthread_mutex_t   lock;
    unsigned          unwatched;      /* "cannot be watched" */
    unsigned          reason;         /* "cannot watch" */
    unsigned          watched;        /* "watched after" */
} test_lines_t;


static void
test_log(void *data, gm_log_level_e level, const char *msg)
{
    test_lines_t  *tl = data;

    (void) level;

    pthread_mutex_lock(&tl->lock);
    tl->unwatched += strstr(msg, "cannot be watched") != NULL;
    tl->reason += strstr(msg, "cannot watch") != NULL;
    tl->watched += strstr(msg, "watched after") != NULL;
    pthread_mutex_unlock(&tl->lock);
}


static const char  *svc_fmt =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: svc-%d, namespace: ns}\n"
    "spec:\n"
    "  clusterIP: 127.10.0.%d\n"
    "  ports: [{port: 80}]\n";


static void
test_missing_at_start(void)
{
    char                dir[] = "/tmp/gamma-watcher-XXXXXX", path[256];
    char                body[512];
    gm_watcher_t       *w;
    test_lines_t        tl;
    test_mailbox_t      mb;
    gm_watcher_conf_t   wc;

    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return;
    }

    memset(&mb, 0, sizeof(mb));
    pthread_mutex_init(&mb.lock, NULL);
    memset(&tl, 0, sizeof(tl));
    pthread_mutex_init(&tl.lock, NULL);

    /* a missing path is a single file to wait for in its directory */
    snprintf(path, sizeof(path), "%s/not-yet/mesh", dir);

    memset(&wc, 0, sizeof(wc));
    wc.file_path = path;
    wc.publish = test_publish;
    wc.publish_data = &mb;
    wc.interval_ms = 10;
    wc.log.handler = test_log;
    wc.log.data = &tl;

    w = gm_watcher_start(&wc);
    ok(w != NULL, "a watcher of a path not there yet starts");

    /* three retries, a second apart */
    usleep(3300000);
    pthread_mutex_lock(&tl.lock);
    is_int(tl.unwatched, 1, "3 s of retries: said once");
    is_int(tl.reason, 1, "and its reason once");
    pthread_mutex_unlock(&tl.lock);
    is_int(mb.published, 0, "nothing is published meanwhile");

    snprintf(body, sizeof(body), "mkdir -p %s", path);

    if (system(body) == 0) {
        snprintf(body, sizeof(body), svc_fmt, 1, 1);
        test_write(path, "a.yaml", body);
    }

    is_int(test_wait(&mb, 0), 1, "read once it is there");
    is_int(test_services(&mb), 1, "with its Service");
    pthread_mutex_lock(&tl.lock);
    is_int(tl.watched, 1, "and that is said");
    pthread_mutex_unlock(&tl.lock);

    gm_watcher_stop(w);
    gm_snapshot_unref(mb.current);

    snprintf(body, sizeof(body), "rm -rf %s", dir);
    if (system(body) != 0) {
        ok(0, "cleanup");
    }
}


int
main(void)
{
    int                 i;
    char                dir[] = "/tmp/gamma-watcher-XXXXXX", body[512];
    char                cmd[600];
    unsigned            n;
    gm_watcher_t       *w;
    test_mailbox_t      mb;
    gm_watcher_conf_t   wc;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }

    memset(&mb, 0, sizeof(mb));
    pthread_mutex_init(&mb.lock, NULL);

    snprintf(body, sizeof(body), svc_fmt, 1, 1);
    test_write(dir, "a.yaml", body);

    memset(&wc, 0, sizeof(wc));
    wc.file_path = dir;
    wc.publish = test_publish;
    wc.publish_data = &mb;
    wc.interval_ms = 10;

    w = gm_watcher_start(&wc);
    ok(w != NULL, "the watcher starts");

    n = test_wait(&mb, 0);
    is_int(n, 1, "the first snapshot is published");
    is_int(test_services(&mb), 1, "it holds the one Service");

    test_write(dir, "b.yaml", "kind: [broken\n");
    usleep(50000);
    is_int(test_services(&mb), 1, "a broken new file changes nothing");

    for (i = 0; i < 1000; i++) {
        snprintf(body, sizeof(body), svc_fmt, i, 1 + i % 200);
        test_write(dir, "b.yaml", body);
        n = test_wait(&mb, n);
    }

    is_int(test_services(&mb), 2, "after 1,000 edits: both Services");
    ok(n >= 2, "edits were published (%u snapshots)", n);

    snprintf(cmd, sizeof(cmd), "%s/b.yaml", dir);
    unlink(cmd);
    n = test_wait(&mb, n);
    is_int(test_services(&mb), 1, "a deleted file takes its objects along");

    gm_watcher_stop(w);
    ok(1, "the watcher stops and joins");

    gm_snapshot_unref(mb.current);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        ok(0, "cleanup");
    }

    test_missing_at_start();

    return done_testing();
}
