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
#include <stdio.h>

static int
copy_table(PGconn *src, PGconn *dst, const rs_worker_table *t, uint64_t *bytes)
{
	char out_sql[256], in_sql[256];
	int rc = RS_OK;

	snprintf(out_sql, sizeof(out_sql),
	    "COPY %s (%s) TO STDOUT WITH (FORMAT binary)", t->name,
	    t->columns);
	snprintf(in_sql, sizeof(in_sql),
	    "COPY %s (%s) FROM STDIN WITH (FORMAT binary)", t->name,
	    t->columns);
	PGresult *ro = PQexec(src, out_sql);
	if (PQresultStatus(ro) != PGRES_COPY_OUT) {
		rs_error(NULL,
		    "event=snapshot_copy_out_failed table=%s "
		    "err=\"%s\"",
		    t->name, PQerrorMessage(src));
		PQclear(ro);
		return RS_EDB;
	}
	PQclear(ro);
	PGresult *ri = PQexec(dst, in_sql);
	if (PQresultStatus(ri) != PGRES_COPY_IN) {
		rs_error(NULL,
		    "event=snapshot_copy_in_failed table=%s "
		    "err=\"%s\"",
		    t->name, PQerrorMessage(dst));
		PQclear(ri);
		rc = RS_EDB;
	} else {
		PQclear(ri);
	}
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
	PGresult *r;
	while ((r = PQgetResult(src)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			rs_error(NULL,
			    "event=snapshot_copy_out_failed "
			    "table=%s err=\"%s\"",
			    t->name, PQresultErrorMessage(r));
			rc = RS_EDB;
		}
		PQclear(r);
	}
	if (PQputCopyEnd(dst, rc == RS_OK ? NULL : "aborted") != 1)
		rc = RS_EDB;
	while ((r = PQgetResult(dst)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == RS_OK) {
			rs_error(NULL,
			    "event=snapshot_copy_in_failed "
			    "table=%s err=\"%s\"",
			    t->name, PQresultErrorMessage(r));
			rc = RS_EDB;
		}
		PQclear(r);
	}
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
