/* Catch-up copy for a new slave (docs/replication.md): every table of the
 * master's database, read in ONE REPEATABLE READ snapshot with COPY and
 * streamed into this worker's database in one transaction. The meta row
 * comes along, so applied_seq is exactly the seq the snapshot contains. */
#include "worker.h"

#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"
#include "schema.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

/* Runs sql (a COPY) on c and checks it entered copy mode want; logs
 * event for table when not. RS_OK or RS_EDB. */
static int
copy_start(PGconn *c, const char *sql, ExecStatusType want, const char *event,
    const char *table)
{
	PGresult *r = PQexec(c, sql);
	int rc = RS_OK;

	if (PQresultStatus(r) != want) {
		rs_error(NULL, "event=%s table=%s err=\"%s\"", event, table,
		    PQerrorMessage(c));
		rc = RS_EDB;
	}
	PQclear(r);
	return rc;
}

/* Collects the results that end a COPY on c; a failed one sets *rc to
 * RS_EDB and is logged as event for table (only while *rc is still RS_OK
 * when first_only, so an abort we asked for is not logged again). */
static void
copy_finish(
    PGconn *c, const char *event, const char *table, bool first_only, int *rc)
{
	PGresult *r;

	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK
		    && (!first_only || *rc == RS_OK)) {
			rs_error(NULL, "event=%s table=%s err=\"%s\"", event,
			    table, PQresultErrorMessage(r));
			*rc = RS_EDB;
		}
		PQclear(r);
	}
}

static int
copy_table(PGconn *src, PGconn *dst, const rs_worker_table *t, uint64_t *bytes)
{
	char out_sql[256], in_sql[256];
	int rc;

	snprintf(out_sql, sizeof(out_sql),
	    "COPY %s (%s) TO STDOUT WITH (FORMAT binary)", t->name,
	    t->columns);
	snprintf(in_sql, sizeof(in_sql),
	    "COPY %s (%s) FROM STDIN WITH (FORMAT binary)", t->name,
	    t->columns);
	if (copy_start(src, out_sql, PGRES_COPY_OUT,
	        "snapshot_copy_out_failed", t->name)
	    != RS_OK)
		return RS_EDB;
	rc = copy_start(
	    dst, in_sql, PGRES_COPY_IN, "snapshot_copy_in_failed", t->name);
	for (;;) {
		char *buf;
		int n = PQgetCopyData(src, &buf, 0);
		if (n < 0)
			break;
		if (rc == RS_OK && PQputCopyData(dst, buf, n) != 1) {
			rs_error(NULL,
			    "event=snapshot_put_failed table=%s "
			    "err=\"%s\"",
			    t->name, PQerrorMessage(dst));
			rc = RS_EDB;
		}
		*bytes += (uint64_t) n;
		PQfreemem(buf);
	}
	copy_finish(src, "snapshot_copy_out_failed", t->name, false, &rc);
	if (PQputCopyEnd(dst, rc == RS_OK ? NULL : "aborted") != 1)
		rc = RS_EDB;
	copy_finish(dst, "snapshot_copy_in_failed", t->name, true, &rc);
	return rc;
}

int
rs_worker_snapshot(rs_worker *w, const char *master_conninfo)
{
	PGconn *src;
	uint64_t bytes = 0;
	int64_t t0 = rs_time_now_ms();
	int rc;

	if ((rc = rs_db_connect_retry(master_conninfo, 10000, &src)) != RS_OK)
		return rc;
	rc = rs_db_exec(
	    src, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	if (rc == RS_OK)
		rc = rs_worker_store_begin(w->db);
	for (int i = rs_worker_ntables - 1; rc == RS_OK && i >= 0; i--) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s",
		    rs_worker_tables[i].name);
		rc = rs_db_exec(w->db, sql);
	}
	for (int i = 0; rc == RS_OK && i < rs_worker_ntables; i++)
		rc = copy_table(src, w->db, &rs_worker_tables[i], &bytes);
	if (rc == RS_OK)
		rc = rs_worker_store_commit(w->db);
	else
		rs_worker_store_rollback(w->db);
	(void) rs_db_exec(src, "COMMIT");
	PQfinish(src);
	if (rc == RS_OK)
		rc = rs_worker_store_load(w->db, &w->meta);
	if (rc == RS_OK) {
		if (w->meta.epoch > w->epoch)
			w->epoch = w->meta.epoch;
		rs_info(NULL,
		    "event=snapshot_done applied_seq=%" PRIu64
		    " epoch=%" PRIu64 " bytes=%" PRIu64 " ms=%lld",
		    w->meta.applied_seq, w->meta.epoch, bytes,
		    (long long) (rs_time_now_ms() - t0));
	}
	return rc;
}
