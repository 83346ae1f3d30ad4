/* Replication bookkeeping in the worker's own database: the meta row
 * (applied seq, epoch, next ride id) and the applied-requests table that
 * makes writes idempotent (request_id -> seq, packed DbResponse). */
#ifndef RS_WORKER_STORE_H
#define RS_WORKER_STORE_H

#include "rideshare.pb-c.h"

#include <libpq-fe.h>
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

/* Records request_id as write seq with its response (packed as given). */
int rs_worker_store_record(PGconn *db, const char *request_id, uint64_t seq,
    const Rideshare__DbResponse *resp);

/* Default RIDESHARE_IDEMPOTENCY_TTL_S: how long a recorded request_id
 * (an Idempotency-Key among them) answers retries with its stored reply. */
#define RS_WORKER_IDEMPOTENCY_TTL_S 86400

/* Deletes the applied_requests rows this copy recorded more than ttl_s
 * seconds ago, at most once a minute (*last_ms: the caller's monotonic
 * timestamp of the previous run, 0 at first). Outside any transaction.
 * RS_OK, or RS_EDB (logged; the caller goes on). */
int rs_worker_store_prune(PGconn *db, long ttl_s, int64_t *last_ms);

/* BEGIN / COMMIT / ROLLBACK. */
int rs_worker_store_begin(PGconn *db);
int rs_worker_store_commit(PGconn *db);
void rs_worker_store_rollback(PGconn *db);

#endif
