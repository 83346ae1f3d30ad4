/* The worker's side of ZooKeeper (docs/failover.md): registration,
 * bootstrap, election by lowest pid with an epoch per term, fencing checks,
 * and rejoining after a lost session. Watches fire on the ZooKeeper thread
 * and only set the flags of worker.h; the role loops act on them. */
#ifndef RS_WORKER_ELECTION_H
#define RS_WORKER_ELECTION_H

#include "rideshare.pb-c.h"

#include <stdbool.h>

typedef struct rs_worker rs_worker;

int rs_worker_zk_start(rs_worker *w);
int rs_worker_zk_register(rs_worker *w);
/* Rewrites this worker's znode (role, applied seq). */
int rs_worker_zk_update(rs_worker *w);
/* Step 3: returns RIDESHARE__ROLE__MASTER (w->epoch set) or
 * RIDESHARE__ROLE__SLAVE via *role; RS_WORKER_STOPPED on SIGTERM. */
int rs_worker_zk_bootstrap(rs_worker *w, Rideshare__Role *role);
/* Waits until a master with role MASTER exists; *info owned by caller
 * (rideshare__worker_info__free_unpacked). RS_WORKER_PROMOTED when no
 * master and no serving worker remained and this one took the role. */
int rs_worker_zk_wait_master(rs_worker *w, Rideshare__WorkerInfo **info);
/* Step 5, run when a watch fired: re-arms the watches; *won set when this
 * slave created /rideshare/master (w->epoch set to the new term). */
int rs_worker_zk_elect(rs_worker *w, bool *won);

/* Reads /rideshare/master: RS_OK while it still names this worker. The
 * master asks before letting a committed batch out (fencing a paused
 * master whose session ended while it slept). */
int rs_worker_zk_still_master(rs_worker *w);

/* Session lost (expired, or cut off longer than the session timeout, or
 * fenced as master): closes the ZooKeeper session and registers again as
 * a candidate with a new one, keeping the database. Retries until it
 * succeeds or SIGTERM (RS_WORKER_STOPPED). */
int rs_worker_zk_rejoin(rs_worker *w);

#endif
