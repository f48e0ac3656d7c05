/*
 * internal.h - shared by the files of server/ only: loading and swapping configuration
 * snapshots (reload.c) and the event-loop threads (loop.c).
 */
#ifndef EIDGATE_SERVER_INTERNAL_H
#define EIDGATE_SERVER_INTERNAL_H

#include <microhttpd.h>

struct gateway;
struct gw_snapshot;
struct up_worker;

/* reload.c */
/* Loads configuration, trust anchors, policy and keys. EG_OK or EG_ERR_CONFIG with the
 * reasons on stderr. */
int snapshot_load(const char *config_path, struct gw_snapshot **out);
/* Makes next current; the old one is freed when its last request finishes. */
void snapshot_swap(struct gateway *gw, struct gw_snapshot *next);

/* loop.c: an event-loop thread running daemon and forwarding worker w. loop_new takes
 * the daemon (stopped by loop_free, or at once when loop_new fails). */
struct gw_loop;
struct gw_loop *loop_new(struct MHD_Daemon *daemon, struct up_worker *w);
int loop_start(struct gw_loop *l);
void loop_stop(struct gw_loop *l);
void loop_free(struct gw_loop *l);

#endif
