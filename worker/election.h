/* The worker's side of ZooKeeper (docs/failover.md): registration,
 * bootstrap, election by lowest pid with an epoch per term, fencing checks,
 * and rejoining after a lost session. Watches fire on the ZooKeeper thread
 * and only set the flags of worker.h; the role loops act on them. */
#ifndef RS_WORKER_ELECTION_H
#define RS_WORKER_ELECTION_H

#include "rideshare.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

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

/* The same read in two halves, so the master overlaps its round trip with
 * the COMMIT (docs/failover.md "Fencing"): start sends it, finish waits
 * for the answer and judges it as rs_worker_zk_still_master does, and
 * also answers RS_ECONN when more than the fencing lease has passed since
 * the read was sent (rs_worker_fence_lease_ms): the answer is then too old
 * to vouch for now, and the caller reads again. Every started read must
 * be finished. */
typedef struct rs_worker_fence {
	struct rs_zk_pending *read; /* NULL: nothing in flight */
	int64_t sent_ms; /* monotonic */
	int start_rc; /* the send's error, reported by finish */
} rs_worker_fence;
void rs_worker_zk_fence_start(rs_worker *w, rs_worker_fence *f);
int rs_worker_zk_fence_finish(rs_worker *w, rs_worker_fence *f);
/* Finishes a started read without judging it (its batch did not commit:
 * nothing is to leave, nothing is logged). */
void rs_worker_zk_fence_drop(rs_worker *w, rs_worker_fence *f);
/* How long (ms) an answer of /rideshare/master vouches for this worker
 * after the read was sent: a quarter of the session timeout the server
 * granted, at most 100 ms. The server counts a session's timeout from its
 * last request, so no other master can be elected (our ephemeral
 * /rideshare/master must expire first) for a whole session timeout after
 * the read reached it; a quarter leaves room for clock-rate differences
 * and the time a publish takes to leave (Chubby's and Patroni's leases
 * keep the same kind of margin). */
int rs_worker_fence_lease_ms(rs_worker *w);

/* Session lost (expired, or cut off longer than the session timeout, or
 * fenced as master): closes the ZooKeeper session and registers again as
 * a candidate with a new one, keeping the database. Retries until it
 * succeeds or SIGTERM (RS_WORKER_STOPPED). */
int rs_worker_zk_rejoin(rs_worker *w);

#endif
