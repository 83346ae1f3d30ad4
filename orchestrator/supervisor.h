/* Keeps one master and the target number of slaves running (docs/
 * orchestrator.md): bootstraps the first worker, replaces dead ones,
 * applies autoscaling decisions, serves the crash API, and stops every
 * worker in order at shutdown. Runs on a thread of its own; event driven
 * (ZooKeeper watches, pokes) with a 20 ms tick for reaping and deadlines. */
#ifndef RS_ORCH_SUPERVISOR_H
#define RS_ORCH_SUPERVISOR_H

#include "autoscale.h"
#include "spawner.h"
#include "workers.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rs_orch_supervisor rs_orch_supervisor;

typedef struct rs_orch_supervisor_cfg {
	int start_timeout_ms; /* spawned but not MASTER/SLAVE by then: kill */
	int stop_timeout_ms; /* SIGTERM not obeyed by then: SIGKILL */
	/* A worker whose session ended but whose process lives gets this
	 * long to register again before it is killed (session loss is not
	 * death, docs/failover.md). */
	int rejoin_grace_ms;
	int retire_every_ms; /* orphan database scan period */
	const char *pg_maint; /* workers' PostgreSQL (maintenance conninfo) */
	const char *amqp_url;
} rs_orch_supervisor_cfg;

/* Borrows w, sp and as (they must outlive the supervisor). */
int rs_orch_supervisor_create(const rs_orch_supervisor_cfg *cfg,
    rs_orch_workers *w, rs_orch_spawner *sp, rs_orch_autoscale *as,
    rs_orch_supervisor **out);
int rs_orch_supervisor_start(rs_orch_supervisor *s);

/* Crash API: SIGKILLs the master (master=true) or the highest-pid slave;
 * *pid is the victim's pid. RS_ENOTFOUND when there is none. */
int rs_orch_supervisor_crash(rs_orch_supervisor *s, bool master, int64_t *pid);

/* Maintenance mode: pause (true) stops autoscaling, replacement and
 * bootstrap here and, through RS_ZK_PAUSED, automatic failover in the
 * slaves; resume (false) undoes it. reason (may be NULL) is shown on the
 * status page and /readyz. Waits up to wait_ms for ZooKeeper to carry
 * the state: RS_ETIMEDOUT when it did not (the orchestrator's own
 * gating applies at once either way). */
int rs_orch_supervisor_pause(
    rs_orch_supervisor *s, bool pause, const char *reason, int wait_ms);
/* True while paused; reason (len bytes) and *since_ms (wall clock; may
 * be NULL) describe the pause. */
bool rs_orch_supervisor_paused(
    rs_orch_supervisor *s, char *reason, size_t len, int64_t *since_ms);
/* Stops the slave with this pid gracefully (it finishes its reads).
 * RS_ENOTFOUND: no such live worker; RS_ESTATE: it is not a slave (use
 * a switchover for the master). While not paused the supervisor spawns
 * a replacement to keep the target. */
int rs_orch_supervisor_drain(rs_orch_supervisor *s, int64_t pid);
/* What a planned switchover did (POST /api/v1/switchover). */
typedef struct rs_orch_switchover {
	char old_id[RS_ORCH_ID_MAX], new_id[RS_ORCH_ID_MAX];
	int64_t old_pid, new_pid;
	uint64_t epoch; /* the new master's term */
	int64_t pause_ms; /* master told to stop -> candidate serving */
	int64_t total_ms;
} rs_orch_switchover;

/* Planned switchover: names the candidate (candidate_pid, or 0 for the
 * lowest-pid serving slave, the usual election choice) in
 * RS_ZK_SWITCHOVER, stops the master gracefully (it finishes the writes
 * it took, so none acknowledged is lost; the rest wait in writeQ), and
 * waits up to timeout_ms for the candidate to serve as master with a new
 * epoch. The old master's process ends; the supervisor starts a new
 * slave for it. RS_ENOTFOUND: no master or no such slave; RS_ESTATE:
 * paused, or another switchover runs; RS_ETIMEDOUT: the candidate did
 * not take over in time (the usual election then runs). */
int rs_orch_supervisor_switchover(rs_orch_supervisor *s, int64_t candidate_pid,
    int timeout_ms, rs_orch_switchover *out);

/* Restore into a running cluster (orchestrator/restore.h): SIGTERMs
 * every live worker (slaves and master: the supervisor SIGKILLs any that
 * ignores it after stop_timeout_ms) and waits up to wait_ms until none is
 * alive and /rideshare/master is gone. Call it paused, or the supervisor
 * bootstraps a new worker at once. RS_ESTATE when not paused;
 * RS_ETIMEDOUT. */
int rs_orch_supervisor_stop_all(rs_orch_supervisor *s, int wait_ms);

/* The spawner the supervisor uses (borrowed). */
rs_orch_spawner *rs_orch_supervisor_spawner(rs_orch_supervisor *s);

/* The autoscaler the supervisor applies (borrowed). */
rs_orch_autoscale *rs_orch_supervisor_autoscale(rs_orch_supervisor *s);

/* Stops the supervising thread. The workers keep running (and serving):
 * the next orchestrator adopts them; `./rideshare down` and compose stop
 * them. */
void rs_orch_supervisor_shutdown(rs_orch_supervisor *s);
void rs_orch_supervisor_destroy(rs_orch_supervisor *s);

#endif
