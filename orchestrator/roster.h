/* The orchestrator's view of one worker, and the pure decisions taken over
 * a table of them: worker/list, crash targets, the supervisor's plan.
 * No I/O here: every function is unit-tested (roster_test.c). */
#ifndef RS_ORCH_ROSTER_H
#define RS_ORCH_ROSTER_H

#include "rs_notice.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RS_ORCH_ID_MAX      64
#define RS_ORCH_URL_MAX     128
#define RS_ORCH_MAX_WORKERS 64

/* Role as published in the worker's znode (values of rideshare.Role),
 * or RS_ORCH_ROLE_NONE while no znode was seen. */
#define RS_ORCH_ROLE_NONE      (-1)
#define RS_ORCH_ROLE_CANDIDATE 0
#define RS_ORCH_ROLE_MASTER    1
#define RS_ORCH_ROLE_SLAVE     2

enum rs_orch_wstate {
	RS_ORCH_STARTING, /* spawned, not yet MASTER or SLAVE */
	RS_ORCH_RUNNING, /* MASTER or SLAVE */
	RS_ORCH_STOPPING, /* sent SIGTERM (scale-in, shutdown) */
	RS_ORCH_DEAD, /* exited, killed, or its session expired */
};

typedef struct rs_orch_worker {
	char id[RS_ORCH_ID_MAX];
	int64_t pid; /* as the spawner sees it; 0 = unknown */
	int role; /* RS_ORCH_ROLE_* */
	enum rs_orch_wstate state;
	bool registered; /* znode present now */
	bool seen_registered; /* znode was present at some point */
	bool ours; /* spawned by this orchestrator */
	bool exited; /* spawner saw the process/container end */
	bool kill_sent; /* SIGKILL sent (crash API, lost session) */
	int64_t stop_ms; /* monotonic time SIGTERM was sent */
	int64_t dead_ms; /* monotonic time its znode vanished (0: never) */
	int64_t spawned_ms; /* monotonic, 0 for foreign workers */
	char nng_url[RS_ORCH_URL_MAX];
	uint64_t applied_seq; /* from the znode or the latest status */
	uint64_t epoch; /* from the latest status line */
	int64_t status_ms; /* monotonic time of the latest status */
	int64_t status_lag_ms; /* lag_ms as of the latest status */
	rs_notice_reads reads; /* slave: its "reads" notice counters */
	rs_notice_commits commits; /* master: its "commits" notice */
	/* Replication lag (docs/replication.md "Lag and read routing"),
	 * set by rs_orch_workers_lag: */
	uint64_t lag_seqs; /* master head - applied_seq */
	int64_t lag_ms; /* age of its oldest unapplied write, or silence */
	int lag_state; /* RS_ORCH_LAG_* */
	bool read_paused; /* takes no new reads (rs_orch_roster_read_pauses) */
} rs_orch_worker;

/* Lag states of a worker. */
enum {
	RS_ORCH_LAG_NONE = 0, /* master, stopping or dead: not a reader */
	RS_ORCH_LAG_SNAPSHOTTING, /* candidate that has applied nothing yet */
	RS_ORCH_LAG_CATCHING_UP, /* candidate replaying the sync queue */
	RS_ORCH_LAG_SERVING, /* slave within the lag limit */
	RS_ORCH_LAG_LAGGING, /* slave beyond it: takes no new reads */
};

/* "snapshotting", "catching_up", "serving", "lagging" or "none". */
const char *rs_orch_lag_state_name(int state);

/* Decides which serving slaves (lag_state SERVING or LAGGING, lag_ms set)
 * take no new reads, with hysteresis: a slave stops taking them beyond
 * max_lag_ms and takes them again at max_lag_ms / 2 or less. When every
 * one would stop, the least lagging keeps taking them (never fewer
 * answers than without the rule). Sets read_paused and lag_state. */
void rs_orch_roster_read_pauses(
    rs_orch_worker *t, size_t n, int64_t max_lag_ms);

/* Where a resent read goes (DbRequest.resend, docs/gateway.md "A hung
 * slave costs a read a deadline"): the slave named hint when it takes
 * reads (role slave, not read_paused); else the slave taking reads whose
 * latest status notice is the newest (a hung slave has been silent at
 * least since it stopped). Its id into out (len bytes) and true; false
 * and out "" when no slave takes reads (the resend goes to readQ). */
bool rs_orch_roster_resend_target(const rs_orch_worker *t, size_t n,
    const char *hint, char *out, size_t len);

/* Worker ids the orchestrator's spawners hand out: "w<n>-<6 hex>"
 * (RS_ORCH_ID_FORMAT with a counter and a random hex string). Only such
 * workers are adopted by a restarted orchestrator; others (started by
 * hand, by tests) stay foreign. */
#define RS_ORCH_ID_FORMAT "w%u-%.6s"
bool rs_orch_worker_id_spawned(const char *id);

/* True for a worker that is (or is becoming) part of the tier. */
bool rs_orch_worker_alive(const rs_orch_worker *w);

/* RS_ROLE_MASTER, _SLAVE, _CANDIDATE or "none" (any other value) for an
 * RS_ORCH_ROLE_*: the spelling of the admin API and the log lines. */
const char *rs_orch_role_name(int role);

/* "starting", "running", "stopping" or "dead": the spelling of a worker
 * state in the admin API and the status page. */
const char *rs_orch_state_name(enum rs_orch_wstate st);

/* Writes the pids of every live MASTER or SLAVE into pids, ascending;
 * returns how many (at most max). This is GET /api/v1/worker/list. */
size_t rs_orch_roster_pids(
    const rs_orch_worker *w, size_t n, int64_t *pids, size_t max);

/* Index of the live worker holding /rideshare/master (master_id), or -1.
 * need_role: also require role MASTER in its znode (promotion done). */
int rs_orch_roster_master(
    const rs_orch_worker *w, size_t n, const char *master_id, bool need_role);

/* Index of the live SLAVE with the highest pid (crash/slave, scale-in),
 * or -1. Ties go to the later entry. */
int rs_orch_roster_top_slave(const rs_orch_worker *w, size_t n);

/* What the supervisor should do now. */
typedef struct rs_orch_plan {
	int spawn; /* new slaves (or 1 bootstrap) */
	bool bootstrap; /* spawning the first worker */
	int nstop; /* graceful stops, in stop[] */
	int stop[RS_ORCH_MAX_WORKERS]; /* indexes into the table */
} rs_orch_plan;

/* Decides spawns and graceful stops so that one master and target slaves
 * run:
 *  - no master and nothing alive, and no MASTER/SLAVE znode left over:
 *    spawn 1 (it will elect itself);
 *  - no master otherwise: nothing (an election or a bootstrap is under
 *    way; a new slave must never copy a dead master's database);
 *  - master up: spawn (target - slaves), or stop the (slaves - target)
 *    highest-pid slaves, serving SLAVEs first, then starting ones. */
void rs_orch_roster_plan(const rs_orch_worker *w, size_t n,
    const char *master_id, int target_slaves, rs_orch_plan *plan);

#endif
