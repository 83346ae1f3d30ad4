/* A worker's registration znode (RS_ZK_WORKERS/<id>, a packed WorkerInfo,
 * docs/conventions.md): the one reader of it, for the election, the
 * orchestrator's worker table and the system tests' harnesses. */
#ifndef RS_WORKER_INFO_H
#define RS_WORKER_INFO_H

#include "rideshare.pb-c.h"
#include "rs_zk.h"

#include <stdbool.h>

/* Reads and unpacks worker id's WorkerInfo (watch: arms a data watch, as
 * rs_zk_get). RS_OK with *out (free with
 * rideshare__worker_info__free_unpacked); RS_EPROTO when the node holds no
 * WorkerInfo (not written yet, garbage); else rs_zk_get's error
 * (RS_ENOTFOUND: no such worker). */
int rs_worker_info_get(
    rs_zk *zk, const char *id, bool watch, Rideshare__WorkerInfo **out);

#endif
