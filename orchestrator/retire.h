/* Retiring copies (docs/replication.md "Retiring a copy"): a worker's
 * database outlives the worker; the orchestrator drops one only when it is
 * provably not needed, and deletes a gone worker's sync.<id> queue. The
 * decision is pure (rs_orch_retire_plan, unit-tested); the I/O (one
 * PostgreSQL connection per copy, an AMQP connection per queue batch: seconds
 * on a busy box) runs on a thread of its own, so that it never delays the
 * supervisor's reaping and spawning (slave_chaos saw a replacement wait
 * 10 s behind a scan). */
#ifndef RS_ORCH_RETIRE_H
#define RS_ORCH_RETIRE_H

#include "roster.h"
#include "workers.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A copy must have been an orphan this long before it is dropped: covers
 * a worker that created its database but has not registered yet. */
#define RS_ORCH_RETIRE_AFTER_MS 30000

typedef struct rs_orch_copy {
	char dbname[160];
	uint64_t epoch, seq; /* position of its last applied write */
	bool live; /* its worker runs (or may still: starting, rejoining) */
	bool serving; /* its worker is a registered, running MASTER/SLAVE */
	int64_t orphan_ms; /* monotonic time first seen orphaned, 0: not */
} rs_orch_copy;

/* Sets drop[i] for every copy that may go: not live, orphaned for at
 * least RS_ORCH_RETIRE_AFTER_MS at now, and some serving copy is at least
 * as advanced (rs_copy_cmp), so it is never the most advanced copy left.
 * Returns how many are marked. Pure. */
size_t rs_orch_retire_plan(
    const rs_orch_copy *c, size_t n, int64_t now, bool *drop);

typedef struct rs_orch_retirer rs_orch_retirer;

/* pg_maint: maintenance conninfo of the workers' PostgreSQL server;
 * amqp_url: the broker. Both copied. w: the worker table the scans read
 * (borrowed; outlives the retirer). period_ms: at most one database scan
 * per period. */
int rs_orch_retirer_create(const char *pg_maint, const char *amqp_url,
    rs_orch_workers *w, int period_ms, rs_orch_retirer **out);
/* Starts the retiring thread (RS_ENOMEM if it cannot). */
int rs_orch_retirer_start(rs_orch_retirer *r);
/* Stops and joins the thread (if started), frees everything. */
void rs_orch_retirer_destroy(rs_orch_retirer *r);

/* Notes that worker id is gone for good (its process ended): its sync
 * queue is deleted by the thread's next pass. Thread-safe. */
void rs_orch_retirer_worker_gone(rs_orch_retirer *r, const char *id);

/* Whether the thread may drop copies now: the supervisor says so each tick
 * (a master serves, ZooKeeper is connected, not paused). Queue deletions
 * do not wait for it. Thread-safe. */
void rs_orch_retirer_allow(rs_orch_retirer *r, bool allowed);

#endif
