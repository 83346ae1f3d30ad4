/* Full-cluster recovery and the durable history (docs/failover.md
 * "Recovery when nothing serves"). A candidate that created
 * /rideshare/master while no worker was serving must not start from its own
 * (possibly empty) database: it finds the most advanced surviving copy
 * among the rideshare_* databases, checks it against the history mark in
 * ZooKeeper, and copies it into its own database before it takes writes.
 * A copy below the mark means acknowledged writes are missing: the
 * candidate refuses (RS_ZK_RECOVERY says why) until an operator accepts
 * the loss (RS_ZK_RECOVERY_ACCEPT). */
#include "worker.h"

#include "recovery.h"
#include "restore.h"

#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_POLL_MS    250
#define RESCAN_EVERY_MS 2000

typedef struct copy {
	char dbname[160];
	uint64_t epoch, seq;
	bool found;
} copy;

/* The most advanced copy on the server, this worker's own included (own
 * wins ties: nothing to copy). */
static int
find_best(const rs_worker *w, copy *best)
{
	char **names;
	int n, rc;

	snprintf(best->dbname, sizeof(best->dbname), "%s", w->dbname);
	best->epoch = w->meta.epoch;
	best->seq = w->meta.applied_seq;
	best->found = true;
	if ((rc = rs_db_list_worker_databases(w->maint_conninfo, &names, &n))
	    != RS_OK)
		return rc;
	for (int i = 0; i < n; i++) {
		uint64_t e, s;

		if (strcmp(names[i], w->dbname) == 0
		    || rs_db_copy_position(w->maint_conninfo, names[i], &e, &s)
		        != RS_OK)
			continue;
		rs_debug(NULL,
		    "event=recovery_copy db=%s epoch=%" PRIu64
		    " applied_seq=%" PRIu64,
		    names[i], e, s);
		if (rs_copy_cmp(e, s, best->epoch, best->seq) > 0) {
			snprintf(best->dbname, sizeof(best->dbname), "%s",
			    names[i]);
			best->epoch = e;
			best->seq = s;
		}
	}
	rs_db_free_names(names, n);
	return RS_OK;
}

/* Waits until the best copy reaches the mark again (a copy came back) or
 * an operator accepts the loss. RS_OK: go on with *best (re-scanned). */
static int
wait_for_copy_or_consent(
    rs_worker *w, copy *best, uint64_t h_epoch, uint64_t h_seq)
{
	char why[512];
	int64_t scanned = rs_time_now_ms();
	int rc;

	snprintf(why, sizeof(why),
	    "state=refusing_writes reason=acknowledged_writes_missing"
	    " need_epoch=%" PRIu64 " need_seq=%" PRIu64 " best_db=%s"
	    " best_epoch=%" PRIu64 " best_seq=%" PRIu64 " candidate=%s"
	    " fix=\"bring the missing copy back, or accept the loss:"
	    " rsctl recover --accept-loss\"",
	    h_epoch, h_seq, best->dbname, best->epoch, best->seq, w->id);
	rs_error(NULL, "event=recovery_blocked %s", why);
	rc = rs_zk_create(w->zk, RS_ZK_RECOVERY, why, strlen(why), false);
	if (rc == RS_EEXIST)
		rc = rs_zk_set(w->zk, RS_ZK_RECOVERY, why, strlen(why));
	if (rc != RS_OK)
		return rc;
	for (;;) {
		if (!rs_worker_alive(w))
			return RS_ECLOSED;
		rc = rs_zk_exists(w->zk, RS_ZK_RECOVERY_ACCEPT, false);
		if (rc == RS_OK) {
			rs_warn(NULL,
			    "event=recovery_loss_accepted need_seq=%" PRIu64
			    " best_db=%s best_epoch=%" PRIu64
			    " best_seq=%" PRIu64
			    " lost_writes_at_most=%" PRIu64,
			    h_seq, best->dbname, best->epoch, best->seq,
			    h_seq > best->seq ? h_seq - best->seq : 0);
			break;
		}
		if (rc != RS_ENOTFOUND && rc != RS_ECONN)
			return rc;
		if (rs_time_now_ms() - scanned >= RESCAN_EVERY_MS) {
			scanned = rs_time_now_ms();
			if (find_best(w, best) == RS_OK
			    && rs_copy_cmp(
			           best->epoch, best->seq, h_epoch, h_seq)
			        >= 0) {
				rs_info(NULL,
				    "event=recovery_copy_back db=%s "
				    "applied_seq=%" PRIu64,
				    best->dbname, best->seq);
				break;
			}
		}
		rs_time_sleep_ms(WAIT_POLL_MS);
	}
	/* The mark now describes what exists: set it down to the copy we
	 * start from, so that the next recovery does not refuse again. */
	char mark[48];
	snprintf(mark, sizeof(mark), "%" PRIu64 " %" PRIu64, best->epoch,
	    best->seq);
	if ((rc = rs_zk_set(w->zk, RS_ZK_HISTORY, mark, strlen(mark)))
	    != RS_OK)
		return rc;
	(void) rs_zk_delete(w->zk, RS_ZK_RECOVERY_ACCEPT);
	(void) rs_zk_delete(w->zk, RS_ZK_RECOVERY);
	return RS_OK;
}

/* RIDESHARE_RESTORE_FROM (docs/operations.md "Backup and restore"): only
 * the first master of a cluster that never acknowledged a write and whose
 * copies are all empty loads the file; anywhere else the variable is
 * ignored (logged), so a stack restarted with it still set keeps its
 * newer data. RS_ENOTFOUND: no restore, go on with recovery. */
static int
restore_if_asked(rs_worker *w, uint64_t h_seq, const copy *best)
{
	const char *from = rs_cfg_str("RIDESHARE_RESTORE_FROM", NULL);
	int rc;

	if (from == NULL || *from == '\0')
		return RS_ENOTFOUND;
	if (h_seq != 0 || best->seq != 0) {
		rs_info(NULL,
		    "event=restore_skipped file=%s reason=cluster_has_data"
		    " history_seq=%" PRIu64 " best_db=%s best_seq=%" PRIu64,
		    from, h_seq, best->dbname, best->seq);
		return RS_ENOTFOUND;
	}
	/* Into this worker's own database: should it die after the
	 * commit, the next candidate finds the copy like any other. */
	if ((rc = rs_worker_restore(w, from)) == RS_OK)
		(void) rs_worker_history_raise(w);
	return rc;
}

int
rs_worker_recover(rs_worker *w)
{
	uint64_t h_epoch, h_seq;
	copy best;
	int rc;

	if ((rc = rs_zk_mark_get(w->zk, RS_ZK_HISTORY, &h_epoch, &h_seq))
	        != RS_OK
	    || (rc = find_best(w, &best)) != RS_OK) {
		rs_error(NULL, "event=recovery_failed step=scan err=%s",
		    rs_strerror(rc));
		return rc;
	}
	rs_info(NULL,
	    "event=recovery_scan history_epoch=%" PRIu64
	    " history_seq=%" PRIu64 " best_db=%s best_epoch=%" PRIu64
	    " best_seq=%" PRIu64 " own_seq=%" PRIu64,
	    h_epoch, h_seq, best.dbname, best.epoch, best.seq,
	    w->meta.applied_seq);
	if ((rc = restore_if_asked(w, h_seq, &best)) != RS_ENOTFOUND)
		return rc;
	if (rs_copy_cmp(best.epoch, best.seq, h_epoch, h_seq) < 0
	    && (rc = wait_for_copy_or_consent(w, &best, h_epoch, h_seq))
	        != RS_OK)
		return rc;
	(void) rs_zk_delete(w->zk, RS_ZK_RECOVERY); /* a stale refusal */
	if (strcmp(best.dbname, w->dbname) == 0)
		return RS_OK;
	char *ci;
	if ((rc = rs_db_conninfo_with_db(w->maint_conninfo, best.dbname, &ci))
	    != RS_OK)
		return rc;
	rc = rs_worker_snapshot(w, ci);
	free(ci);
	if (rc == RS_OK)
		rs_info(NULL,
		    "event=recovered_from db=%s epoch=%" PRIu64
		    " applied_seq=%" PRIu64,
		    best.dbname, w->meta.epoch, w->meta.applied_seq);
	else
		rs_error(NULL, "event=recovery_failed step=copy db=%s err=%s",
		    best.dbname, rs_strerror(rc));
	return rc;
}

/* Names this worker's volume in RS_ZK_MASTER_VOLUME, once per process:
 * only a master raises the mark, and its own copy is at or above what it
 * raises it to. Written before the raise, so the named copy never lags
 * the mark (a raise without it only leaves the volume to the operator:
 * the spawner's other choice, a refusal below the mark). */
static void
publish_volume(rs_worker *w)
{
	const char *vol = rs_cfg_str(RS_ENV_WORKER_VOLUME, NULL);
	int rc;

	if (w->volume_published || vol == NULL || *vol == '\0')
		return;
	rc = rs_zk_create(w->zk, RS_ZK_MASTER_VOLUME, vol, strlen(vol), false);
	if (rc == RS_EEXIST)
		rc = rs_zk_set(w->zk, RS_ZK_MASTER_VOLUME, vol, strlen(vol));
	if (rc == RS_OK) {
		w->volume_published = true;
		rs_info(NULL, "event=master_volume_published volume=%s", vol);
	} else {
		rs_warn(NULL, "event=master_volume_publish_failed err=%s",
		    rs_strerror(rc));
	}
}

int
rs_worker_history_raise(rs_worker *w)
{
	publish_volume(w);
	int rc = rs_zk_mark_raise(
	    w->zk, RS_ZK_HISTORY, w->meta.epoch, w->meta.applied_seq);

	if (rc != RS_OK)
		rs_warn(NULL, "event=history_raise_failed err=%s",
		    rs_strerror(rc));
	return rc;
}
