/*
 * nginx-gamma: what the file source is told about a directory: inotify
 * events, remembered per file name, and a timer for the rescans the
 * source asks for (a file settling, a failed read tried again), behind
 * one descriptor to poll.  Runs in the watcher thread only.
 */

#ifndef GM_FILE_NOTIFY_H
#define GM_FILE_NOTIFY_H


#include <stdint.h>

#include "gm_log.h"


/* the last write event seen for a name */
typedef enum {
    GM_FILE_EV_NONE = 0,      /* none since it was last forgotten */
    GM_FILE_EV_WRITING,       /* created or written, not closed since */
    GM_FILE_EV_CLOSED,        /* a writer closed it */
    GM_FILE_EV_MOVED          /* renamed into place: complete */
} gm_file_event_e;

typedef struct gm_file_notify_s  gm_file_notify_t;


gm_file_notify_t *gm_file_notify_create(const char *dir,
    const gm_log_t *log);
void gm_file_notify_destroy(gm_file_notify_t *fn);

/* readable when an event or the timer is pending */
int gm_file_notify_fd(gm_file_notify_t *fn);
/* reads what is pending; returns 1 when a rescan is due */
int gm_file_notify_drain(gm_file_notify_t *fn);

gm_file_event_e gm_file_notify_event(gm_file_notify_t *fn,
    const char *name);
void gm_file_notify_forget(gm_file_notify_t *fn, const char *name);

/* a rescan is due at this CLOCK_MONOTONIC time, or earlier if asked */
void gm_file_notify_at(gm_file_notify_t *fn, int64_t due_ms);
/* the timer as the next scan will set it: called before each scan */
void gm_file_notify_reset(gm_file_notify_t *fn);
/* arms the timer for the earliest gm_file_notify_at() since the reset */
void gm_file_notify_arm(gm_file_notify_t *fn);

int64_t gm_file_now_ms(void);


#endif /* GM_FILE_NOTIFY_H */
