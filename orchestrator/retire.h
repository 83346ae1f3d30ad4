/* Retiring copies (docs/replication.md "Retiring a copy"): a worker's
 * database outlives the worker; the orchestrator drops one only when it is
 * provably not needed, and deletes a gone worker's sync.<id> queue. The
 * decision is pure (rs_orch_retire_plan, unit-tested); rs_orch_retire_*
 * do the I/O on the supervisor thread. */
#ifndef RS_ORCH_RETIRE_H
#define RS_ORCH_RETIRE_H

#include "roster.h"

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
 * amqp_url: the broker. Both copied. */
int rs_orch_retirer_create(
    const char *pg_maint, const char *amqp_url, rs_orch_retirer **out);
void rs_orch_retirer_destroy(rs_orch_retirer *r);

/* Notes that worker id is gone for good (its process ended): its sync
 * queue is deleted by the next rs_orch_retirer_run. */
void rs_orch_retirer_worker_gone(rs_orch_retirer *r, const char *id);

/* One pass over the table t (n entries): deletes pending sync queues,
 * then (at most every period_ms) lists the worker databases, maps them to
 * workers, drops those the plan allows, and sets the orphan gauge. Only
 * called while a master serves and ZooKeeper is connected. */
void rs_orch_retirer_run(
    rs_orch_retirer *r, const rs_orch_worker *t, size_t n, int period_ms);

#endif
