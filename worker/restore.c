/* Restore from a backup file (restore.h). The file format is
 * common/rs_backup.h; the tables and columns are the copy list that the
 * catch-up snapshot uses (rs_db_copy_tables), so a restored copy is
 * exactly what a snapshot of the backed-up master at that seq was. */
#include "worker.h"

#include "restore.h"

#include "rs_backup.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* COPY of table i from the reader's blocks; *rows = rows PostgreSQL took. */
static int
load_table(rs_worker *w, rs_backup_reader *r, int i, uint64_t *rows, char *why,
    size_t whylen)
{
	const rs_db_copy_table *t = &rs_db_copy_tables[i];
	char sql[256];
	const void *data;
	size_t n;
	int table, rc = RS_OK;
	PGresult *res;

	snprintf(sql, sizeof(sql),
	    "COPY %s (%s) FROM STDIN WITH (FORMAT binary)", t->name,
	    t->columns);
	res = PQexec(w->db, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		snprintf(why, whylen, "COPY %s: %s", t->name,
		    PQerrorMessage(w->db));
		PQclear(res);
		return RS_EDB;
	}
	PQclear(res);
	for (;;) {
		rc = rs_backup_next(r, &table, &data, &n);
		if (rc != RS_OK) {
			snprintf(why, whylen, "%s", rs_backup_error(r));
			rc = RS_EPROTO;
			break;
		}
		if (n == 0)
			break;
		if (PQputCopyData(w->db, data, (int) n) != 1) {
			snprintf(why, whylen, "COPY %s: %s", t->name,
			    PQerrorMessage(w->db));
			rc = RS_EDB;
			break;
		}
	}
	if (PQputCopyEnd(w->db, rc == RS_OK ? NULL : "restore aborted") != 1
	    && rc == RS_OK) {
		snprintf(why, whylen, "COPY %s: %s", t->name,
		    PQerrorMessage(w->db));
		rc = RS_EDB;
	}
	while ((res = PQgetResult(w->db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == RS_OK) {
			/* Binary COPY rejects damaged tuples itself. */
			snprintf(why, whylen, "COPY %s: %s", t->name,
			    PQresultErrorMessage(res));
			rc = RS_EDB;
		} else if (rc == RS_OK) {
			*rows = strtoull(PQcmdTuples(res), NULL, 10);
		}
		PQclear(res);
	}
	return rc;
}

/* Everything in one transaction of the caller's. */
static int
load(rs_worker *w, const char *path, rs_backup_info *info, char *why,
    size_t whylen)
{
	rs_backup_reader *r = NULL;
	const void *data;
	size_t n;
	int table, rc;
	rs_worker_meta m;

	if ((rc = rs_backup_open(path, &r, info, why, whylen)) != RS_OK)
		return rc;
	for (int i = rs_db_ncopy_tables - 1; rc == RS_OK && i >= 0; i--) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s",
		    rs_db_copy_tables[i].name);
		rc = rs_db_exec(w->db, sql);
	}
	for (int i = 0; rc == RS_OK && i < rs_db_ncopy_tables; i++) {
		uint64_t rows = 0;
		rc = load_table(w, r, i, &rows, why, whylen);
		if (rc == RS_OK && rows != info->rows[i]) {
			snprintf(why, whylen,
			    "table %s: %" PRIu64 " rows loaded, the header "
			    "says %" PRIu64,
			    rs_db_copy_tables[i].name, rows, info->rows[i]);
			rc = RS_EPROTO;
		}
	}
	/* The trailer again: what was loaded is what the digest covers. */
	if (rc == RS_OK
	    && (rc = rs_backup_next(r, &table, &data, &n)) != RS_ENOTFOUND) {
		snprintf(why, whylen, "%s",
		    rc == RS_OK ? "data after the last table"
		                : rs_backup_error(r));
		rc = RS_EPROTO;
	} else if (rc == RS_ENOTFOUND) {
		rc = RS_OK;
	}
	rs_backup_close(r);
	if (rc == RS_OK && (rc = rs_worker_store_load(w->db, &m)) == RS_OK
	    && (m.applied_seq != info->seq
	        || (uint64_t) m.next_ride_id != info->next_ride_id)) {
		snprintf(why, whylen,
		    "meta row says seq %" PRIu64 ", the header %" PRIu64,
		    m.applied_seq, info->seq);
		rc = RS_EPROTO;
	}
	if (rc == RS_OK) {
		m.epoch = w->epoch;
		rc = rs_worker_store_save(w->db, &m);
	}
	if (rc == RS_OK)
		w->meta = m;
	return rc;
}

int
rs_worker_restore(rs_worker *w, const char *path)
{
	rs_backup_info info, checked;
	rs_worker_meta before = w->meta;
	char why[512] = "";
	int64_t t0 = rs_time_now_ms();
	int rc;

	rs_info(
	    NULL, "event=restore_start file=%s term=%" PRIu64, path, w->epoch);
	/* Read it all once before touching the database: a bad file is
	 * named at once and never half loaded. */
	rc = rs_backup_verify(path, &checked, why, sizeof(why));
	if (rc == RS_OK && (rc = rs_worker_store_begin(w->db)) == RS_OK) {
		rc = load(w, path, &info, why, sizeof(why));
		if (rc == RS_OK)
			rc = rs_worker_store_commit(w->db);
		else
			rs_worker_store_rollback(w->db);
	}
	if (rc != RS_OK) {
		w->meta = before;
		rs_error(NULL,
		    "event=restore_failed file=%s err=%s why=\"%s\" "
		    "state=nothing_restored",
		    path, rs_strerror(rc), why[0] ? why : "database error");
		return rc;
	}
	rs_info(NULL,
	    "event=restored file=%s seq=%" PRIu64 " backup_epoch=%" PRIu64
	    " epoch=%" PRIu64 " created_at=%s source=%s users=%" PRIu64
	    " rides=%" PRIu64 " sha256=%s ms=%lld",
	    path, info.seq, info.epoch, w->epoch, info.created_at, info.source,
	    info.rows[0], info.rows[1], checked.digest,
	    (long long) (rs_time_now_ms() - t0));
	return RS_OK;
}
