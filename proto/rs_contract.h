/* What two processes must agree on beyond the protobuf messages: the
 * RabbitMQ topology, the ZooKeeper layout and the role names
 * (docs/conventions.md). One place for each name; every binary includes
 * this header. */
#ifndef RS_CONTRACT_H
#define RS_CONTRACT_H

/* ---- RabbitMQ (declared by rs_mq_declare_topology) ---- */
/* Callers -> orchestrator: DbRequests (reply on direct reply-to). */
#define RS_Q_ORCHESTRATOR "orchestrator"
/* Orchestrator -> master: writes (single active consumer). */
#define RS_Q_WRITE "writeQ"
/* Content type of a writeQ message that carries a WriteBatch (the writes
 * of one routing pass) instead of one DbRequest, and the most writes one
 * may carry (docs/replication.md "Write batches"); at most half of the
 * master's group (worker/master.c BATCH_MAX), so a delivery always fits
 * in the group it is taken into. */
#define RS_CT_WRITE_BATCH  "application/x-rideshare-write-batch"
#define RS_WRITE_BATCH_MAX 64
/* Orchestrator -> slaves: reads stamped with min_seq. */
#define RS_Q_READ "readQ"
/* Content type of a readQ message that carries a ReadBatch (several
 * stamped reads) instead of one DbRequest, and the most reads one may
 * carry (docs/replication.md "Read batches"). */
#define RS_CT_READ_BATCH  "application/x-rideshare-read-batch"
#define RS_READ_BATCH_MAX 16
#define RS_REPLY_TO_MAX   255 /* longest reply address a slave keeps */
/* Content type of a message to RS_Q_ORCHESTRATOR that carries a
 * RequestBatch (several requests answered on one reply address), and of a
 * reply that carries a ResponseBatch; the most entries either may carry
 * (docs/replication.md "Request and response batches"). */
#define RS_CT_REQUEST_BATCH   "application/x-rideshare-request-batch"
#define RS_REQUEST_BATCH_MAX  64
#define RS_CT_RESPONSE_BATCH  "application/x-rideshare-response-batch"
#define RS_RESPONSE_BATCH_MAX 64
/* Orchestrator -> one slave: a read the gateway sends a second time
 * (DbRequest.resend), "read." + worker id; declared by that slave. */
#define RS_Q_READ_PREFIX "read."
/* Master -> orchestrator: write replies. */
#define RS_Q_RESPONSE "responseQ"
/* Master -> every slave's sync queue: committed writes (fanout). */
#define RS_X_SYNC "syncX"
/* A slave's own durable copy of the sync stream: "sync." + worker id. */
#define RS_Q_SYNC_PREFIX "sync."
/* Content type of a sync message that carries a SyncEventBatch (a
 * committed group's new writes) instead of one SyncEvent, and the most
 * events one may carry (docs/replication.md "Sync stream format"). */
#define RS_CT_SYNC_BATCH  "application/x-rideshare-sync-batch"
#define RS_SYNC_BATCH_MAX 128
/* Orchestrator -> slaves: commit_seq announcements (fanout). */
#define RS_X_COMMIT "commitX"
/* Dead letters: exchange and the queue bound to it. */
#define RS_X_DEAD "rideshare.dlx"
#define RS_Q_DEAD "rideshare.dead"

/* ---- roles: the spelling of notices, logs and the admin API ---- */
#define RS_ROLE_MASTER    "master"
#define RS_ROLE_SLAVE     "slave"
#define RS_ROLE_CANDIDATE "candidate"

/* ---- ZooKeeper ---- */
/* Ephemeral, one per registered worker; data = packed WorkerInfo. */
#define RS_ZK_WORKERS "/rideshare/workers"
/* Ephemeral, the master's worker id; created atomically by the winner. */
#define RS_ZK_MASTER "/rideshare/master"
/* Persistent decimal counter: the current master term (fencing token). */
#define RS_ZK_EPOCH "/rideshare/epoch"
/* Persistent, /rideshare/pids/<id> = decimal pid (docker spawner). */
#define RS_ZK_PIDS "/rideshare/pids"
/* Persistent high-water mark "<epoch> <seq>": the newest write a master
 * acknowledged (it may lag the real head by RS_HISTORY_EVERY_MS). Recovery
 * never starts below it without an operator's consent (docs/failover.md). */
#define RS_ZK_HISTORY "/rideshare/history"
/* Persistent, the name of the volume (swarm, worker-pg) that holds the
 * copy of the master that last raised RS_ZK_HISTORY: a master writes it
 * before its first raise, so the named copy always stands at or above the
 * mark. The swarm spawner takes that volume over first when it is free
 * (after every worker crashed at once, docs/swarm.md). Its worker learns
 * the name from RS_ENV_WORKER_VOLUME; no such variable, no node. */
#define RS_ZK_MASTER_VOLUME  "/rideshare/master_volume"
#define RS_ENV_WORKER_VOLUME "RIDESHARE_WORKER_VOLUME"
/* Persistent, present while a recovery is refused: the reason, one line of
 * key=value text. Written by the candidate that holds /rideshare/master. */
#define RS_ZK_RECOVERY "/rideshare/recovery"
/* Persistent, created by the operator (POST /api/v1/recover with
 * accept_loss, `rsctl recover --accept-loss`): start from the most
 * advanced surviving copy although it misses acknowledged writes. */
#define RS_ZK_RECOVERY_ACCEPT "/rideshare/recovery_accept"
/* Persistent, present while the operator paused the cluster (POST
 * /api/v1/pause, docs/operations.md): data = the reason. The orchestrator
 * neither scales nor replaces workers, and slaves do not elect a new
 * master when the master's znode goes, until it is deleted (resume). */
#define RS_ZK_PAUSED "/rideshare/paused"
/* Persistent, present during a planned switchover (POST
 * /api/v1/switchover): data = the candidate's worker id. When the master
 * steps down, only that worker claims RS_ZK_MASTER; the orchestrator
 * deletes the node once the candidate serves, or after a timeout (then
 * the usual lowest-pid election runs). */
#define RS_ZK_SWITCHOVER "/rideshare/switchover"

/* How often a master raises RS_ZK_HISTORY while it acknowledges writes. */
#define RS_HISTORY_EVERY_MS 200

#include <stdint.h>

/* Orders two copies of the data by their last applied write (epoch, seq):
 * the later term wins, then the longer history (the "at least as
 * up-to-date" rule of Raft, section 5.4.1). A copy whose last write came
 * from a fenced master's term loses to one the next term wrote, even if
 * its seq is higher. Returns <0, 0 or >0 like strcmp. */
static inline int
rs_copy_cmp(uint64_t epoch_a, uint64_t seq_a, uint64_t epoch_b, uint64_t seq_b)
{
	if (epoch_a != epoch_b)
		return epoch_a < epoch_b ? -1 : 1;
	if (seq_a != seq_b)
		return seq_a < seq_b ? -1 : 1;
	return 0;
}

#endif
