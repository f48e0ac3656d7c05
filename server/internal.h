/* snapshot.h - loading and swapping configuration snapshots; proxy/ only. */
#ifndef EIDGATE_SNAPSHOT_H
#define EIDGATE_SNAPSHOT_H

struct gateway;
struct gw_snapshot;

/* Loads configuration, trust anchors, policy and keys. EG_OK or EG_ERR_CONFIG with the
 * reasons on stderr. */
int snapshot_load(const char *config_path, struct gw_snapshot **out);
/* Makes next current; the old one is freed when its last request finishes. */
void snapshot_swap(struct gateway *gw, struct gw_snapshot *next);

#endif
