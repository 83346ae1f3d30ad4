/* POST /api/v1/restore (restore.h). The load itself is the worker's
 * (worker/restore.c, called from worker/recovery.c restore_if_asked): the
 * orchestrator only hands the file to the next bootstrap master and
 * restarts the data tier, so there is one restore path, and the worker's
 * own check (no history, every copy empty) still guards every load. */
#include "restore.h"

#include "orch_metrics.h"
#include "roster.h"
#include "rs_backup.h"
#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_http.h"
#include "rs_log.h"
#include "rs_time.h"
#include "rs_zk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long the stopped workers get to leave (the supervisor SIGKILLs
 * those that ignore SIGTERM after its stop timeout). */
#define STOP_WAIT_MS 30000
/* The new master gets the worker start timeout plus this to serve. */
#define SERVE_EXTRA_MS 15000

struct rs_orch_restore {
	const rs_orch_cfg *cfg;
	rs_orch_workers *w;
	rs_orch_supervisor *s;
	rs_orch_router *r;
	_Atomic bool busy;
};

const char *
rs_orch_restore_not_empty(const rs_orch_restore_seen *seen)
{
	if (seen->commit_seq != 0)
		return "the router's commit_seq is not 0";
	if (seen->head_seq != 0)
		return "the master's head seq is not 0";
	if (seen->history_seq != 0)
		return "the history mark /rideshare/history is not at 0";
	if (seen->worker_seq != 0)
		return "a worker's applied_seq is not 0";
	if (seen->copy_seq != 0)
		return "a worker database holds data";
	return NULL;
}

/* Fills *seen; RS_OK, or RS_ECONN / RS_EZK / RS_EDB (why says which). */
static int
look(rs_orch_restore *x, rs_orch_restore_seen *seen, char *why, size_t len)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	uint64_t h_epoch;
	char **names;
	rs_zk *zk;
	size_t n;
	int rc, nn;

	memset(seen, 0, sizeof(*seen));
	seen->commit_seq = x->r != NULL ? rs_orch_router_commit_seq(x->r) : 0;
	seen->head_seq = rs_orch_workers_head(x->w);
	n = rs_orch_workers_snapshot(x->w, t, RS_ORCH_MAX_WORKERS, NULL);
	for (size_t i = 0; i < n; i++) {
		if (t[i].applied_seq > seen->worker_seq)
			seen->worker_seq = t[i].applied_seq;
	}
	/* A session of our own: the supervisor thread owns the other. */
	rc = rs_zk_connect(
	    x->cfg->zk_hosts, x->cfg->zk_session_ms, 5000, NULL, NULL, &zk);
	if (rc == RS_OK) {
		rc = rs_zk_mark_get(
		    zk, RS_ZK_HISTORY, &h_epoch, &seen->history_seq);
		rs_zk_close(zk);
	}
	if (rc != RS_OK) {
		snprintf(why, len, "ZooKeeper: %s", rs_strerror(rc));
		return rc;
	}
	rc = rs_db_list_worker_databases(x->cfg->pg_conninfo, &names, &nn);
	if (rc != RS_OK) {
		snprintf(why, len, "PostgreSQL: %s", rs_strerror(rc));
		return rc;
	}
	for (int i = 0; i < nn; i++) {
		uint64_t e, s;

		rc = rs_db_copy_position(
		    x->cfg->pg_conninfo, names[i], &e, &s);
		if (rc == RS_ENOTFOUND) {
			rc = RS_OK; /* created, no meta row yet: empty */
			continue;
		}
		if (rc != RS_OK) {
			snprintf(why, len, "database %s: %s", names[i],
			    rs_strerror(rc));
			break;
		}
		if (s > seen->copy_seq) {
			seen->copy_seq = s;
			snprintf(seen->copy_db, sizeof(seen->copy_db), "%s",
			    names[i]);
		}
	}
	rs_db_free_names(names, nn);
	return rc;
}

/* RS_OK when the cluster is empty; else answers req (409 / 503). */
static int
check_empty(rs_orch_restore *x, rs_http_req *req, const char *when)
{
	rs_orch_restore_seen seen;
	char why[256] = "";
	const char * not ;

	if (look(x, &seen, why, sizeof(why)) != RS_OK) {
		rs_warn(rs_http_rid(req),
		    "event=restore_refused reason=cannot_check why=\"%s\"",
		    why);
		rs_http_reply_error(req, 503,
		    "cannot tell whether the cluster is empty (%s): nothing "
		    "was changed",
		    why);
		return RS_ECONN;
	}
	if ((not = rs_orch_restore_not_empty(&seen)) == NULL)
		return RS_OK;
	rs_metric_add(&rs_orch_m_restores_refused, 1);
	rs_warn(rs_http_rid(req),
	    "event=restore_refused reason=cluster_has_data when=%s "
	    "commit_seq=%" PRIu64 " head_seq=%" PRIu64 " history_seq=%" PRIu64
	    " worker_seq=%" PRIu64 " copy_seq=%" PRIu64 " copy_db=%s",
	    when, seen.commit_seq, seen.head_seq, seen.history_seq,
	    seen.worker_seq, seen.copy_seq,
	    seen.copy_db[0] ? seen.copy_db : "-");
	rs_http_reply_error(req, 409,
	    "the cluster holds data (%s: commit_seq %" PRIu64
	    ", history seq %" PRIu64 ", highest copy seq %" PRIu64
	    "%s): restore only into an empty cluster; nothing was "
	    "changed and no data is ever deleted (start an empty stack, "
	    "or `./rideshare down --purge` first)",
	    not, seen.commit_seq, seen.history_seq,
	    seen.copy_seq > seen.worker_seq ? seen.copy_seq : seen.worker_seq,
	    when[0] == 'a' ? "; a write arrived while the workers stopped"
	                   : "");
	return RS_EEXIST;
}

/* The restore dir (created 0700) into dir. */
static int
restore_dir(char *dir, size_t len)
{
	const char *d = rs_cfg_str("RIDESHARE_RESTORE_DIR", NULL);
	const char *stack = rs_cfg_str("RIDESHARE_STACK_DIR", NULL);
	const char *tmp = rs_cfg_str("TMPDIR", "/tmp");

	if (d != NULL && *d != '\0')
		snprintf(dir, len, "%s", d);
	else if (stack != NULL && *stack != '\0')
		snprintf(dir, len, "%s/restore", stack);
	else
		snprintf(dir, len, "%s/rideshare-restore", tmp);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return RS_EIO;
	/* Absolute: the workers read it (RIDESHARE_RESTORE_FROM), maybe
	 * from another working directory. */
	char abs[PATH_MAX];
	if (realpath(dir, abs) == NULL || strlen(abs) >= len)
		return RS_EIO;
	memcpy(dir, abs, strlen(abs) + 1);
	return RS_OK;
}

/* Streams the body into a new 0600 file; path gets its name. RS_OK, or
 * the request was answered (400 cut body, 500 disk). */
static int
receive(rs_http_req *req, char *path, size_t len)
{
	char dir[768], buf[65536];
	long long cl = rs_http_body_length(req), total = 0;
	int fd, rc = RS_OK;
	long got;

	if (restore_dir(dir, sizeof(dir)) != RS_OK) {
		rs_http_reply_error(
		    req, 500, "restore dir %s: %s", dir, strerror(errno));
		return RS_EIO;
	}
	snprintf(path, len, "%s/restore-%s.rsbackup", dir, rs_http_rid(req));
	/* 0600: it holds every user's password hash. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		rs_http_reply_error(req, 500, "%s: %s", path, strerror(errno));
		return RS_EIO;
	}
	while ((got = rs_http_body_read(req, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got && rc == RS_OK;) {
			ssize_t w = write(fd, buf + off, (size_t) (got - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = RS_EIO;
			else
				off += w;
		}
		if (rc != RS_OK)
			break;
		total += got;
	}
	if (rc == RS_OK && fsync(fd) != 0)
		rc = RS_EIO;
	if (rc != RS_OK) {
		rs_http_reply_error(
		    req, 500, "writing %s: %s", path, strerror(errno));
	} else if (got < 0 || total == 0 || (cl >= 0 && total != cl)) {
		rs_metric_add(&rs_orch_m_restores_refused, 1);
		rs_http_reply_error(req, 400,
		    "the backup file did not arrive whole (%lld bytes "
		    "received%s): nothing was changed",
		    total, total == 0 ? "; send the file as the body" : "");
		rc = RS_EINVAL;
	}
	close(fd);
	if (rc != RS_OK)
		unlink(path);
	return rc;
}

/* Waits for a master serving at seq; RS_OK with its term in *epoch. */
static int
wait_master(rs_orch_restore *x, uint64_t seq, int wait_ms, uint64_t *epoch)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master_id[RS_ORCH_ID_MAX];
	int64_t deadline = rs_time_now_ms() + wait_ms;

	for (;;) {
		size_t n = rs_orch_workers_snapshot(
		    x->w, t, RS_ORCH_MAX_WORKERS, master_id);
		int k = rs_orch_roster_master(t, n, master_id, true);

		if (k >= 0 && t[k].state == RS_ORCH_RUNNING
		    && t[k].applied_seq >= seq) {
			*epoch = rs_orch_workers_epoch(x->w);
			if (t[k].epoch > *epoch)
				*epoch = t[k].epoch;
			return t[k].applied_seq == seq ? RS_OK : RS_ESTATE;
		}
		if (rs_time_now_ms() >= deadline)
			return RS_ETIMEDOUT;
		rs_time_sleep_ms(50);
	}
}

static json_t *
rows_json(const rs_backup_info *info)
{
	json_t *rows = json_object();

	for (int i = 0; i < info->ntables; i++)
		json_object_set_new(rows, rs_db_copy_tables[i].name,
		    json_integer((json_int_t) info->rows[i]));
	return rows;
}

/* After the file checked out and the cluster is empty: restart the data
 * tier with the file handed to the next bootstrap master. Answers req;
 * returns true when the file must stay (no master served it in time). */
static bool
run(rs_orch_restore *x, rs_http_req *req, const char *path,
    const rs_backup_info *info)
{
	rs_orch_spawner *sp = rs_orch_supervisor_spawner(x->s);
	const char *rid = rs_http_rid(req);
	char kv[1100];
	int64_t t0 = rs_time_now_ms();
	uint64_t epoch = 0;
	int rc;

	snprintf(kv, sizeof(kv), "RIDESHARE_RESTORE_FROM=%s", path);
	if ((rc = rs_orch_spawner_set_env(sp, kv)) != RS_OK) {
		rs_http_reply_error(req, 500, "spawner: %s", rs_strerror(rc));
		return false;
	}
	rs_info(rid,
	    "event=restore_begin file=%s seq=%" PRIu64 " backup_epoch=%" PRIu64
	    " sha256=%s",
	    path, info->seq, info->epoch, info->digest);
	rc = rs_orch_supervisor_pause(x->s, true, "restore", 10000);
	if (rc == RS_OK)
		rc = rs_orch_supervisor_stop_all(x->s, STOP_WAIT_MS);
	if (rc != RS_OK) {
		(void) rs_orch_spawner_set_env(sp, NULL);
		(void) rs_orch_supervisor_pause(x->s, false, NULL, 10000);
		rs_error(rid, "event=restore_failed step=stop err=%s",
		    rs_strerror(rc));
		rs_http_reply_error(req, 503,
		    "could not stop the workers (%s): nothing restored, "
		    "the cluster restarts as it was",
		    rs_strerror(rc));
		return false;
	}
	/* A write may have been acknowledged between the first check and
	 * the stop: then the worker would skip the file anyway
	 * (restore_if_asked), but say so now. */
	if (check_empty(x, req, "after_stop") != RS_OK) {
		(void) rs_orch_spawner_set_env(sp, NULL);
		(void) rs_orch_supervisor_pause(x->s, false, NULL, 10000);
		return false;
	}
	(void) rs_orch_supervisor_pause(x->s, false, NULL, 10000);
	rc = wait_master(
	    x, info->seq, x->cfg->start_timeout_ms + SERVE_EXTRA_MS, &epoch);
	/* Workers spawned from now on must not carry the variable (their
	 * recovery would skip it anyway: the history mark is at seq). */
	(void) rs_orch_spawner_set_env(sp, NULL);
	if (rc == RS_OK && x->r != NULL) {
		/* Reads right after the answer must not wait for a write. */
		int64_t until = rs_time_now_ms() + 5000;

		rs_orch_router_reseed(x->r);
		while (rs_orch_router_commit_seq(x->r) < info->seq
		    && rs_time_now_ms() < until)
			rs_time_sleep_ms(20);
	}
	if (rc != RS_OK) {
		rs_error(rid, "event=restore_failed step=serve err=%s file=%s",
		    rs_strerror(rc), path);
		rs_http_reply_error(req, rc == RS_ETIMEDOUT ? 504 : 500,
		    "no master serves at the backup's seq %" PRIu64
		    " (%s): see event=restore_failed in orchestrator.log; "
		    "the file is kept at %s",
		    info->seq,
		    rc == RS_ETIMEDOUT ? "timed out" : "it serves another seq",
		    path);
		return true;
	}
	rs_metric_add(&rs_orch_m_restores, 1);
	rs_info(rid,
	    "event=restore_done seq=%" PRIu64 " epoch=%" PRIu64
	    " backup_epoch=%" PRIu64 " users=%" PRIu64 " rides=%" PRIu64
	    " ms=%" PRId64,
	    info->seq, epoch, info->epoch, info->rows[0], info->rows[1],
	    rs_time_now_ms() - t0);
	rs_http_reply_json(req, 200,
	    json_pack("{s:I, s:I, s:I, s:o, s:s, s:I}", "seq",
	        (json_int_t) info->seq, "epoch", (json_int_t) epoch,
	        "backup_epoch", (json_int_t) info->epoch, "rows",
	        rows_json(info), "sha256", info->digest, "ms",
	        (json_int_t) (rs_time_now_ms() - t0)));
	return false;
}

void
rs_orch_restore_http(rs_http_req *req, void *arg)
{
	rs_orch_restore *x = arg;
	rs_orch_spawner *sp = rs_orch_supervisor_spawner(x->s);
	char path[1024], err[512];
	rs_backup_info info;
	bool expect = false, keep = false;

	if (strcmp(rs_orch_spawner_name(sp), "process") != 0) {
		rs_http_reply_error(req, 501,
		    "restore into a running cluster needs the process "
		    "spawner (this one: %s; its workers cannot read the "
		    "orchestrator's file): not supported yet "
		    "(docs/operations.md \"Backup and restore\")",
		    rs_orch_spawner_name(sp));
		return;
	}
	if (!atomic_compare_exchange_strong(&x->busy, &expect, true)) {
		rs_metric_add(&rs_orch_m_restores_refused, 1);
		rs_http_reply_error(req, 409, "a restore is already running");
		return;
	}
	if (rs_orch_supervisor_paused(x->s, NULL, 0, NULL)) {
		rs_http_reply_error(req, 409,
		    "paused (maintenance): resume first (rsctl resume)");
	} else if (receive(req, path, sizeof(path)) == RS_OK) {
		if (rs_backup_verify(path, &info, err, sizeof(err)) != RS_OK) {
			rs_metric_add(&rs_orch_m_restores_refused, 1);
			rs_warn(rs_http_rid(req),
			    "event=restore_refused reason=bad_file why=\"%s\"",
			    err);
			rs_http_reply_error(req, 400,
			    "not a good backup file: %s: nothing was "
			    "changed",
			    err);
		} else if (check_empty(x, req, "before") == RS_OK) {
			keep = run(x, req, path, &info);
		}
		/* Kept only when a master may still load it (its path is in
		 * the answer); refused or bad files go at once. */
		if (!keep)
			unlink(path);
	}
	atomic_store(&x->busy, false);
}

int
rs_orch_restore_create(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_supervisor *s, rs_orch_router *r, rs_orch_restore **out)
{
	rs_orch_restore *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return RS_ENOMEM;
	x->cfg = cfg;
	x->w = w;
	x->s = s;
	x->r = r;
	*out = x;
	return RS_OK;
}

void
rs_orch_restore_destroy(rs_orch_restore *x)
{
	free(x);
}
