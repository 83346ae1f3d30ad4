/* Kept worker volumes for the swarm spawner (docs/swarm.md "Full-cluster
 * recovery with each worker's own PostgreSQL"): a new worker first takes
 * over a volume of an earlier worker that nothing uses any more, so the
 * copy in it comes back on the new worker's own server, where full-cluster
 * recovery (docs/failover.md) finds it. */
#ifndef RS_ORCH_SWARM_VOLUME_H
#define RS_ORCH_SWARM_VOLUME_H

#include <stddef.h>

/* A kept volume of this manager's node (the daemon at socket, API version
 * api) that a new worker may take: its name starts with prefix and ends
 * with "-data", it carries label_key=label_val (when label_key is not
 * NULL), no swarm service mounts it and no container (running or not)
 * uses it. The first free one of first (comma-separated names, may be
 * NULL: swarm.sh down lists the volumes of the last workers, whose copies
 * it levelled), else the smallest free name, goes to name (len bytes) and
 * this node's swarm id to node (nodelen bytes): the task must be placed
 * there (a local volume named on another node would be a new, empty one).
 * RS_OK; RS_ENOTFOUND when there is none; RS_ECONN/RS_EIO when the
 * daemon cannot say (the caller then makes a new volume). */
int rs_orch_swarm_free_volume(const char *socket, const char *api,
    const char *label_key, const char *label_val, const char *prefix,
    const char *first, char *name, size_t len, char *node, size_t nodelen);

/* Waits until no container uses vol any more (the dead task's container of
 * a removed service: swarm removes it a moment after the service), at most
 * timeout_ms. RS_OK when free (or absent), RS_EEXIST at once when a swarm
 * service mounts it (its worker lives), RS_ETIMEDOUT, RS_ECONN/RS_EIO. */
int rs_orch_swarm_volume_wait_free(
    const char *socket, const char *api, const char *vol, int timeout_ms);

#endif
