/* Taking a backup, and GET /api/v1/backup (backup.h). The schedule and
 * the retention of scheduled backups are in backup_sched.c. */
#include "backup.h"
#include "backup_sched.h"

#include "roster.h"
#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_http.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_time.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a slave's copy may take to reach min_seq (commit_seq at the
 * request) before the next source is tried: it is normally milliseconds
 * behind. */
#define BEHIND_WAIT_MS 2000

struct rs_orch_backup {
	const rs_orch_cfg *cfg;
	rs_orch_workers *w;
	rs_orch_router *r; /* commit_seq: the lowest seq a backup may have */
	rs_orch_backup_sched *sched; /* NULL: no schedule */
	_Atomic uint64_t ok, failed; /* backups taken / failed (any way) */
	_Atomic uint64_t last_seq;
	_Atomic int64_t last_ms; /* wall clock of the last good one */
};

/* Streams one table's binary COPY into the backup. */
static int
copy_table(PGconn *db, const rs_db_copy_table *t, rs_backup_writer *bw,
    char *err, size_t errlen)
{
	char sql[256];
	int rc = RS_OK;
	PGresult *r;

	snprintf(sql, sizeof(sql),
	    "COPY %s (%s) TO STDOUT WITH (FORMAT binary)", t->name,
	    t->columns);
	r = PQexec(db, sql);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		snprintf(
		    err, errlen, "COPY %s: %s", t->name, PQerrorMessage(db));
		PQclear(r);
		return RS_EDB;
	}
	PQclear(r);
	for (;;) {
		char *buf;
		int n = PQgetCopyData(db, &buf, 0);
		if (n < 0)
			break;
		if (rc == RS_OK
		    && rs_backup_write(bw, buf, (size_t) n) != RS_OK) {
			snprintf(err, errlen, "writing the backup: %s",
			    strerror(errno));
			rc = RS_EIO;
		}
		PQfreemem(buf);
	}
	while ((r = PQgetResult(db)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == RS_OK) {
			snprintf(err, errlen, "COPY %s: %s", t->name,
			    PQresultErrorMessage(r));
			rc = RS_EDB;
		}
		PQclear(r);
	}
	if (rc == RS_OK && rs_backup_end_table(bw) != RS_OK) {
		snprintf(
		    err, errlen, "writing the backup: %s", strerror(errno));
		rc = RS_EIO;
	}
	return rc;
}

/* Position and row counts, read inside the snapshot (its first query
 * fixes the snapshot: everything after sees the same state). */
static int
read_position(PGconn *db, rs_backup_info *info, char *err, size_t errlen)
{
	rs_buf q = RS_BUF_INIT;
	PGresult *r = NULL;
	int rc;

	rs_buf_printf(&q, "SELECT applied_seq, epoch, next_ride_id");
	for (int i = 0; i < rs_db_ncopy_tables; i++)
		rs_buf_printf(&q, ", (SELECT count(*) FROM %s)",
		    rs_db_copy_tables[i].name);
	rs_buf_printf(&q, " FROM meta");
	rc = q.err != 0 ? RS_ENOMEM : rs_db_query(db, q.data, 0, NULL, &r);
	rs_buf_fini(&q);
	if (rc != RS_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "reading meta and row counts: %s",
		    rc != RS_OK ? PQerrorMessage(db) : "no meta row");
		PQclear(r);
		return rc != RS_OK ? rc : RS_EDB;
	}
	info->seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	info->epoch = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	info->next_ride_id = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
	for (int i = 0; i < rs_db_ncopy_tables; i++)
		info->rows[i] = strtoull(PQgetvalue(r, 0, 3 + i), NULL, 10);
	PQclear(r);
	return RS_OK;
}

/* Where to copy from, best first: the serving slaves (most advanced
 * first; they spare the master and hold only writes that went out on the
 * sync stream, which every later master keeps), then the master. */
static size_t
sources(rs_orch_backup *b, char ids[][RS_ORCH_ID_MAX], size_t max)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX];
	size_t n
	    = rs_orch_workers_snapshot(b->w, t, RS_ORCH_MAX_WORKERS, master);
	int m = rs_orch_roster_master(t, n, master, true);
	size_t k = 0;
	bool used[RS_ORCH_MAX_WORKERS] = { false };

	while (k + 1 < max) {
		int best = -1;
		for (size_t i = 0; i < n; i++) {
			if (used[i] || !rs_orch_worker_alive(&t[i])
			    || !t[i].registered
			    || t[i].role != RS_ORCH_ROLE_SLAVE
			    || t[i].lag_state != RS_ORCH_LAG_SERVING)
				continue;
			if (best < 0 || t[i].applied_seq > t[best].applied_seq)
				best = (int) i;
		}
		if (best < 0)
			break;
		used[best] = true;
		snprintf(ids[k++], RS_ORCH_ID_MAX, "%s", t[best].id);
	}
	if (m >= 0 && k < max)
		snprintf(ids[k++], RS_ORCH_ID_MAX, "%s", t[m].id);
	return k;
}

/* One attempt on worker id's database: RS_OK with the backup in f;
 * RS_EAGAIN when its copy stays below min_seq for BEHIND_WAIT_MS (nothing
 * written to f yet). */
static int
take_from(rs_orch_backup *b, const char *id, uint64_t min_seq, FILE *f,
    rs_backup_info *info, char *err, size_t errlen)
{
	char dbname[160], *ci = NULL;
	rs_backup_writer *bw = NULL;
	int64_t deadline = rs_time_now_ms() + BEHIND_WAIT_MS;
	PGconn *db = NULL;
	int rc;

	memset(info, 0, sizeof(*info));
	snprintf(info->source, sizeof(info->source), "%s", id);
	rs_db_worker_dbname(id, dbname, sizeof(dbname));
	if ((rc = rs_db_conninfo_with_db(b->cfg->pg_conninfo, dbname, &ci))
	        != RS_OK
	    || (rc = rs_db_connect_retry(ci, 5000, &db)) != RS_OK) {
		snprintf(err, errlen, "cannot connect to database %s", dbname);
		goto out;
	}
	for (;;) {
		rc = rs_db_exec(
		    db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
		if (rc != RS_OK) {
			snprintf(err, errlen, "BEGIN: %s", PQerrorMessage(db));
			goto out;
		}
		if ((rc = read_position(db, info, err, errlen)) != RS_OK)
			goto out;
		if (info->seq >= min_seq)
			break;
		(void) rs_db_exec(db, "ROLLBACK");
		if (rs_time_now_ms() >= deadline) {
			snprintf(err, errlen,
			    "%s stayed at seq %" PRIu64 " < %" PRIu64, id,
			    info->seq, min_seq);
			rc = RS_EAGAIN;
			goto out;
		}
		rs_time_sleep_ms(10);
	}
	if ((rc = rs_backup_writer_create(f, info, &bw)) != RS_OK)
		snprintf(
		    err, errlen, "writing the backup: %s", strerror(errno));
	for (int i = 0; rc == RS_OK && i < rs_db_ncopy_tables; i++)
		rc = copy_table(db, &rs_db_copy_tables[i], bw, err, errlen);
	if (rc == RS_OK && (rc = rs_backup_finish(bw, info)) != RS_OK)
		snprintf(
		    err, errlen, "writing the backup: %s", strerror(errno));
	(void) rs_db_exec(db, "COMMIT");
out:
	rs_backup_writer_destroy(bw);
	if (db != NULL)
		PQfinish(db);
	free(ci);
	return rc;
}

int
rs_orch_backup_take(
    rs_orch_backup *b, FILE *f, rs_backup_info *info, char *err, size_t errlen)
{
	char ids[4][RS_ORCH_ID_MAX];
	/* Every write acknowledged before the backup was asked for is in
	 * it: the router's commit_seq now is the lowest seq it may have. */
	uint64_t min_seq = b->r != NULL ? rs_orch_router_commit_seq(b->r) : 0;
	size_t n = sources(b, ids, 4);
	int rc = RS_ENOTFOUND;

	snprintf(err, errlen, "no serving worker to copy");
	for (size_t i = 0; i < n; i++) {
		/* A source lost mid-copy left a partial file: start over. */
		if (i > 0
		    && (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0
		        || ftruncate(fileno(f), 0) != 0)) {
			snprintf(err, errlen, "rewinding the backup: %s",
			    strerror(errno));
			rc = RS_EIO;
			break;
		}
		rc = take_from(b, ids[i], min_seq, f, info, err, errlen);
		if (rc != RS_EAGAIN && rc != RS_ECONN)
			break;
		rs_warn(NULL,
		    "event=backup_source_skipped source=%s why=\"%s\"", ids[i],
		    err);
	}
	if (rc == RS_OK) {
		atomic_fetch_add(&b->ok, 1);
		atomic_store(&b->last_seq, info->seq);
		atomic_store(&b->last_ms, info->created_ms);
	} else {
		atomic_fetch_add(&b->failed, 1);
	}
	return rc;
}

/* The spool of one HTTP backup: an unlinked file in $TMPDIR (or /tmp). */
static FILE *
spool(void)
{
	const char *dir = rs_cfg_str("TMPDIR", "/tmp");
	char path[4096];
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rideshare-backup.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0)
		return NULL;
	unlink(path);
	if ((f = fdopen(fd, "w+b")) == NULL)
		close(fd);
	return f;
}

void
rs_orch_backup_http(rs_http_req *req, void *arg)
{
	rs_orch_backup *b = arg;
	rs_backup_info info;
	char err[512], v[128];
	int64_t t0 = rs_time_now_ms();
	FILE *f;
	int rc;

	if ((f = spool()) == NULL) {
		rs_http_reply_error(req, 500, "cannot create a spool file: %s",
		    strerror(errno));
		return;
	}
	rc = rs_orch_backup_take(b, f, &info, err, sizeof(err));
	if (rc != RS_OK) {
		rs_warn(rs_http_rid(req),
		    "event=backup_failed err=%s why=\"%s\"", rs_strerror(rc),
		    err);
		rs_http_reply_error(req,
		    rc == RS_ENOTFOUND || rc == RS_EAGAIN ? 503 : 500,
		    "backup failed: %s", err);
		fclose(f);
		return;
	}
	rs_info(rs_http_rid(req),
	    "event=backup_taken to=http seq=%" PRIu64 " epoch=%" PRIu64
	    " source=%s bytes=%" PRIu64 " sha256=%s ms=%lld",
	    info.seq, info.epoch, info.source, info.bytes, info.digest,
	    (long long) (rs_time_now_ms() - t0));
	snprintf(v, sizeof(v), "%" PRIu64, info.seq);
	rs_http_add_header(req, "X-RideShare-Backup-Seq", v);
	snprintf(v, sizeof(v), "%" PRIu64, info.epoch);
	rs_http_add_header(req, "X-RideShare-Backup-Epoch", v);
	rs_http_add_header(req, "X-RideShare-Backup-Sha256", info.digest);
	rs_orch_backup_name(info.created_ms, info.seq, err, sizeof(err));
	snprintf(v, sizeof(v), "attachment; filename=\"%.100s\"", err);
	rs_http_add_header(req, "Content-Disposition", v);
	long size = ftell(f);
	rewind(f);
	if (size < 0
	    || rs_http_reply_fd(req, 200, "application/octet-stream",
	           fileno(f), (uint64_t) size)
	        != RS_OK)
		rs_warn(rs_http_rid(req),
		    "event=backup_send_failed seq=%" PRIu64, info.seq);
	fclose(f);
}

void
rs_orch_backup_metrics(rs_orch_backup *b, rs_buf *out)
{
	rs_metrics_help(out, "rideshare_orch_backups_total", "counter",
	    "Backups taken (HTTP and scheduled), by result.");
	rs_metrics_line(out, "rideshare_orch_backups_total", "result=\"ok\"",
	    (double) atomic_load(&b->ok));
	rs_metrics_line(out, "rideshare_orch_backups_total",
	    "result=\"failed\"", (double) atomic_load(&b->failed));
	rs_metrics_one(out, "rideshare_orch_backup_last_seq", "gauge",
	    "Seq of the last good backup.",
	    (double) atomic_load(&b->last_seq));
	rs_metrics_one(out, "rideshare_orch_backup_last_timestamp_seconds",
	    "gauge", "When the last good backup was taken (0: never).",
	    (double) atomic_load(&b->last_ms) / 1000.0);
}

/* Also rs_orch_backup_create's unwind (no schedule yet: sched NULL). */
void
rs_orch_backup_destroy(rs_orch_backup *b)
{
	if (b == NULL)
		return;
	rs_orch_backup_sched_stop(b->sched);
	free(b);
}

int
rs_orch_backup_create(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_router *r, rs_orch_backup **out)
{
	rs_orch_backup *b = calloc(1, sizeof(*b));
	int rc;

	if (b == NULL)
		return RS_ENOMEM;
	b->cfg = cfg;
	b->w = w;
	b->r = r;
	if ((rc = rs_orch_backup_sched_start(b, &b->sched)) != RS_OK) {
		rs_orch_backup_destroy(b);
		return rc;
	}
	*out = b;
	return RS_OK;
}
