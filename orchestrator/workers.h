/* The worker table: what ZooKeeper says (/rideshare/workers/<id> WorkerInfo,
 * /rideshare/master, /rideshare/epoch, all watched), what the spawner says
 * (spawned, exited), and what the workers' nng status lines say (applied
 * seq, epoch; head seq from the master). One lock; snapshots for readers.
 *
 * Threads: rs_orch_workers_refresh and every call that talks to
 * ZooKeeper belong to the supervisor thread; snapshots, epoch and the
 * state setters are safe from any thread. ZooKeeper calls are never made
 * with the table lock held (watch callbacks take that lock). */
#ifndef RS_ORCH_WORKERS_H
#define RS_ORCH_WORKERS_H

#include "roster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_orch_workers rs_orch_workers;

#include "rs_contract.h"

/* Connects to ZooKeeper (retrying up to connect_wait_ms), creates the
 * persistent parents, opens the nng SUB socket and starts the status
 * thread. */
int rs_orch_workers_create(const char *zk_hosts, int session_ms,
    int connect_wait_ms, rs_orch_workers **out);
void rs_orch_workers_destroy(rs_orch_workers *w);

/* Re-reads ZooKeeper if a watch fired since the last call (or force) and
 * merges it into the table; starts a new session after expiry. Marks
 * registered workers whose znode vanished as DEAD. */
int rs_orch_workers_refresh(rs_orch_workers *w, bool force);

/* Sleeps until a watch fires, rs_orch_workers_poke, or timeout_ms. */
void rs_orch_workers_wait(rs_orch_workers *w, int timeout_ms);
void rs_orch_workers_poke(rs_orch_workers *w);

/* Copies up to max entries into out; master_id (len >= RS_ORCH_ID_MAX)
 * gets the data of /rideshare/master ("" when none). Returns the count. */
size_t rs_orch_workers_snapshot(
    rs_orch_workers *w, rs_orch_worker *out, size_t max, char *master_id);

/* Recomputes every worker's lag_seqs, lag_ms and lag_state at now
 * (monotonic ms) from the master's head notices and the status notices
 * (a slave silent for more than 3 status periods lags by its silence),
 * then read_paused (rs_orch_roster_read_pauses with max_lag_ms). */
void rs_orch_workers_lag(rs_orch_workers *w, int64_t max_lag_ms, int64_t now);

/* Writes the ids of the slaves that take no new reads into buf (len
 * bytes), separated by single spaces ("" when none). */
void rs_orch_workers_read_paused(rs_orch_workers *w, char *buf, size_t len);

/* rs_orch_roster_resend_target over the table. */
bool rs_orch_workers_resend_target(
    rs_orch_workers *w, const char *hint, char *out, size_t len);

/* Adds a worker this orchestrator just spawned (state STARTING). */
int rs_orch_workers_add(rs_orch_workers *w, const char *id, int64_t pid);
/* Sets the state of worker id; returns the previous one via *prev (may
 * be NULL). RS_ENOTFOUND when unknown. */
int rs_orch_workers_set_state(rs_orch_workers *w, const char *id,
    enum rs_orch_wstate st, enum rs_orch_wstate *prev);
/* Notes that SIGKILL (kill_sent) or SIGTERM (state STOPPING, stop_ms)
 * went to worker id. */
int rs_orch_workers_mark_killed(rs_orch_workers *w, const char *id);
int rs_orch_workers_mark_stopping(rs_orch_workers *w, const char *id);
/* Records that the spawner saw worker id end: state DEAD, exited. Fills
 * *was (may be NULL) with the entry before the change. */
int rs_orch_workers_exited(
    rs_orch_workers *w, const char *id, rs_orch_worker *was);

/* A worker known dead (reaped) still has its znodes until its session
 * expires. Deleting them at once lets the slaves elect a new master
 * without waiting for the expiry: safe, since the process is gone.
 * Deletes /rideshare/workers/<id>, and /rideshare/master if it names id. */
int rs_orch_workers_forget(rs_orch_workers *w, const char *id);

/* Marks worker id as ours (adopted from a previous orchestrator). */
int rs_orch_workers_mark_ours(rs_orch_workers *w, const char *id);

/* True while a full-cluster recovery refuses writes (RS_ZK_RECOVERY
 * exists); its reason (one line) is copied into why (len bytes). */
bool rs_orch_workers_recovery_blocked(
    rs_orch_workers *w, char *why, size_t len);
/* The operator's consent to start from the most advanced surviving copy
 * although it misses acknowledged writes: creates RS_ZK_RECOVERY_ACCEPT.
 * RS_ESTATE when no recovery is refusing (nothing to accept). */
int rs_orch_workers_accept_loss(rs_orch_workers *w);

/* Supervisor thread: creates (paused) or deletes RS_ZK_PAUSED, with
 * reason as its data. Idempotent. RS_ECLOSED without a session. */
int rs_orch_workers_write_maintenance(
    rs_orch_workers *w, bool paused, const char *reason);
/* Supervisor thread: whether RS_ZK_PAUSED exists (a previous
 * orchestrator's pause survives a restart); reason gets its data. */
int rs_orch_workers_read_maintenance(
    rs_orch_workers *w, bool *paused, char *reason, size_t len);

/* Supervisor thread: creates RS_ZK_SWITCHOVER naming candidate_id, or
 * deletes it (candidate_id NULL). Idempotent. */
int rs_orch_workers_write_switchover(
    rs_orch_workers *w, const char *candidate_id);

/* Writes /rideshare/pids/<id> = pid (docker spawner; an rs_orch_pid_fn). */
int rs_orch_workers_publish_pid(void *w, const char *id, int64_t pid);
/* Reads RS_ZK_MASTER_VOLUME into buf (the swarm spawner's
 * rs_orch_volume_fn): RS_OK, RS_ENOTFOUND when absent or empty. */
int rs_orch_workers_master_volume(void *w, char *buf, size_t len);

/* Current master epoch (max of /rideshare/epoch and status lines). */
uint64_t rs_orch_workers_epoch(rs_orch_workers *w);
/* Master's head seq from its "head" notices (0 when none yet). */
uint64_t rs_orch_workers_head(rs_orch_workers *w);
bool rs_orch_workers_zk_connected(rs_orch_workers *w);

#endif
