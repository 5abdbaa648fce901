/*
 * nginx-gamma: the file source, driven without the watcher thread: a file
 * unreadable when it changed is read once it can be, an object defined by
 * two files comes from the first by name, half-written and suddenly empty
 * files wait until they settle, a burst of rejected objects is counted
 * rather than logged line by line, a file read again puts only the
 * objects whose document changed.
 *
 * Root reads a file whatever its mode: this test drops CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH first, so that a mode without read permission means
 * unreadable, and checks that it does.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "gm_file_notify.h"
#include "gm_file_source.h"
#include "gm_store.h"


typedef struct {
    char      text[65536];
    size_t    len;
    unsigned  lines;
} test_log_t;


static test_log_t   tlog;
static char         dir[] = "/tmp/gamma-file-source-XXXXXX";


static void
test_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    test_log_t  *tl = data;

    (void) level;

    tl->lines++;

    if (tl->len + strlen(msg) + 2 < sizeof(tl->text)) {
        tl->len += sprintf(tl->text + tl->len, "%s\n", msg);
    }
}


static void
test_log_reset(void)
{
    tlog.len = 0;
    tlog.lines = 0;
    tlog.text[0] = '\0';
}


static void
test_drop_dac(void)
{
    struct __user_cap_header_struct  hdr;
    struct __user_cap_data_struct    data[2];

    memset(&hdr, 0, sizeof(hdr));
    hdr.version = _LINUX_CAPABILITY_VERSION_3;

    if (syscall(SYS_capget, &hdr, data) != 0) {
        return;
    }

    data[0].effective &= ~((1u << CAP_DAC_OVERRIDE)
                           | (1u << CAP_DAC_READ_SEARCH));
    data[0].permitted &= ~((1u << CAP_DAC_OVERRIDE)
                           | (1u << CAP_DAC_READ_SEARCH));

    if (syscall(SYS_capset, &hdr, data) != 0) {
        printf("# capset: %s\n", strerror(errno));
    }
}


static char *
test_path(const char *name)
{
    static char  path[4][512];
    static int   i;

    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);

    return path[i];
}


/* in place, the way "echo > file" does; mode 0 keeps the file's mode */
static void
test_write_in_place(const char *name, const char *body)
{
    int  fd;

    fd = open(test_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1 || write(fd, body, strlen(body)) != (ssize_t) strlen(body))
    {
        printf("# cannot write %s: %s\n", name, strerror(errno));
    }

    close(fd);
}


static void
test_write_renamed(const char *name, const char *body)
{
    char  tmp[600];

    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);

    unlink(tmp);
    test_write_in_place(tmp + strlen(dir) + 1, body);
    rename(tmp, test_path(name));
}


static int64_t
test_now_ms(void)
{
    return gm_file_now_ms();
}


/* what the watcher does: waits for the fd, drains, scans; for ms */
static int
test_run(gm_file_source_t *fs, int ms)
{
    int            changed;
    int64_t        end;
    struct pollfd  pfd;

    changed = 0;
    end = test_now_ms() + ms;

    while (test_now_ms() < end) {
        pfd.fd = gm_file_source_fd(fs);
        pfd.events = POLLIN;

        if (poll(&pfd, 1, (int) (end - test_now_ms())) == 1
            && gm_file_source_drain(fs))
        {
            changed |= gm_file_source_scan(fs);
        }
    }

    return changed;
}


/* runs until the Service exists (want 1) or not (want 0); ms it took */
static int
test_until(gm_file_source_t *fs, gm_store_t *st, const char *name, int want,
    int limit)
{
    int64_t  start;

    start = test_now_ms();

    while (test_now_ms() - start < limit) {
        if ((gm_store_get(st, GM_KIND_SERVICE, "ns", name) != NULL) == want) {
            return (int) (test_now_ms() - start);
        }

        test_run(fs, 10);
    }

    return -1;
}


static const char *
test_cluster_ip(gm_store_t *st, const char *name, char *buf)
{
    gm_object_t  *obj;

    obj = gm_store_get(st, GM_KIND_SERVICE, "ns", name);

    if (obj == NULL || obj->body->service.ncluster_ips == 0) {
        return "none";
    }

    return inet_ntop(AF_INET, obj->body->service.cluster_ips[0].addr, buf,
                     INET_ADDRSTRLEN);
}


static char *
test_svc(const char *name, const char *ip)
{
    static char  buf[4][512];
    static int   i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]),
             "apiVersion: v1\nkind: Service\n"
             "metadata: {name: %s, namespace: ns}\n"
             "spec:\n  clusterIP: %s\n  ports: [{port: 80}]\n", name, ip);

    return buf[i];
}


static void
test_unreadable(gm_log_t *log)
{
    int                fd;
    char               ip[INET_ADDRSTRLEN], outside[600], *body, *p;
    gm_store_t        *st;
    gm_file_source_t  *fs;

    test_write_renamed("a.yaml", test_svc("a", "10.0.0.1"));

    st = gm_store_create();
    fs = gm_file_source_create(dir, st, log);
    gm_file_source_scan(fs);
    is_str(test_cluster_ip(st, "a", ip), "10.0.0.1", "a is read");

    /* write-only: the writer edits it, the reader cannot read it */
    chmod(test_path("a.yaml"), 0200);
    fd = open(test_path("a.yaml"), O_RDONLY);
    ok(fd == -1, "mode 200 makes the file unreadable to this test (%s)",
       fd == -1 ? strerror(errno) : "readable");
    if (fd != -1) {
        close(fd);
    }

    test_log_reset();
    test_run(fs, 100);

    /* edited while unreadable */
    test_write_in_place("a.yaml", test_svc("a", "10.0.0.2"));
    test_run(fs, 1100);

    is_str(test_cluster_ip(st, "a", ip), "10.0.0.1",
           "the previous version serves while the file is unreadable");
    ok(strstr(tlog.text, "cannot open manifest") != NULL
       && strstr(tlog.text, "Permission denied") != NULL,
       "the failure is logged");
    p = strstr(tlog.text, "cannot open manifest");
    ok(p != NULL && strstr(p + 1, "cannot open manifest") == NULL,
       "once, although it was retried");

    chmod(test_path("a.yaml"), 0644);
    test_run(fs, 100);
    is_str(test_cluster_ip(st, "a", ip), "10.0.0.2",
           "the edit applies once the file is readable (a chmod changes "
           "only its ctime)");

    /*
     * A symlink to a file outside the directory: nothing in the directory
     * changes when it becomes readable, only the retry finds it.
     */
    snprintf(outside, sizeof(outside), "%s.outside.yaml", dir);
    unlink(outside);
    body = test_svc("b", "10.0.1.1");
    fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0);
    if (write(fd, body, strlen(body)) != (ssize_t) strlen(body)) {
        ok(0, "write %s", outside);
    }
    close(fd);

    if (symlink(outside, test_path("b.yaml")) != 0) {
        ok(0, "symlink: %s", strerror(errno));
    }

    test_run(fs, 600);
    ok(gm_store_get(st, GM_KIND_SERVICE, "ns", "b") == NULL,
       "an unreadable symlink target gives nothing");

    chmod(outside, 0644);
    ok(test_until(fs, st, "b", 1, 2000) >= 0,
       "the retry reads it once it is readable, with no event to say so");

    gm_file_source_destroy(fs);
    gm_store_destroy(st);
    unlink(test_path("a.yaml"));
    unlink(test_path("b.yaml"));
    unlink(outside);
}


static void
test_duplicates(gm_log_t *log)
{
    char               ip[INET_ADDRSTRLEN];
    gm_store_t        *st;
    gm_file_source_t  *fs;

    st = gm_store_create();
    fs = gm_file_source_create(dir, st, log);
    gm_file_source_scan(fs);

    /* the later file by name comes first in time */
    test_write_renamed("20-other.yaml", test_svc("dup", "10.0.2.2"));
    test_until(fs, st, "dup", 1, 1000);
    is_str(test_cluster_ip(st, "dup", ip), "10.0.2.2", "one definition");

    test_log_reset();
    test_write_renamed("10-first.yaml", test_svc("dup", "10.0.2.1"));
    test_run(fs, 100);
    is_str(test_cluster_ip(st, "dup", ip), "10.0.2.1",
           "the first file by name wins, whatever came first");
    ok(strstr(tlog.text, "Service ns/dup is defined in \"") != NULL
       && strstr(tlog.text, "10-first.yaml\" is used") != NULL
       && strstr(tlog.text, "20-other.yaml") != NULL,
       "a warning names the object and both files");

    test_log_reset();
    test_write_renamed("20-other.yaml", test_svc("dup", "10.0.2.3"));
    test_run(fs, 100);
    is_str(test_cluster_ip(st, "dup", ip), "10.0.2.1",
           "an edit of the later file does not take it over");
    ok(strstr(tlog.text, "10-first.yaml\" is used") != NULL,
       "and is warned about again");

    test_write_renamed("10-first.yaml", test_svc("other", "10.0.2.9"));
    test_run(fs, 100);
    is_str(test_cluster_ip(st, "dup", ip), "10.0.2.3",
           "when the first drops it, the next file's version takes over");

    unlink(test_path("20-other.yaml"));
    test_run(fs, 100);
    ok(gm_store_get(st, GM_KIND_SERVICE, "ns", "dup") == NULL,
       "gone with the last file defining it");

    gm_file_source_destroy(fs);
    gm_store_destroy(st);
    unlink(test_path("10-first.yaml"));
}


static void
test_settle(gm_log_t *log)
{
    int                fd, ms;
    char               big[8192], *p;
    size_t             half;
    gm_store_t        *st;
    gm_file_source_t  *fs;

    test_write_renamed("s.yaml", test_svc("s", "10.0.3.1"));

    st = gm_store_create();
    fs = gm_file_source_create(dir, st, log);
    gm_file_source_scan(fs);

    /* ": > s.yaml" */
    fd = open(test_path("s.yaml"), O_WRONLY | O_TRUNC);
    close(fd);

    test_run(fs, 250);
    ok(gm_store_get(st, GM_KIND_SERVICE, "ns", "s") != NULL,
       "a file that suddenly empties is not applied at once");

    ms = test_until(fs, st, "s", 0, 2000);
    ok(ms >= 0, "but once it stayed empty for the settle time (%d ms more)",
       ms);

    /* a writer still writing: the first half must not be applied */
    p = big;
    p += sprintf(p, "%s---\n", test_svc("s", "10.0.3.2"));
    p += sprintf(p, "%s", test_svc("t", "10.0.3.3"));
    half = strstr(big, "---") - big + 4;

    fd = open(test_path("s.yaml"), O_WRONLY | O_TRUNC);
    if (write(fd, big, half) != (ssize_t) half) {
        ok(0, "write");
    }

    test_run(fs, 1000);
    ok(gm_store_get(st, GM_KIND_SERVICE, "ns", "s") == NULL,
       "half a file still open for writing is not read");

    if (write(fd, big + half, strlen(big) - half)
        != (ssize_t) (strlen(big) - half))
    {
        ok(0, "write");
    }

    close(fd);

    ms = test_until(fs, st, "t", 1, 1000);
    ok(ms >= 0 && ms < 200, "the whole file applies when its writer closes "
       "it (%d ms)", ms);
    ok(gm_store_get(st, GM_KIND_SERVICE, "ns", "s") != NULL,
       "with both objects");

    /* renamed into place: at once */
    test_write_renamed("s.yaml", test_svc("u", "10.0.3.4"));
    ms = test_until(fs, st, "u", 1, 1000);
    ok(ms >= 0 && ms < 100, "a file renamed into place applies at once "
       "(%d ms)", ms);

    gm_file_source_destroy(fs);
    gm_store_destroy(st);
    unlink(test_path("s.yaml"));
}


typedef struct {
    int   puts;
    char  last[64];
} test_watch_t;


static void
test_watch(void *data, const gm_object_t *old, const gm_object_t *obj)
{
    test_watch_t  *tw = data;

    (void) old;

    tw->puts++;
    snprintf(tw->last, sizeof(tw->last), "%s",
             obj ? obj->body->meta.name.data : "(deleted)");
}


/* a file read again: only what changed is put (and told to the watcher) */
static void
test_unchanged(gm_log_t *log)
{
    char               ip[INET_ADDRSTRLEN], body[4096];
    gm_store_t        *st;
    test_watch_t       tw;
    gm_file_source_t  *fs;

    snprintf(body, sizeof(body), "%s---\n%s---\n%s",
             test_svc("u1", "10.0.5.1"), test_svc("u2", "10.0.5.2"),
             test_svc("u3", "10.0.5.3"));
    test_write_renamed("u.yaml", body);

    st = gm_store_create();
    fs = gm_file_source_create(dir, st, log);
    gm_file_source_scan(fs);

    memset(&tw, 0, sizeof(tw));
    gm_store_watch(st, test_watch, &tw);

    /* the same objects, another layout: keys in another order */
    snprintf(body, sizeof(body), "%s---\n%s---\n"
             "apiVersion: v1\nkind: Service\n"
             "metadata: {namespace: ns, name: u3}\n"
             "spec:\n  ports: [{port: 80}]\n  clusterIP: 10.0.5.3\n",
             test_svc("u1", "10.0.5.1"), test_svc("u2", "10.0.5.9"));
    test_write_renamed("u.yaml", body);
    test_run(fs, 100);

    is_str(test_cluster_ip(st, "u2", ip), "10.0.5.9", "the edit applies");
    ok(tw.puts == 1 && strcmp(tw.last, "u2") == 0,
       "only the changed object is put (%d puts, the last %s)", tw.puts,
       tw.last);

    /* twice in the file: the later one wins, also when the first is old */
    memset(&tw, 0, sizeof(tw));
    snprintf(body, sizeof(body), "%s---\n%s---\n%s---\n%s",
             test_svc("u1", "10.0.5.1"), test_svc("u2", "10.0.5.9"),
             test_svc("u3", "10.0.5.3"), test_svc("u1", "10.0.5.7"));
    test_write_renamed("u.yaml", body);
    test_run(fs, 100);
    is_str(test_cluster_ip(st, "u1", ip), "10.0.5.7",
           "an object twice in a file: the later version");

    snprintf(body, sizeof(body), "%s---\n%s---\n%s",
             test_svc("u1", "10.0.5.1"), test_svc("u2", "10.0.5.9"),
             test_svc("u3", "10.0.5.3"));
    test_write_renamed("u.yaml", body);
    test_run(fs, 100);
    is_str(test_cluster_ip(st, "u1", ip), "10.0.5.1",
           "and its version before is put again when the later one goes");

    gm_store_watch(st, NULL, NULL);
    gm_file_source_destroy(fs);
    gm_store_destroy(st);
    unlink(test_path("u.yaml"));
}


static void
test_burst(gm_log_t *log)
{
    int                i, fd;
    char               line[256];
    gm_store_t        *st;
    gm_file_source_t  *fs;

    fd = open(test_path("bad.yaml"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

    for (i = 0; i < 1000; i++) {
        snprintf(line, sizeof(line), "apiVersion: v1\nkind: Service\n"
                 "metadata: {name: bad-%d, namespace: ns}\n"
                 "spec: {clusterIP: 10.0.0.1, ports: [{port: 0}]}\n---\n",
                 i);
        if (write(fd, line, strlen(line)) < 0) {
            break;
        }
    }

    close(fd);

    test_log_reset();

    st = gm_store_create();
    fs = gm_file_source_create(dir, st, log);
    gm_file_source_scan(fs);

    ok(tlog.lines <= 105, "1,000 rejected objects log %u lines", tlog.lines);
    ok(strstr(tlog.text, "Service ns/bad-0 rejected") != NULL,
       "the first ones are logged");
    ok(strstr(tlog.text, "900 more lines like the above suppressed") != NULL,
       "with the count of the others");

    gm_file_source_destroy(fs);
    gm_store_destroy(st);
    unlink(test_path("bad.yaml"));
}


int
main(void)
{
    char      cmd[600];
    gm_log_t  log;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }

    test_drop_dac();

    log.handler = test_log_handler;
    log.data = &tlog;

    test_unreadable(&log);
    test_duplicates(&log);
    test_settle(&log);
    test_unchanged(&log);
    test_burst(&log);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        ok(0, "cleanup");
    }

    return done_testing();
}
