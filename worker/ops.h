/* The business rules (../shared/API.md): one DbRequest applied to the
 * worker's database. Failures of a rule (duplicate user, unknown ride, ...)
 * are normal results with a status; only database failures are errors. */
#ifndef RS_WORKER_OPS_H
#define RS_WORKER_OPS_H

#include "arena.h"
#include "rideshare.pb-c.h"
#include "schema.h"

#include <libpq-fe.h>
#include <stdint.h>

/* Applies the write req inside the caller's open transaction as write number
 * seq. *next_ride_id is the ride id counter (advanced by CreateRide, reset by
 * Clear). replay: NULL on the master (it decides, e.g. the ride id); on a
 * slave the master's OK result, whose ids are used so replay is
 * deterministic. On RS_OK *out (from arena a) carries request_id, status,
 * error and result. RS_EDB on a database failure; RS_ESTATE when a replayed
 * write breaks a rule (the replica diverged); RS_EINVAL when req is no
 * write. */
int rs_worker_op_write(PGconn *db, int64_t *next_ride_id,
    const Rideshare__DbRequest *req, uint64_t seq,
    const Rideshare__DbResponse *replay, rs_worker_arena *a,
    Rideshare__DbResponse **out);

/* The master's pipelined form of a write that is one statement whose
 * affected-row count alone decides its reply (today AddUser with a
 * username): true with *st to send (params point into req and seq_buf,
 * which must outlive the statement; st->keep set) and *out (from a,
 * status OK until rs_worker_op_deferred_done says otherwise); false when
 * req must go through rs_worker_op_write (nothing done). Statements sent
 * in order in one transaction see each other's rows, as the op would. */
bool rs_worker_op_defer(const Rideshare__DbRequest *req, uint64_t seq,
    char seq_buf[24], rs_worker_arena *a, rs_worker_db_stmt *st,
    Rideshare__DbResponse **out);
/* Completes a deferred write's reply r from its statement's result. */
void rs_worker_op_deferred_done(
    const Rideshare__DbRequest *req, PGresult *res, Rideshare__DbResponse *r);

/* Answers the read req from db. RS_OK with *out from arena a; RS_EDB on a
 * database failure; RS_EINVAL when req is no read. */
int rs_worker_op_read(PGconn *db, const Rideshare__DbRequest *req,
    rs_worker_arena *a, Rideshare__DbResponse **out);

/* rs_worker_op_read for the reads reqs[0..n) in one round trip (a libpq
 * pipeline: every read is one statement), each reply the one
 * rs_worker_op_read builds. RS_OK: outs[i] (from a) or, when rcs[i] is not
 * RS_OK (RS_ENOMEM), NULL for each i. RS_EDB when the pipeline failed
 * (logged; nothing answered: the caller runs them one by one, as
 * without a pipeline; the connection may be lost or left in pipeline
 * mode, where no single statement runs); RS_EINVAL when some req is no read;
 * RS_ENOMEM. */
int rs_worker_op_read_many(PGconn *db, int n,
    const Rideshare__DbRequest *const *reqs, rs_worker_arena *a,
    Rideshare__DbResponse **outs, int *rcs);

#endif
