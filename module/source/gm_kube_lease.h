/*
 * nginx-gamma: leader election with a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it: a candidate takes a Lease that is
 * free or was not renewed for its duration, the holder renews it every
 * retry period and gives up when it could not for the renew deadline,
 * and a clean stop releases it (empty holderIdentity).  Driven by the
 * status writer's thread over its own client.
 */

#ifndef GM_KUBE_LEASE_H
#define GM_KUBE_LEASE_H


#include <stdint.h>

#include "gm_kube_client.h"
#include "gm_log.h"


#define GM_LEASE_DURATION_MS      15000
#define GM_LEASE_RENEW_DEADLINE_MS 10000
#define GM_LEASE_RETRY_PERIOD_MS  2000
#define GM_LEASE_IDENTITY_MAX     128


typedef struct gm_kube_lease_s  gm_kube_lease_t;

/* called when this process becomes the holder (1) or stops being it (0) */
typedef void (*gm_lease_change_pt)(void *data, int leader);

typedef struct {
    const char          *ns;
    const char          *name;
    const char          *identity;     /* NULL: hostname_pid_random */
    unsigned             duration_ms;  /* 0: the defaults above */
    unsigned             renew_deadline_ms;
    unsigned             retry_period_ms;
    gm_lease_change_pt   change;
    void                *data;
} gm_kube_lease_conf_t;


gm_kube_lease_t *gm_kube_lease_create(const gm_kube_lease_conf_t *conf,
    gm_kube_client_t *client, const gm_log_t *log);
void gm_kube_lease_destroy(gm_kube_lease_t *l);

/* does what is due; returns the milliseconds until it is due again */
int gm_kube_lease_run(gm_kube_lease_t *l);
int gm_kube_lease_leader(const gm_kube_lease_t *l);
const char *gm_kube_lease_identity(const gm_kube_lease_t *l);

/* the holder gives the Lease up: starts the request, 0 when none needed */
int gm_kube_lease_release(gm_kube_lease_t *l);
/* 1 while a request of the Lease is in flight */
int gm_kube_lease_busy(const gm_kube_lease_t *l);

/* "2026-12-03T10:41:38.123456Z"; buf of at least 32 bytes */
void gm_kube_microtime(char *buf, size_t size);


#endif /* GM_KUBE_LEASE_H */
