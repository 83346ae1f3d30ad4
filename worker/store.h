/* Replication bookkeeping in the worker's own database: the meta row
 * (applied seq, epoch, next ride id) and the applied-requests table that
 * makes writes idempotent (request_id -> seq, packed DbResponse). */
#ifndef RS_WORKER_STORE_H
#define RS_WORKER_STORE_H

#include "rideshare.pb-c.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rs_worker_meta {
	uint64_t applied_seq; /* seq of the last write applied */
	uint64_t epoch; /* master term of the last write applied */
	int64_t next_ride_id; /* id the next CreateRide gets on a master */
} rs_worker_meta;

int rs_worker_store_load(PGconn *db, rs_worker_meta *m);
/* Writes m into the meta row (inside the caller's transaction). */
int rs_worker_store_save(PGconn *db, const rs_worker_meta *m);

/* Looks up request_id. RS_OK: *seq and *resp (unpacked; the caller frees
 * it with rideshare__db_response__free_unpacked) are set. RS_ENOTFOUND when
 * the request was never applied; RS_EDB / RS_EPROTO on failures. */
int rs_worker_store_lookup(PGconn *db, const char *request_id, uint64_t *seq,
    Rideshare__DbResponse **resp);

/* rs_worker_store_lookup for n request_ids (each rs_id_valid) in one
 * statement, after a BEGIN in the same round trip when begin is true (the
 * transaction is then open even on failure: the caller rolls back):
 * resps[i] NULL (not applied) or the stored reply (the caller frees it)
 * with seqs[i]; ids[i] NULL is skipped. RS_OK, RS_EDB, RS_EPROTO,
 * RS_ENOMEM (then every resps[i] is NULL). */
int rs_worker_store_lookup_many(PGconn *db, bool begin, int n,
    const char *const *ids, uint64_t *seqs, Rideshare__DbResponse **resps);

/* Default RIDESHARE_CHANGES_KEEP: how many of the newest seqs the change
 * log keeps (docs/operations.md "Change feed"); ~150 bytes a row, so
 * ~15 MB per copy, copied by every snapshot. */
#define RS_WORKER_CHANGES_KEEP 100000
/* The log is pruned when a seq is a multiple of this: every copy applies
 * the same seqs, so every copy prunes the same rows. */
#define RS_WORKER_CHANGES_PRUNE_EVERY 1000

/* RIDESHARE_CHANGES_KEEP (read once; a bad value exits 2, rs_cfg). */
long rs_worker_changes_keep(void);

/* The bookkeeping rows of a batch of writes (applied_requests, changes),
 * kept in memory while the batch applies and written with the meta row and
 * the COMMIT in one pipeline (rs_worker_tail_commit): one round trip for
 * all of them instead of two per write. Nothing in the batch reads these
 * tables except the dedupe lookup: the slave asks rs_worker_tail_recorded
 * first; the master looks for the earlier item of its own batch instead
 * (worker/master.c earlier_same), since it must answer with that item's
 * reply, not only its seq. Zero-initialise; rs_worker_tail_fini frees. */
typedef struct rs_worker_tail {
	struct rs_worker_tail_row *rows;
	int n, cap;
} rs_worker_tail;

/* Records request_id as write seq with its response (packed now). */
int rs_worker_tail_record(rs_worker_tail *t, const char *request_id,
    uint64_t seq, const Rideshare__DbResponse *resp);
/* Appends write seq of term epoch (req as applied, resp as answered) to the
 * change log; at every RS_WORKER_CHANGES_PRUNE_EVERY-th seq also drops the
 * rows more than keep seqs old. RS_OK or RS_ENOMEM. */
int rs_worker_tail_change(rs_worker_tail *t, uint64_t epoch, uint64_t seq,
    Rideshare__DbRequest *req, Rideshare__DbResponse *resp, long keep);
/* true (and *seq) when request_id was recorded in t and not committed yet. */
bool rs_worker_tail_recorded(
    const rs_worker_tail *t, const char *request_id, uint64_t *seq);
/* Inside the caller's transaction: every row of t, the meta row m, COMMIT,
 * in one round trip. t is empty afterwards, whatever the outcome. RS_OK;
 * RS_EDB (logged; the transaction is aborted: roll back) or RS_ENOMEM. */
int rs_worker_tail_commit(
    PGconn *db, rs_worker_tail *t, const rs_worker_meta *m);
/* Drops the rows (after a rollback). */
void rs_worker_tail_reset(rs_worker_tail *t);
void rs_worker_tail_fini(rs_worker_tail *t);

/* Default RIDESHARE_IDEMPOTENCY_TTL_S: how long a recorded request_id
 * (an Idempotency-Key among them) answers retries with its stored reply. */
#define RS_WORKER_IDEMPOTENCY_TTL_S 86400

/* Deletes the applied_requests rows this copy recorded more than ttl_s
 * seconds ago, at most once a minute (*last_ms: the caller's monotonic
 * timestamp of the previous run, 0 at first). Outside any transaction.
 * RS_OK, or RS_EDB (logged; the caller goes on). */
int rs_worker_store_prune(PGconn *db, long ttl_s, int64_t *last_ms);

/* Every write transaction keeps its statements on their indexes (issued
 * right after BEGIN, in the same round trip). A plan PostgreSQL caches
 * while a table is tiny is a sequential scan, and it stays while the table
 * grows: every write would scan all users (docs/performance.md,
 * bottleneck 2). With sequential scans priced out, a cached (generic)
 * plan of an existence check is its index scan whatever the table's size
 * was, so writes use cached plans too. PostgreSQL caches one plan per
 * prepared statement whatever the settings: a statement of the write path
 * is never run by a read (a read's copy is prepared apart, u_exists_read
 * in schema.c). Planning each write's statements for its parameters
 * (force_custom_plan, until 2026-12-01) was ~45 % of the PostgreSQL time
 * of a PUT /users (docs/performance.md, "Writes use cached plans"). A
 * statement with no index to use still scans (DELETE FROM users of a clear,
 * UPDATE meta), priced at the planner's disable_cost: JIT goes off with it, or
 * that price would buy ~80 ms of JIT compilation per statement
 * (jit_above_cost). One statement (a pipeline sends one per query); it returns
 * one row. Reads, outside transactions, keep the planner's own choice. */
#define RS_WORKER_WRITE_PLANS                               \
	"SELECT set_config('enable_seqscan', 'off', true)," \
	" set_config('jit', 'off', true)"

/* How long a read's cached plan may live (ms): a generic plan made
 * while a table was tiny (a sequential scan) lasts until ANALYZE
 * invalidates it, up to a minute or more while the table grows; the slave
 * drops its plans this often (rs_worker_store_refresh_plans), and the
 * next executions plan again for the tables as they are. */
#define RS_WORKER_PLAN_REFRESH_MS 30000

/* DISCARD PLANS when RS_WORKER_PLAN_REFRESH_MS passed since *last_ms (the
 * caller's monotonic timestamp of the previous run, 0 at first; set to
 * now). Outside any transaction. RS_OK, or RS_EDB (logged). */
int rs_worker_store_refresh_plans(PGconn *db, int64_t *last_ms);

/* BEGIN (with RS_WORKER_WRITE_PLANS) / COMMIT / ROLLBACK. */
int rs_worker_store_begin(PGconn *db);
int rs_worker_store_commit(PGconn *db);
void rs_worker_store_rollback(PGconn *db);

#endif
