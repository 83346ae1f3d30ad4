#include "schema.h"

#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"

#include <string.h>

/* Usernames have no size limit (>= 100 KiB must work), which is above what
 * a btree entry may hold, so uniqueness and look-ups go through md5() of the
 * name and every query also compares the name itself. Join order and user
 * creation order are the seq of the write, so a replica replaying the same
 * writes ends with byte-identical tables (no sequences, no clocks). */
static const char *const ddl[] = {
	"CREATE TABLE IF NOT EXISTS users ("
	" username text NOT NULL, password text NOT NULL,"
	" created bigint NOT NULL)",
	"CREATE UNIQUE INDEX IF NOT EXISTS users_name ON users "
	"(md5(username))",
	"CREATE INDEX IF NOT EXISTS users_created ON users (created)",
	"CREATE TABLE IF NOT EXISTS rides ("
	" ride_id bigint PRIMARY KEY, created_by text NOT NULL,"
	" ts bigint NOT NULL, source int NOT NULL, destination int NOT NULL)",
	"CREATE INDEX IF NOT EXISTS rides_route"
	" ON rides (source, destination, ts)",
	"CREATE INDEX IF NOT EXISTS rides_creator ON rides (md5(created_by))",
	"CREATE TABLE IF NOT EXISTS ride_members ("
	" ride_id bigint NOT NULL, username text NOT NULL,"
	" seq bigint NOT NULL, PRIMARY KEY (ride_id, seq))",
	"CREATE INDEX IF NOT EXISTS ride_members_user"
	" ON ride_members (md5(username))",
	"CREATE TABLE IF NOT EXISTS applied_requests ("
	" request_id text PRIMARY KEY, seq bigint NOT NULL,"
	" response bytea NOT NULL)",
	/* When this copy recorded the request (its own clock: a copy
	 * recorded or snapshotted later keeps it at least as long), for
	 * RIDESHARE_IDEMPOTENCY_TTL_S pruning. Not copied by snapshots. */
	"ALTER TABLE applied_requests ADD COLUMN IF NOT EXISTS at_s bigint"
	" NOT NULL DEFAULT (extract(epoch FROM now()))::bigint",
	"CREATE INDEX IF NOT EXISTS applied_requests_at"
	" ON applied_requests (at_s)",
	"CREATE TABLE IF NOT EXISTS meta ("
	" id int PRIMARY KEY CHECK (id = 1), applied_seq bigint NOT NULL,"
	" epoch bigint NOT NULL, next_ride_id bigint NOT NULL)",
	"INSERT INTO meta VALUES (1, 0, 0, 1) ON CONFLICT DO NOTHING",
	/* The change log (docs/operations.md "Change feed"): every write as
	 * its SyncEvent (epoch of the term that committed it, request,
	 * result), written in the transaction that applies it, on the master
	 * and on every slave alike, and pruned by seq (rs_worker_tail_change)
	 * so that every copy holds the same rows. Read by the orchestrator's
	 * GET /api/v1/changes (orchestrator/changes_db.c). */
	"CREATE TABLE IF NOT EXISTS changes ("
	" seq bigint PRIMARY KEY, epoch bigint NOT NULL,"
	" event bytea NOT NULL)",
};

/* A user's existence: u_exists (writes), u_exists_read (reads). */
#define U_EXISTS_SQL \
	"SELECT 1 FROM users WHERE md5(username) = md5($1) AND username = $1"

static const struct {
	const char *name;
	const char *sql;
} stmts[] = {
	{ "u_exists", U_EXISTS_SQL },
	/* The same query for reads (GetUser), prepared apart: PostgreSQL
	 * caches one plan per statement whatever the settings, and the one a
	 * read caches (the planner's free choice: a sequential scan while the
	 * table is tiny) must never serve a write transaction
	 * (RS_WORKER_WRITE_PLANS, store.h). */
	{ "u_exists_read", U_EXISTS_SQL },
	/* add_user in one statement: no row inserted means the name is
	 * taken (users_name, the only unique index, decides: no existence
	 * scan to plan). A different name with the same md5 is refused as
	 * taken too; the index refused it before as well, as a database
	 * error (md5 collisions take deliberate crafting). */
	{ "u_add",
	    "INSERT INTO users (username, password, created)"
	    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING" },
	{ "u_delete",
	    "DELETE FROM users WHERE md5(username) = md5($1)"
	    " AND username = $1" },
	{ "u_del_created_members",
	    "DELETE FROM ride_members WHERE ride_id IN (SELECT ride_id FROM"
	    " rides WHERE md5(created_by) = md5($1) AND created_by = $1)" },
	{ "u_del_created",
	    "DELETE FROM rides WHERE md5(created_by) = md5($1)"
	    " AND created_by = $1" },
	{ "u_del_joined",
	    "DELETE FROM ride_members WHERE md5(username) = md5($1)"
	    " AND username = $1" },
	{ "u_list", "SELECT username FROM users ORDER BY created" },
	{ "r_insert",
	    "INSERT INTO rides (ride_id, created_by, ts, source, destination)"
	    " VALUES ($1, $2, $3, $4, $5)" },
	{ "r_get",
	    "SELECT created_by, ts, source, destination FROM rides"
	    " WHERE ride_id = $1" },
	/* One round trip for a ride and its members (GET /rides/{id}):
	 * one row per member in join order, or one row with a NULL
	 * username when nobody joined. */
	{ "r_get_members",
	    "SELECT r.created_by, r.ts, r.source, r.destination, m.username"
	    " FROM rides r LEFT JOIN ride_members m ON m.ride_id = r.ride_id"
	    " WHERE r.ride_id = $1 ORDER BY m.seq" },
	{ "r_is_member",
	    "SELECT 1 FROM ride_members WHERE ride_id = $1"
	    " AND md5(username) = md5($2) AND username = $2" },
	{ "r_join",
	    "INSERT INTO ride_members (ride_id, username, seq)"
	    " VALUES ($1, $2, $3)" },
	{ "r_delete", "DELETE FROM rides WHERE ride_id = $1" },
	{ "r_del_members", "DELETE FROM ride_members WHERE ride_id = $1" },
	{ "r_list",
	    "SELECT ride_id, created_by, ts, source, destination FROM rides"
	    " WHERE source = $1 AND destination = $2 AND ts > $3"
	    " ORDER BY ts, ride_id" },
	{ "r_count", "SELECT count(*) FROM rides" },
	{ "c_members", "DELETE FROM ride_members" },
	{ "c_rides", "DELETE FROM rides" },
	{ "c_users", "DELETE FROM users" },
	{ "a_get",
	    "SELECT seq, response FROM applied_requests"
	    " WHERE request_id = $1" },
	/* The dedupe look-ups of a whole batch in one statement ($1: a
	 * text[] literal of request_ids). */
	{ "a_get_many",
	    "SELECT request_id, seq, response FROM applied_requests"
	    " WHERE request_id = ANY($1::text[])" },
	{ "a_insert",
	    "INSERT INTO applied_requests (request_id, seq, response)"
	    " VALUES ($1, $2, $3)" },
	/* A batch's rows in one statement each ($n: array literals, the
	 * bytea ones in hex; rs_worker_tail_commit). */
	{ "a_insert_many",
	    "INSERT INTO applied_requests (request_id, seq, response)"
	    " SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])" },
	{ "ch_insert_many",
	    "INSERT INTO changes (seq, epoch, event)"
	    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])" },
	{ "a_prune",
	    "DELETE FROM applied_requests WHERE at_s <"
	    " (extract(epoch FROM now()))::bigint - $1" },
	{ "ch_insert",
	    "INSERT INTO changes (seq, epoch, event) VALUES ($1, $2, $3)" },
	{ "ch_prune", "DELETE FROM changes WHERE seq <= $1" },
	{ "m_get", "SELECT applied_seq, epoch, next_ride_id FROM meta" },
	{ "m_set",
	    "UPDATE meta SET applied_seq = $1, epoch = $2,"
	    " next_ride_id = $3" },
};

int
rs_worker_schema_create(PGconn *db)
{
	for (size_t i = 0; i < sizeof(ddl) / sizeof(ddl[0]); i++) {
		int rc = rs_db_exec(db, ddl[i]);
		if (rc != RS_OK)
			return rc;
	}
	return RS_OK;
}

int
rs_worker_schema_prepare(PGconn *db)
{
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		PGresult *res
		    = PQprepare(db, stmts[i].name, stmts[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rs_error(NULL,
			    "event=db_prepare_failed stmt=%s err=\"%s\"",
			    stmts[i].name, PQerrorMessage(db));
			PQclear(res);
			return RS_EDB;
		}
		PQclear(res);
	}
	return RS_OK;
}

int
rs_worker_db_run(PGconn *db, const char *name, int n,
    const char *const *params, const void *bin_last, int bin_len,
    int bin_result, PGresult **out)
{
	int lens[8] = { 0 };
	int fmts[8] = { 0 };
	const char *vals[8];

	if (n > 8)
		return RS_EINVAL;
	for (int i = 0; i < n; i++)
		vals[i] = params[i];
	if (bin_last != NULL && n > 0) {
		vals[n - 1] = bin_last;
		lens[n - 1] = bin_len;
		fmts[n - 1] = 1;
	}
	PGresult *res = PQexecPrepared(
	    db, name, n, vals, lens, fmts, bin_result ? 1 : 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		rs_error(NULL, "event=db_error stmt=%s sqlstate=%s err=\"%s\"",
		    name, state ? state : "-", PQresultErrorMessage(res));
		PQclear(res);
		return RS_EDB;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return RS_OK;
}

static void
log_db_error(const char *name, const PGresult *res, PGconn *db)
{
	const char *state
	    = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg
	    = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);

	rs_error(NULL, "event=db_error stmt=%s sqlstate=%s err=\"%s\"", name,
	    state ? state : "-", msg);
}

static int
pipeline_send(PGconn *db, const rs_worker_db_stmt *st)
{
	int lens[4] = { 0 };
	int fmts[4] = { 0 };
	const char *vals[4];

	if (st->name == NULL)
		return PQsendQueryParams(
		    db, st->sql, 0, NULL, NULL, NULL, NULL, 0);
	if (st->n > 4)
		return 0;
	for (int i = 0; i < st->n; i++)
		vals[i] = st->params[i];
	if (st->bin_last != NULL && st->n > 0) {
		vals[st->n - 1] = st->bin_last;
		lens[st->n - 1] = st->bin_len;
		fmts[st->n - 1] = 1;
	}
	return PQsendQueryPrepared(
	    db, st->name, st->n, vals, lens, fmts, st->bin_result ? 1 : 0);
}

int
rs_worker_db_pipeline(PGconn *db, rs_worker_db_stmt *s, int n)
{
	int rc = RS_OK, sent = 0;

	for (int i = 0; i < n; i++)
		s[i].res = NULL;
	if (PQenterPipelineMode(db) != 1) {
		log_db_error("pipeline", NULL, db);
		return RS_EDB;
	}
	for (; sent < n; sent++)
		if (pipeline_send(db, &s[sent]) != 1) {
			log_db_error(s[sent].name ? s[sent].name : s[sent].sql,
			    NULL, db);
			rc = RS_EDB;
			break;
		}
	if (PQpipelineSync(db) != 1) {
		log_db_error("pipeline_sync", NULL, db);
		return RS_EDB; /* the connection is gone: the caller sees it */
	}
	/* Each statement: its result, then NULL; then the sync's result. */
	for (int i = 0; i < sent; i++) {
		PGresult *res = PQgetResult(db);
		if (res == NULL) {
			rc = RS_EDB;
			log_db_error("pipeline", NULL, db);
			break;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			if (s[i].keep)
				s[i].res = res;
			else
				PQclear(res);
		} else {
			if (st != PGRES_PIPELINE_ABORTED)
				log_db_error(
				    s[i].name ? s[i].name : s[i].sql, res, db);
			PQclear(res);
			rc = RS_EDB;
		}
		while ((res = PQgetResult(db)) != NULL)
			PQclear(res);
	}
	for (PGresult *res; (res = PQgetResult(db)) != NULL;) {
		bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (sync)
			break;
	}
	if (PQexitPipelineMode(db) != 1) {
		log_db_error("pipeline_exit", NULL, db);
		rc = RS_EDB;
	}
	if (rc != RS_OK)
		for (int i = 0; i < n; i++) {
			PQclear(s[i].res);
			s[i].res = NULL;
		}
	return rc;
}

int
rs_worker_db_q(PGconn *db, const char *name, int n, const char *const *params,
    PGresult **out)
{
	return rs_worker_db_run(db, name, n, params, NULL, 0, 0, out);
}
