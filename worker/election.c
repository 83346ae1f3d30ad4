/* ZooKeeper side of the worker: registration, bootstrap, election by lowest
 * pid and the epoch (docs/conventions.md "Worker lifecycle and election",
 * docs/failover.md). Watches fire on the ZooKeeper thread and only set
 * flags; the main loop acts on them. */
#include "worker.h"

#include "election.h"

#include "recovery.h"

#include "rs_contract.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"
#include "rs_zk.h"
#include "rs_worker_info.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS RS_ZK_WORKERS
#define MASTER  RS_ZK_MASTER
#define EPOCH   RS_ZK_EPOCH
#define PIDS    RS_ZK_PIDS

static void
on_event(void *arg, enum rs_zk_event ev, const char *path)
{
	(void) arg;
	switch (ev) {
	case RS_ZK_EXPIRED: atomic_store(&rs_worker_expired_flag, 1); break;
	case RS_ZK_DISCONNECTED:
		if (atomic_load(&rs_worker_zk_down_since) == 0)
			atomic_store(
			    &rs_worker_zk_down_since, rs_time_now_ms());
		break;
	case RS_ZK_CONNECTED: atomic_store(&rs_worker_zk_down_since, 0); break;
	default:
		/* A resume (RS_ZK_PAUSED deleted) re-runs the election a
		 * pause held back. */
		if (strcmp(path, MASTER) == 0
		    || strcmp(path, RS_ZK_PAUSED) == 0
		    || strcmp(path, RS_ZK_SWITCHOVER) == 0)
			atomic_store(&rs_worker_master_flag, 1);
		else
			atomic_store(&rs_worker_workers_flag, 1);
		break;
	}
}

/* Step 1: the pid as the spawner sees it. */
static int
resolve_pid(rs_worker *w)
{
	if (w->pid > 0)
		return RS_OK;
	const char *z = getenv("RIDESHARE_WORKER_PID_ZNODE");
	if (z == NULL || strcmp(z, "1") != 0) {
		w->pid = getpid();
		return RS_OK;
	}
	char path[256];
	snprintf(path, sizeof(path), PIDS "/%s", w->id);
	for (int i = 0; i < 1200; i++) {
		char *data;
		size_t len;
		int rc = rs_zk_get(w->zk, path, false, &data, &len);
		if (rc == RS_OK) {
			w->pid = strtoll(data, NULL, 10);
			free(data);
			if (w->pid > 0)
				return RS_OK;
		}
		if (!rs_worker_alive(w))
			return RS_ECLOSED;
		rs_time_sleep_ms(50);
	}
	rs_error(NULL, "event=pid_znode_missing path=%s", path);
	return RS_ETIMEDOUT;
}

int
rs_worker_zk_start(rs_worker *w)
{
	int rc = rs_zk_connect(
	    w->zk_hosts, w->zk_session_ms, 15000, on_event, w, &w->zk);
	if (rc != RS_OK) {
		rs_error(NULL, "event=zk_connect_failed hosts=%s err=%s",
		    w->zk_hosts, rs_strerror(rc));
		return rc;
	}
	if ((rc = rs_zk_ensure_path(w->zk, WORKERS)) != RS_OK)
		return rc;
	return resolve_pid(w);
}

/* This worker's znode: its path and its WorkerInfo, packed (buf is
 * malloc'd: the caller frees it). */
typedef struct {
	char path[256];
	uint8_t *buf;
	size_t len;
} znode;

/* RS_OK or RS_ENOMEM. */
static int
pack_info(rs_worker *w, znode *z)
{
	Rideshare__WorkerInfo wi = RIDESHARE__WORKER_INFO__INIT;
	snprintf(z->path, sizeof(z->path), WORKERS "/%s", w->id);
	wi.id = w->id;
	wi.pid = w->pid;
	wi.role = w->role;
	wi.pg_conninfo = w->conninfo;
	wi.nng_url = w->nng_url;
	wi.applied_seq = w->meta.applied_seq;
	z->len = rideshare__worker_info__get_packed_size(&wi);
	z->buf = malloc(z->len + 1);
	if (z->buf == NULL)
		return RS_ENOMEM;
	rideshare__worker_info__pack(&wi, z->buf);
	return RS_OK;
}

/* Writes this worker's znode: created (ephemeral) when create, else
 * set. A restarted worker with the same id waits for the znode of its
 * previous incarnation to expire with that session. z->path stays set
 * for the caller's log. rs_zk_* errors or RS_ENOMEM. */
static int
put_info(rs_worker *w, znode *z, bool create)
{
	int rc;

	if ((rc = pack_info(w, z)) != RS_OK)
		return rc;
	if (!create) {
		rc = rs_zk_set(w->zk, z->path, z->buf, z->len);
	} else {
		int64_t deadline
		    = rs_time_now_ms() + 3 * w->zk_session_ms + 10000;
		for (;;) {
			rc = rs_zk_create(
			    w->zk, z->path, z->buf, z->len, true);
			if (rc != RS_EEXIST || rs_time_now_ms() > deadline
			    || !rs_worker_alive(w))
				break;
			rs_time_sleep_ms(50);
		}
	}
	free(z->buf);
	return rc;
}

int
rs_worker_zk_register(rs_worker *w)
{
	znode z;
	int rc = put_info(w, &z, true);

	if (rc == RS_OK) {
		w->registered = true;
		rs_info(NULL,
		    "event=registered path=%s pid=%" PRId64 " nng=%s", z.path,
		    w->pid, w->nng_url);
	} else {
		rs_error(NULL, "event=register_failed path=%s err=%s", z.path,
		    rs_strerror(rc));
	}
	return rc;
}

int
rs_worker_zk_update(rs_worker *w)
{
	znode z;

	return put_info(w, &z, false);
}

/* WorkerInfo of worker id (watch arms a data watch); RS_ENOTFOUND. */
static int
get_info(rs_worker *w, const char *id, bool watch, Rideshare__WorkerInfo **out)
{
	return rs_worker_info_get(w->zk, id, watch, out);
}

typedef struct {
	int serving; /* workers with role MASTER or SLAVE, not us */
	int64_t low_pid; /* lowest pid among SLAVEs, us included */
	char low_id[128];
} census;

static int
take_census(rs_worker *w, census *c)
{
	char **names;
	int n, rc;

	memset(c, 0, sizeof(*c));
	c->low_pid = INT64_MAX;
	if ((rc = rs_zk_children(w->zk, WORKERS, true, &names, &n)) != RS_OK)
		return rc;
	for (int i = 0; i < n; i++) {
		Rideshare__WorkerInfo *wi;
		if (get_info(w, names[i], false, &wi) != RS_OK)
			continue;
		bool me = strcmp(wi->id, w->id) == 0;
		if (!me
		    && (wi->role == RIDESHARE__ROLE__MASTER
		        || wi->role == RIDESHARE__ROLE__SLAVE))
			c->serving++;
		if (wi->role == RIDESHARE__ROLE__SLAVE
		    && (wi->pid < c->low_pid
		        || (wi->pid == c->low_pid
		            && strcmp(wi->id, c->low_id) < 0))) {
			c->low_pid = wi->pid;
			snprintf(c->low_id, sizeof(c->low_id), "%s", wi->id);
		}
		rideshare__worker_info__free_unpacked(wi, NULL);
	}
	rs_zk_free_children(names, n);
	return RS_OK;
}

/* Creates /rideshare/master and takes the next epoch. */
static int
claim_master(rs_worker *w, bool *won)
{
	int rc = rs_zk_create(w->zk, MASTER, w->id, strlen(w->id), true);
	*won = false;
	if (rc == RS_EEXIST)
		return RS_OK;
	if (rc != RS_OK)
		return rc;
	uint64_t epoch;
	if ((rc = rs_zk_incr(w->zk, EPOCH, &epoch)) != RS_OK) {
		(void) rs_zk_delete(w->zk, MASTER);
		return rc;
	}
	w->epoch = epoch;
	*won = true;
	rs_info(NULL,
	    "event=elected_master epoch=%" PRIu64 " pid=%" PRId64
	    " applied_seq=%" PRIu64,
	    epoch, w->pid, w->meta.applied_seq);
	return RS_OK;
}

/* Waits for a watch to fire (or a short poll period to pass). */
static void
wait_change(void)
{
	for (int i = 0; i < 20; i++) {
		if (atomic_exchange(&rs_worker_master_flag, 0)
		    | atomic_exchange(&rs_worker_workers_flag, 0))
			return;
		if (atomic_load(&rs_worker_stop_flag)
		    || atomic_load(&rs_worker_expired_flag))
			return;
		rs_time_sleep_ms(10);
	}
}

/* RS_OK while w runs; else what a loop waiting on ZooKeeper ends with:
 * RS_WORKER_STOPPED on SIGTERM, RS_ECLOSED when the session is gone. */
static int
still_running(rs_worker *w)
{
	if (rs_worker_alive(w))
		return RS_OK;
	return atomic_load(&rs_worker_stop_flag) ? RS_WORKER_STOPPED
	                                         : RS_ECLOSED;
}

int
rs_worker_zk_bootstrap(rs_worker *w, Rideshare__Role *role)
{
	int rc;

	for (;;) {
		if ((rc = still_running(w)) != RS_OK)
			return rc;
		rc = rs_zk_exists(w->zk, MASTER, true);
		if (rc == RS_OK) {
			*role = RIDESHARE__ROLE__SLAVE;
			return RS_OK;
		}
		if (rc != RS_ENOTFOUND)
			return rc;
		census c;
		if ((rc = take_census(w, &c)) != RS_OK)
			return rc;
		if (c.serving == 0) {
			bool won;
			if ((rc = claim_master(w, &won)) != RS_OK)
				return rc;
			if (won && (rc = rs_worker_recover(w)) != RS_OK)
				return rc;
			*role = won ? RIDESHARE__ROLE__MASTER
			            : RIDESHARE__ROLE__SLAVE;
			return RS_OK;
		}
		/* An election is under way among the serving workers. */
		rs_debug(
		    NULL, "event=waiting_for_election serving=%d", c.serving);
		wait_change();
	}
}

int
rs_worker_zk_wait_master(rs_worker *w, Rideshare__WorkerInfo **info)
{
	int rc;

	for (;;) {
		if ((rc = still_running(w)) != RS_OK)
			return rc;
		char *id;
		size_t len;
		rc = rs_zk_get(w->zk, MASTER, true, &id, &len);
		if (rc == RS_OK) {
			Rideshare__WorkerInfo *wi;
			rc = get_info(w, id, true, &wi);
			if (rc == RS_OK
			    && wi->role == RIDESHARE__ROLE__MASTER) {
				snprintf(w->master_id, sizeof(w->master_id),
				    "%s", id);
				free(id);
				*info = wi;
				return RS_OK;
			}
			if (rc == RS_OK)
				rideshare__worker_info__free_unpacked(
				    wi, NULL);
			free(id);
		} else if (rc == RS_ENOTFOUND) {
			/* No master and nobody serving any more (all died
			 * while we waited): step 3's fresh-system rule. */
			census c;
			bool won = false;
			if ((rc = take_census(w, &c)) != RS_OK)
				return rc;
			if (c.serving == 0
			    && (rc = claim_master(w, &won)) != RS_OK)
				return rc;
			if (won && (rc = rs_worker_recover(w)) != RS_OK)
				return rc;
			if (won)
				return RS_WORKER_PROMOTED;
			(void) rs_zk_exists(w->zk, MASTER, true);
		} else {
			return rc;
		}
		wait_change();
	}
}

int
rs_worker_zk_elect(rs_worker *w, bool *won)
{
	char *id;
	size_t len;
	int rc;

	*won = false;
	rc = rs_zk_get(w->zk, MASTER, true, &id, &len);
	if (rc == RS_OK) {
		if (strcmp(id, w->master_id) != 0) {
			Rideshare__WorkerInfo *wi;
			if (get_info(w, id, false, &wi) == RS_OK) {
				rs_info(NULL,
				    "event=following_master id=%s "
				    "pid=%" PRId64,
				    id, wi->pid);
				rs_worker_notice_follow(
				    w->notice, wi->nng_url);
				rideshare__worker_info__free_unpacked(
				    wi, NULL);
				snprintf(w->master_id, sizeof(w->master_id),
				    "%s", id);
			}
		}
		free(id);
		/* Keep a children watch too: if the master's znode data
		 * is what changed we are not told otherwise. */
		return RS_OK;
	}
	if (rc != RS_ENOTFOUND)
		return rc;
	if ((rc = rs_zk_exists(w->zk, MASTER, true)) == RS_OK)
		return RS_OK; /* re-created meanwhile; next event says who */
	/* Planned switchover: the operator's candidate, and only it,
	 * claims; the watch fires when the orchestrator removes the node
	 * (done, or given up: then the usual election below). */
	rc = rs_zk_get(w->zk, RS_ZK_SWITCHOVER, true, &id, &len);
	if (rc == RS_OK) {
		bool mine = strcmp(id, w->id) == 0;
		rs_info(NULL, "event=switchover_election candidate=%s mine=%d",
		    id, mine);
		free(id);
		return mine ? claim_master(w, won) : RS_OK;
	}
	if (rc != RS_ENOTFOUND)
		return rc;
	census c;
	if ((rc = take_census(w, &c)) != RS_OK)
		return rc;
	if (strcmp(c.low_id, w->id) != 0) {
		rs_info(NULL, "event=election_lost winner=%s pid=%" PRId64,
		    c.low_id, c.low_pid);
		return RS_OK;
	}
	/* Maintenance mode (docs/operations.md): the operator holds
	 * automatic failover; the watch set here fires on resume. */
	rc = rs_zk_exists(w->zk, RS_ZK_PAUSED, true);
	if (rc == RS_OK) {
		rs_warn(NULL, "event=election_held reason=paused");
		return RS_OK;
	}
	if (rc != RS_ENOTFOUND)
		return rc;
	return claim_master(w, won);
}

/* Judges an answer of /rideshare/master (rc, id): RS_OK while it names
 * this worker; RS_ECONN (a hiccup: ask again); else fenced (logged). */
static int
judge_master(rs_worker *w, int rc, char *id)
{
	if (rc == RS_ECONN || rc == RS_ETIMEDOUT)
		return RS_ECONN;
	if (rc != RS_OK) {
		rs_error(NULL, "event=fenced reason=master_znode err=%s",
		    rs_strerror(rc));
		return rc == RS_ENOTFOUND ? RS_ESTATE : rc;
	}
	rc = strcmp(id, w->id) == 0 ? RS_OK : RS_ESTATE;
	if (rc != RS_OK)
		rs_error(
		    NULL, "event=fenced reason=other_master master=%s", id);
	free(id);
	return rc;
}

int
rs_worker_zk_still_master(rs_worker *w)
{
	char *id = NULL;
	int rc = rs_zk_get(w->zk, MASTER, false, &id, NULL);

	return judge_master(w, rc, id);
}

int
rs_worker_fence_lease_ms(rs_worker *w)
{
	int lease = rs_zk_session_ms(w->zk) / 4;

	return lease < 100 ? lease : 100;
}

void
rs_worker_zk_fence_start(rs_worker *w, rs_worker_fence *f)
{
	f->start_rc = rs_zk_get_start(w->zk, MASTER, &f->read, &f->sent_ms);
}

/* Waits for f's answer (a session timeout and a second at most: by then
 * the session is gone anyway): rs_zk_get's result, *id malloc'd on RS_OK;
 * f's start error when nothing was sent. */
static int
fence_collect(rs_worker *w, rs_worker_fence *f, char **id)
{
	int rc = f->start_rc;

	if (f->read != NULL)
		rc = rs_zk_get_finish(
		    f->read, rs_zk_session_ms(w->zk) + 1000, id, NULL);
	f->read = NULL;
	return rc;
}

void
rs_worker_zk_fence_drop(rs_worker *w, rs_worker_fence *f)
{
	char *id = NULL;

	if (fence_collect(w, f, &id) == RS_OK)
		free(id);
}

int
rs_worker_zk_fence_finish(rs_worker *w, rs_worker_fence *f)
{
	char *id = NULL;
	int rc = fence_collect(w, f, &id);
	int64_t age_ms = rs_time_now_ms() - f->sent_ms;

	rc = judge_master(w, rc, id);
	if (rc == RS_OK && age_ms > rs_worker_fence_lease_ms(w)) {
		rs_info(NULL,
		    "event=fence_read_again reason=lease_passed "
		    "age_ms=%" PRId64 " pid=%" PRId64,
		    age_ms, w->pid);
		rc = RS_ECONN;
	}
	return rc;
}

int
rs_worker_zk_rejoin(rs_worker *w)
{
	int rc, backoff = 0;

	rs_warn(NULL,
	    "event=rejoining reason=session_lost role=%s applied_seq=%" PRIu64
	    " epoch=%" PRIu64,
	    rs_worker_role_name(w->role), w->meta.applied_seq, w->meta.epoch);
	for (;;) {
		rs_zk_close(w->zk); /* our ephemeral znodes go with it */
		w->zk = NULL;
		w->registered = false;
		w->role = RIDESHARE__ROLE__CANDIDATE;
		w->master_id[0] = '\0';
		atomic_store(&rs_worker_expired_flag, 0);
		atomic_store(&rs_worker_zk_down_since, 0);
		atomic_store(&rs_worker_master_flag, 0);
		atomic_store(&rs_worker_workers_flag, 0);
		rs_worker_notice_set(w->notice, RS_ROLE_CANDIDATE,
		    w->meta.applied_seq, w->meta.epoch);
		rc = rs_worker_zk_start(w);
		if (rc == RS_OK)
			rc = rs_worker_zk_register(w);
		if (rc == RS_OK) {
			rs_info(NULL, "event=rejoined");
			return RS_OK;
		}
		if (atomic_load(&rs_worker_stop_flag))
			return RS_WORKER_STOPPED;
		backoff = (int) rs_time_backoff_next(backoff, 200, 5000);
		rs_warn(NULL, "event=rejoin_retry err=%s retry_in_ms=%d",
		    rs_strerror(rc), backoff);
		rs_time_sleep_ms(backoff);
	}
}
