#include "supervisor.h"
#include "events.h"
#include "rs_contract.h"
#include "orch_metrics.h"
#include "retire.h"
#include "rs_err.h"
#include "rs_thread.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_time.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS              20
#define SPAWN_BACKOFF_MIN_MS 500
#define SPAWN_BACKOFF_MAX_MS 10000

struct rs_orch_supervisor {
	rs_orch_supervisor_cfg cfg;
	rs_orch_workers *w;
	rs_orch_spawner *sp;
	rs_orch_autoscale *as;
	rs_orch_retirer *retirer;
	rs_thread thr;
	pthread_mutex_t crash_lock;
	unsigned next_no;
	int64_t spawn_block_until;
	int spawn_backoff_ms;
	int ready_ours; /* workers of ours RUNNING at the last tick */
	/* failover timing */
	char master[RS_ORCH_ID_MAX];
	int64_t master_lost_ms;
	/* Maintenance mode (docs/operations.md): wanted by the admin API
	 * (paused), mirrored into RS_ZK_PAUSED by this thread (paused_zk)
	 * so that the slaves hold their elections too. */
	_Atomic bool paused;
	_Atomic bool paused_zk;
	bool paused_loaded; /* RS_ZK_PAUSED read once after start */
	pthread_mutex_t pause_lock;
	char pause_reason[256];
	int64_t paused_at_ms; /* wall clock */
	/* Planned switchover: the admin thread asks (sw_want: candidate id,
	 * or "" to clear), this thread writes RS_ZK_SWITCHOVER and bumps
	 * sw_done to sw_gen. */
	pthread_mutex_t sw_lock;
	char sw_want[RS_ORCH_ID_MAX];
	_Atomic unsigned sw_gen, sw_done;
	_Atomic bool sw_busy;
};

/* Wall-clock ms since the epoch (the pause's start, for people). */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Delays the next spawn: 0.5 s, doubling up to 10 s. Reset once a worker
 * of ours becomes ready (tick). */
static void
back_off(rs_orch_supervisor *s)
{
	s->spawn_backoff_ms = (int) rs_time_backoff_next(
	    s->spawn_backoff_ms, SPAWN_BACKOFF_MIN_MS, SPAWN_BACKOFF_MAX_MS);
	s->spawn_block_until = rs_time_now_ms() + s->spawn_backoff_ms;
}

/* Spawner callback: a worker process/container ended. */
static void
on_worker_exit(void *arg, const char *id, int64_t pid, const char *how)
{
	rs_orch_supervisor *s = arg;
	rs_orch_worker was;
	int rv;

	memset(&was, 0, sizeof(was));
	was.role = RS_ORCH_ROLE_NONE;
	(void) rs_orch_workers_exited(s->w, id, &was);
	if (was.state == RS_ORCH_STOPPING) {
		rs_info(NULL,
		    "event=worker_stopped id=%s pid=%" PRId64 " how=\"%s\"",
		    id, pid, how);
		rs_orch_event("stopped", "%s pid %" PRId64 " stopped (%s)", id,
		    pid, how);
	} else {
		if (!was.kill_sent)
			rs_metric_add(&rs_orch_m_deaths, 1);
		rs_warn(NULL,
		    "event=worker_died id=%s pid=%" PRId64
		    " role=%s how=\"%s\"",
		    id, pid, rs_orch_role_name(was.role), how);
		rs_orch_event("death", "%s %s pid %" PRId64 " ended (%s)%s",
		    rs_orch_role_name(was.role), id, pid, how,
		    atomic_load(&s->paused) ? "; paused: not replaced" : "");
		/* Dying before it ever served (no database, bad config...):
		 * do not respawn in a tight loop. */
		if (was.state == RS_ORCH_STARTING && was.ours)
			back_off(s);
	}
	rs_orch_retirer_worker_gone(s->retirer, id);
	/* The process is gone for sure: release its znodes now instead of
	 * waiting for its ZooKeeper session to expire. */
	rv = rs_orch_workers_forget(s->w, id);
	if (rv != RS_OK)
		rs_warn(NULL, "event=forget_failed id=%s err=%s", id,
		    rs_strerror(rv));
}

static int
spawn_one(rs_orch_supervisor *s, const char *reason)
{
	char rnd[RS_ID_LEN + 1], id[RS_ORCH_ID_MAX];
	int64_t pid = 0, now = rs_time_now_ms();
	int rv;

	if (now < s->spawn_block_until)
		return RS_EAGAIN;
	rs_id_new(rnd);
	snprintf(id, sizeof(id), RS_ORCH_ID_FORMAT, ++s->next_no, rnd);
	rv = rs_orch_spawner_spawn(s->sp, id, &pid);
	if (rv != RS_OK) {
		rs_metric_add(&rs_orch_m_spawn_failures, 1);
		back_off(s);
		rs_error(NULL,
		    "event=spawn_failed id=%s reason=%s err=%s "
		    "retry_in_ms=%d",
		    id, reason, rs_strerror(rv), s->spawn_backoff_ms);
		return rv;
	}
	rs_metric_add(&rs_orch_m_spawns, 1);
	rs_orch_workers_add(s->w, id, pid);
	rs_info(NULL,
	    "event=worker_spawned id=%s pid=%" PRId64 " reason=%s "
	    "spawner=%s",
	    id, pid, reason, rs_orch_spawner_name(s->sp));
	rs_orch_event(
	    "spawn", "spawned %s pid %" PRId64 " (%s)", id, pid, reason);
	return RS_OK;
}

static void
kill_worker(rs_orch_supervisor *s, const rs_orch_worker *e, const char *why)
{
	int rv = rs_orch_spawner_signal(s->sp, e->id, e->pid, SIGKILL);

	rs_warn(NULL,
	    "event=worker_kill id=%s pid=%" PRId64 " reason=%s rv=%s", e->id,
	    e->pid, why, rs_strerror(rv));
	rs_orch_workers_mark_killed(s->w, e->id);
}

static void
stop_worker(rs_orch_supervisor *s, const rs_orch_worker *e, const char *why)
{
	int rv = rs_orch_spawner_signal(s->sp, e->id, e->pid, SIGTERM);

	rs_metric_add(&rs_orch_m_stops, 1);
	rs_info(NULL,
	    "event=worker_stop id=%s pid=%" PRId64 " role=%s reason=%s "
	    "rv=%s",
	    e->id, e->pid, rs_orch_role_name(e->role), why, rs_strerror(rv));
	if (rv == RS_ENOTFOUND)
		rs_orch_workers_mark_killed(s->w, e->id);
	else
		rs_orch_workers_mark_stopping(s->w, e->id);
}

/* Deadlines: workers that never became ready, ignored SIGTERM, or lost
 * their ZooKeeper session while their process lives on. */
static void
enforce_deadlines(
    rs_orch_supervisor *s, const rs_orch_worker *t, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		const rs_orch_worker *e = &t[i];

		if (!e->ours || e->exited || e->kill_sent)
			continue;
		if (e->state == RS_ORCH_DEAD && e->dead_ms != 0
		    && now - e->dead_ms > s->cfg.rejoin_grace_ms)
			kill_worker(s, e, "session_gone_no_rejoin");
		else if (e->state == RS_ORCH_STARTING
		    && now - e->spawned_ms > s->cfg.start_timeout_ms)
			kill_worker(s, e, "start_timeout");
		else if (e->state == RS_ORCH_STOPPING
		    && now - e->stop_ms > s->cfg.stop_timeout_ms)
			kill_worker(s, e, "stop_timeout");
	}
}

static void
track_failover(rs_orch_supervisor *s, const rs_orch_worker *t, size_t n,
    const char *master_id, int64_t now)
{
	int m = rs_orch_roster_master(t, n, master_id, true);

	if (m < 0) {
		if (s->master[0] != '\0' && s->master_lost_ms == 0)
			s->master_lost_ms = now;
		return;
	}
	if (strcmp(t[m].id, s->master) == 0)
		return;
	if (s->master_lost_ms != 0) {
		rs_metric_set(&rs_orch_m_failover_ms,
		    (uint64_t) (now - s->master_lost_ms));
		rs_info(NULL,
		    "event=failover_done master=%s pid=%" PRId64
		    " previous=%s failover_ms=%" PRId64,
		    t[m].id, t[m].pid, s->master, now - s->master_lost_ms);
		rs_orch_event("failover",
		    "master %s pid %" PRId64 " took over from %s in %" PRId64
		    " ms (epoch %" PRIu64 ")",
		    t[m].id, t[m].pid, s->master, now - s->master_lost_ms,
		    rs_orch_workers_epoch(s->w));
	} else {
		rs_info(NULL, "event=master_up master=%s pid=%" PRId64,
		    t[m].id, t[m].pid);
		rs_orch_event(RS_ROLE_MASTER, "master %s pid %" PRId64 " up",
		    t[m].id, t[m].pid);
	}
	snprintf(s->master, sizeof(s->master), "%s", t[m].id);
	s->master_lost_ms = 0;
}

static void
autoscale(rs_orch_supervisor *s, int64_t now)
{
	rs_orch_scale_decision d;

	/* Paused: no decision; the reads keep counting into the window
	 * that is open, and the first tick after resume decides. */
	if (atomic_load(&s->paused) || !rs_orch_autoscale_tick(s->as, now, &d))
		return;
	rs_metric_set(&rs_orch_m_window_reads, d.reads);
	rs_metric_set(&rs_orch_m_target_slaves, (uint64_t) d.target);
	rs_metric_set(&rs_orch_m_wanted_slaves, (uint64_t) d.wanted);
	if (d.target > d.previous)
		rs_metric_add(&rs_orch_m_scale_out, 1);
	else if (d.target < d.previous)
		rs_metric_add(&rs_orch_m_scale_in, 1);
	else
		rs_metric_add(&rs_orch_m_scale_same, 1);
	if (d.wanted > d.target) {
		/* More slaves than the hosts can use would cost throughput
		 * (capacity.h): the demand is reported, not followed. */
		rs_metric_add(&rs_orch_m_scale_capped, 1);
		rs_warn(NULL,
		    "event=scale_capped reads=%" PRIu64
		    " wanted=%d cap=%d target=%d",
		    d.reads, d.wanted, s->as->max_slaves, d.target);
		rs_orch_event("scale",
		    "cap reached: %d slaves wanted, running at most %d",
		    d.wanted, s->as->max_slaves);
	}
	rs_info(NULL,
	    "event=scale_decision reads=%" PRIu64 " window_ms=%" PRId64
	    " previous=%d wanted=%d target=%d direction=%s",
	    d.reads, s->as->window_ms, d.previous, d.wanted, d.target,
	    d.target > d.previous       ? "out"
	        : d.target < d.previous ? "in"
	                                : "none");
	rs_orch_event("scale",
	    "%" PRIu64 " reads in the window: slaves %d -> %d", d.reads,
	    d.previous, d.target);
}

/* Carries the admin thread's switchover request into ZooKeeper. */
static void
sync_switchover(rs_orch_supervisor *s)
{
	unsigned gen = atomic_load(&s->sw_gen);
	char want[RS_ORCH_ID_MAX];
	int rv;

	if (gen == atomic_load(&s->sw_done)
	    || !rs_orch_workers_zk_connected(s->w))
		return;
	pthread_mutex_lock(&s->sw_lock);
	snprintf(want, sizeof(want), "%s", s->sw_want);
	pthread_mutex_unlock(&s->sw_lock);
	rv = rs_orch_workers_write_switchover(
	    s->w, want[0] != '\0' ? want : NULL);
	if (rv != RS_OK) {
		rs_warn(NULL, "event=switchover_write_failed err=%s",
		    rs_strerror(rv));
		return;
	}
	atomic_store(&s->sw_done, gen);
}

/* Mirrors the wanted pause state into RS_ZK_PAUSED; the first time, the
 * other way round (a pause outlives an orchestrator restart). */
static void
sync_pause(rs_orch_supervisor *s)
{
	bool want, zk_paused = false;
	char reason[256];
	int rv;

	if (!rs_orch_workers_zk_connected(s->w))
		return;
	if (!s->paused_loaded) {
		rv = rs_orch_workers_read_maintenance(
		    s->w, &zk_paused, reason, sizeof(reason));
		if (rv != RS_OK)
			return;
		s->paused_loaded = true;
		if (zk_paused) {
			pthread_mutex_lock(&s->pause_lock);
			snprintf(s->pause_reason, sizeof(s->pause_reason),
			    "%s", reason);
			s->paused_at_ms = wall_ms();
			pthread_mutex_unlock(&s->pause_lock);
			atomic_store(&s->paused, true);
			atomic_store(&s->paused_zk, true);
			rs_warn(NULL, "event=paused_at_start reason=\"%s\"",
			    reason);
			rs_orch_event("pause", "still paused: %s", reason);
		}
	}
	want = atomic_load(&s->paused);
	if (want == atomic_load(&s->paused_zk))
		return;
	pthread_mutex_lock(&s->pause_lock);
	snprintf(reason, sizeof(reason), "%s", s->pause_reason);
	pthread_mutex_unlock(&s->pause_lock);
	rv = rs_orch_workers_write_maintenance(s->w, want, reason);
	if (rv != RS_OK) {
		rs_warn(NULL, "event=pause_write_failed paused=%d err=%s",
		    want, rs_strerror(rv));
		return;
	}
	atomic_store(&s->paused_zk, want);
}

/* Workers registered in ZooKeeper that this orchestrator did not start:
 * a previous orchestrator's (crashed, restarted). Take them over so that
 * they are supervised, reaped and stopped like our own. */
static void
adopt(rs_orch_supervisor *s, const rs_orch_worker *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const rs_orch_worker *e = &t[i];
		int rv;

		if (e->ours || !e->registered || e->pid <= 0
		    || !rs_orch_worker_alive(e)
		    || !rs_orch_worker_id_spawned(e->id))
			continue;
		rv = rs_orch_spawner_adopt(s->sp, e->id, e->pid);
		if (rv == RS_OK || rv == RS_EEXIST) {
			rs_orch_workers_mark_ours(s->w, e->id);
			if (rv == RS_OK)
				rs_metric_add(&rs_orch_m_adopted, 1);
			rs_info(NULL,
			    "event=worker_adopted id=%s pid=%" PRId64
			    " role=%s applied_seq=%" PRIu64,
			    e->id, e->pid, rs_orch_role_name(e->role),
			    e->applied_seq);
		} else {
			rs_debug(NULL, "event=adopt_failed id=%s err=%s",
			    e->id, rs_strerror(rv));
		}
	}
}

static void
tick(rs_orch_supervisor *s)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master_id[RS_ORCH_ID_MAX];
	rs_orch_plan plan;
	int64_t now;
	size_t n;

	(void) rs_orch_workers_refresh(s->w, false);
	(void) rs_orch_spawner_reap(s->sp, on_worker_exit, s);
	(void) rs_orch_workers_refresh(s->w, false);
	now = rs_time_now_ms();
	n = rs_orch_workers_snapshot(s->w, t, RS_ORCH_MAX_WORKERS, master_id);
	adopt(s, t, n);
	enforce_deadlines(s, t, n, now);
	{
		int ready = 0;

		for (size_t i = 0; i < n; i++)
			ready += t[i].ours && t[i].state == RS_ORCH_RUNNING;
		if (ready > s->ready_ours) {
			s->spawn_backoff_ms = 0; /* starts work again */
			s->spawn_block_until = 0;
		}
		s->ready_ours = ready;
	}
	track_failover(s, t, n, master_id, now);
	sync_pause(s);
	sync_switchover(s);
	autoscale(s, now);
	rs_metric_set(&rs_orch_m_epoch, rs_orch_workers_epoch(s->w));
	if (!rs_orch_workers_zk_connected(s->w)) {
		rs_orch_retirer_allow(s->retirer, false);
		return; /* what we see may be stale: decide nothing */
	}
	if (atomic_load(&s->paused)) {
		rs_orch_retirer_allow(s->retirer, false);
		/* Maintenance: the operator decides; deadlines (above) and
		 * reaping still run. */
		rs_metric_set(&rs_orch_m_recovery_blocked,
		    rs_orch_workers_recovery_blocked(s->w, NULL, 0) ? 1 : 0);
		return;
	}
	n = rs_orch_workers_snapshot(s->w, t, RS_ORCH_MAX_WORKERS, master_id);
	rs_orch_roster_plan(
	    t, n, master_id, rs_orch_autoscale_target(s->as), &plan);
	for (int i = 0; i < plan.spawn; i++) {
		if (spawn_one(
		        s, plan.bootstrap ? "bootstrap" : "slaves_wanted")
		    != RS_OK)
			break;
	}
	for (int i = 0; i < plan.nstop; i++)
		stop_worker(s, &t[plan.stop[i]], "scale_in");
	rs_metric_set(&rs_orch_m_recovery_blocked,
	    rs_orch_workers_recovery_blocked(s->w, NULL, 0) ? 1 : 0);
	rs_orch_retirer_allow(
	    s->retirer, rs_orch_roster_master(t, n, master_id, true) >= 0);
}

static void *
run(void *arg)
{
	rs_orch_supervisor *s = arg;

	rs_info(NULL,
	    "event=supervisor_start spawner=%s min_slaves=%d max_slaves=%d "
	    "window_ms=%" PRId64,
	    rs_orch_spawner_name(s->sp), s->as->min_slaves, s->as->max_slaves,
	    s->as->window_ms);
	while (!rs_thread_stopping(&s->thr)) {
		tick(s);
		rs_orch_workers_wait(s->w, TICK_MS);
	}
	return NULL;
}

int
rs_orch_supervisor_create(const rs_orch_supervisor_cfg *cfg,
    rs_orch_workers *w, rs_orch_spawner *sp, rs_orch_autoscale *as,
    rs_orch_supervisor **out)
{
	rs_orch_supervisor *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return RS_ENOMEM;
	s->cfg = *cfg;
	if (rs_orch_retirer_create(cfg->pg_maint, cfg->amqp_url, w,
	        cfg->retire_every_ms, &s->retirer)
	    != RS_OK) {
		free(s);
		return RS_ENOMEM;
	}
	s->w = w;
	s->sp = sp;
	s->as = as;
	pthread_mutex_init(&s->crash_lock, NULL);
	pthread_mutex_init(&s->pause_lock, NULL);
	pthread_mutex_init(&s->sw_lock, NULL);
	*out = s;
	return RS_OK;
}

int
rs_orch_supervisor_start(rs_orch_supervisor *s)
{
	if (rs_orch_retirer_start(s->retirer) != RS_OK
	    || rs_thread_start(&s->thr, run, s) != RS_OK)
		return RS_ENOMEM;
	return RS_OK;
}

int
rs_orch_supervisor_crash(rs_orch_supervisor *s, bool master, int64_t *pid)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master_id[RS_ORCH_ID_MAX];
	size_t n;
	int k, rv;

	pthread_mutex_lock(&s->crash_lock);
	n = rs_orch_workers_snapshot(s->w, t, RS_ORCH_MAX_WORKERS, master_id);
	if (master) {
		k = rs_orch_roster_master(t, n, master_id, false);
		for (size_t i = 0; k < 0 && i < n; i++) {
			if (rs_orch_worker_alive(&t[i]) && t[i].registered
			    && t[i].role == RS_ORCH_ROLE_MASTER)
				k = (int) i;
		}
	} else {
		k = rs_orch_roster_top_slave(t, n);
	}
	if (k < 0 || t[k].pid <= 0) {
		pthread_mutex_unlock(&s->crash_lock);
		return RS_ENOTFOUND;
	}
	rv = rs_orch_spawner_signal(s->sp, t[k].id, t[k].pid, SIGKILL);
	if (rv == RS_OK || rv == RS_ENOTFOUND || rv == RS_ESTATE) {
		/* Out of worker/list at once; reaped by the supervisor. */
		rs_orch_workers_mark_killed(s->w, t[k].id);
		rs_metric_add(&rs_orch_m_crashes, 1);
		rs_warn(NULL, "event=crash id=%s pid=%" PRId64 " role=%s",
		    t[k].id, t[k].pid,
		    master ? RS_ROLE_MASTER : RS_ROLE_SLAVE);
		rs_orch_event("crash", "crash API killed %s %s pid %" PRId64,
		    master ? RS_ROLE_MASTER : RS_ROLE_SLAVE, t[k].id,
		    t[k].pid);
		*pid = t[k].pid;
		rv = RS_OK;
	}
	pthread_mutex_unlock(&s->crash_lock);
	rs_orch_workers_poke(s->w);
	return rv;
}

int
rs_orch_supervisor_pause(
    rs_orch_supervisor *s, bool pause, const char *reason, int wait_ms)
{
	bool was = atomic_load(&s->paused);
	int64_t deadline = rs_time_now_ms() + wait_ms;

	pthread_mutex_lock(&s->pause_lock);
	if (pause && !was) {
		snprintf(s->pause_reason, sizeof(s->pause_reason), "%s",
		    reason != NULL && reason[0] != '\0' ? reason
		                                        : "maintenance");
		s->paused_at_ms = wall_ms();
	}
	pthread_mutex_unlock(&s->pause_lock);
	atomic_store(&s->paused, pause);
	if (was != pause) {
		rs_warn(NULL, "event=%s reason=\"%s\"",
		    pause ? "paused" : "resumed",
		    pause ? s->pause_reason : "-");
		if (pause)
			rs_orch_event("pause", "paused: %s", s->pause_reason);
		else
			rs_orch_event("resume",
			    "resumed: scaling, "
			    "replacement and failover on");
	}
	rs_orch_workers_poke(s->w);
	while (atomic_load(&s->paused_zk) != pause) {
		if (rs_time_now_ms() >= deadline)
			return RS_ETIMEDOUT;
		rs_time_sleep_ms(10);
	}
	return RS_OK;
}

bool
rs_orch_supervisor_paused(
    rs_orch_supervisor *s, char *reason, size_t len, int64_t *since_ms)
{
	bool p = atomic_load(&s->paused);

	pthread_mutex_lock(&s->pause_lock);
	if (reason != NULL && len > 0)
		snprintf(reason, len, "%s", p ? s->pause_reason : "");
	if (since_ms != NULL)
		*since_ms = p ? s->paused_at_ms : 0;
	pthread_mutex_unlock(&s->pause_lock);
	return p;
}

int
rs_orch_supervisor_drain(rs_orch_supervisor *s, int64_t pid)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	size_t n;
	int k = -1;

	pthread_mutex_lock(&s->crash_lock);
	n = rs_orch_workers_snapshot(s->w, t, RS_ORCH_MAX_WORKERS, NULL);
	for (size_t i = 0; i < n; i++) {
		if (t[i].pid == pid && rs_orch_worker_alive(&t[i])
		    && t[i].state != RS_ORCH_STOPPING)
			k = (int) i;
	}
	if (k < 0) {
		pthread_mutex_unlock(&s->crash_lock);
		return RS_ENOTFOUND;
	}
	if (t[k].role != RS_ORCH_ROLE_SLAVE) {
		pthread_mutex_unlock(&s->crash_lock);
		return RS_ESTATE;
	}
	/* SIGTERM: the slave finishes the reads it holds, cancels its
	 * consumers and leaves (docs/replication.md, graceful stop). */
	stop_worker(s, &t[k], "drain");
	rs_orch_event("drain", "draining slave %s pid %" PRId64 "%s", t[k].id,
	    pid,
	    atomic_load(&s->paused) ? " (paused: not replaced)"
	                            : " (will be replaced: not paused)");
	pthread_mutex_unlock(&s->crash_lock);
	rs_orch_workers_poke(s->w);
	return RS_OK;
}

/* Asks the supervisor thread to write (or clear: id "") RS_ZK_SWITCHOVER
 * and waits up to wait_ms for it. */
static int
switchover_node(rs_orch_supervisor *s, const char *id, int wait_ms)
{
	int64_t deadline = rs_time_now_ms() + wait_ms;
	unsigned gen;

	pthread_mutex_lock(&s->sw_lock);
	snprintf(s->sw_want, sizeof(s->sw_want), "%s", id);
	gen = atomic_fetch_add(&s->sw_gen, 1) + 1;
	pthread_mutex_unlock(&s->sw_lock);
	rs_orch_workers_poke(s->w);
	while (atomic_load(&s->sw_done) != gen) {
		if (rs_time_now_ms() >= deadline)
			return RS_ETIMEDOUT;
		rs_time_sleep_ms(2);
	}
	return RS_OK;
}

static int
pick_candidate(const rs_orch_worker *t, size_t n, int64_t pid)
{
	int k = -1;

	for (size_t i = 0; i < n; i++) {
		const rs_orch_worker *e = &t[i];

		if (!rs_orch_worker_alive(e) || !e->registered
		    || e->state != RS_ORCH_RUNNING
		    || e->role != RS_ORCH_ROLE_SLAVE)
			continue;
		if (pid != 0 ? e->pid == pid : (k < 0 || e->pid < t[k].pid))
			k = (int) i;
	}
	return k;
}

int
rs_orch_supervisor_switchover(rs_orch_supervisor *s, int64_t candidate_pid,
    int timeout_ms, rs_orch_switchover *out)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master_id[RS_ORCH_ID_MAX];
	int64_t t0, t_stop, deadline;
	bool expect = false;
	size_t n;
	int m, c, rv;

	if (atomic_load(&s->paused))
		return RS_ESTATE; /* the election would be held */
	if (!atomic_compare_exchange_strong(&s->sw_busy, &expect, true))
		return RS_ESTATE;
	memset(out, 0, sizeof(*out));
	t0 = rs_time_now_ms();
	n = rs_orch_workers_snapshot(s->w, t, RS_ORCH_MAX_WORKERS, master_id);
	m = rs_orch_roster_master(t, n, master_id, true);
	c = pick_candidate(t, n, candidate_pid);
	if (m < 0 || c < 0) {
		atomic_store(&s->sw_busy, false);
		return RS_ENOTFOUND;
	}
	snprintf(out->old_id, sizeof(out->old_id), "%s", t[m].id);
	snprintf(out->new_id, sizeof(out->new_id), "%s", t[c].id);
	out->old_pid = t[m].pid;
	out->new_pid = t[c].pid;
	rs_info(NULL,
	    "event=switchover_start master=%s pid=%" PRId64
	    " candidate=%s candidate_pid=%" PRId64,
	    t[m].id, t[m].pid, t[c].id, t[c].pid);
	if ((rv = switchover_node(s, t[c].id, 5000)) != RS_OK) {
		(void) switchover_node(s, "", 5000);
		atomic_store(&s->sw_busy, false);
		return rv;
	}
	/* SIGTERM: the master finishes the batch it took (commit, sync
	 * events, replies), stops consuming writeQ and closes its session,
	 * which deletes RS_ZK_MASTER at once; the writes it did not take
	 * wait in writeQ for the candidate. */
	pthread_mutex_lock(&s->crash_lock);
	t_stop = rs_time_now_ms();
	stop_worker(s, &t[m], "switchover");
	pthread_mutex_unlock(&s->crash_lock);
	deadline = t_stop + timeout_ms;
	rv = RS_ETIMEDOUT;
	while (rs_time_now_ms() < deadline) {
		int k;

		n = rs_orch_workers_snapshot(
		    s->w, t, RS_ORCH_MAX_WORKERS, master_id);
		k = rs_orch_roster_master(t, n, master_id, true);
		if (k >= 0 && strcmp(t[k].id, out->new_id) == 0) {
			rv = RS_OK;
			break;
		}
		rs_time_sleep_ms(2);
	}
	out->pause_ms = rs_time_now_ms() - t_stop;
	(void) switchover_node(s, "", 5000);
	out->epoch = rs_orch_workers_epoch(s->w);
	out->total_ms = rs_time_now_ms() - t0;
	if (rv == RS_OK) {
		rs_info(NULL,
		    "event=switchover_done master=%s pid=%" PRId64
		    " previous=%s epoch=%" PRIu64 " write_pause_ms=%" PRId64
		    " total_ms=%" PRId64,
		    out->new_id, out->new_pid, out->old_id, out->epoch,
		    out->pause_ms, out->total_ms);
		rs_orch_event("switchover",
		    "master moved from %s pid %" PRId64 " to %s pid %" PRId64
		    " (epoch %" PRIu64 "): writes paused %" PRId64 " ms",
		    out->old_id, out->old_pid, out->new_id, out->new_pid,
		    out->epoch, out->pause_ms);
	} else {
		rs_warn(NULL,
		    "event=switchover_timeout candidate=%s waited_ms=%" PRId64,
		    out->new_id, out->pause_ms);
		rs_orch_event("switchover",
		    "candidate %s did not take over within %d ms: usual "
		    "election",
		    out->new_id, timeout_ms);
	}
	atomic_store(&s->sw_busy, false);
	return rv;
}

int
rs_orch_supervisor_stop_all(rs_orch_supervisor *s, int wait_ms)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master_id[RS_ORCH_ID_MAX];
	int64_t deadline = rs_time_now_ms() + wait_ms;
	size_t n, alive;

	if (!atomic_load(&s->paused))
		return RS_ESTATE;
	for (;;) {
		/* Each round: a worker the tick spawned just before the pause
		 * shows up in the table a little later. */
		pthread_mutex_lock(&s->crash_lock);
		n = rs_orch_workers_snapshot(
		    s->w, t, RS_ORCH_MAX_WORKERS, master_id);
		for (size_t i = 0; i < n; i++) {
			if (rs_orch_worker_alive(&t[i]) && !t[i].kill_sent)
				stop_worker(s, &t[i], "restore");
		}
		pthread_mutex_unlock(&s->crash_lock);
		rs_orch_workers_poke(s->w);
		/* Gone = reaped by the spawner and out of ZooKeeper. */
		alive = (size_t) rs_orch_spawner_count(s->sp);
		for (size_t i = 0; i < n; i++)
			alive
			    += t[i].registered || rs_orch_worker_alive(&t[i]);
		if (alive == 0 && master_id[0] == '\0')
			return RS_OK;
		if (rs_time_now_ms() >= deadline)
			return RS_ETIMEDOUT;
		rs_time_sleep_ms(20);
	}
}

rs_orch_spawner *
rs_orch_supervisor_spawner(rs_orch_supervisor *s)
{
	return s->sp;
}

rs_orch_autoscale *
rs_orch_supervisor_autoscale(rs_orch_supervisor *s)
{
	return s->as;
}

void
rs_orch_supervisor_shutdown(rs_orch_supervisor *s)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	size_t n, left = 0;

	/* Poked: the loop may be waiting for a change of the worker table. */
	rs_thread_ask_stop(&s->thr);
	rs_orch_workers_poke(s->w);
	rs_thread_join(&s->thr);
	n = rs_orch_workers_snapshot(s->w, t, RS_ORCH_MAX_WORKERS, NULL);
	for (size_t i = 0; i < n; i++)
		left += rs_orch_worker_alive(&t[i]);
	/* Data outlives processes, and workers outlive the orchestrator. */
	rs_info(NULL, "event=leaving_workers_running n=%zu", left);
}

void
rs_orch_supervisor_destroy(rs_orch_supervisor *s)
{
	if (s == NULL)
		return;
	if (s->thr.started) {
		rs_thread_ask_stop(&s->thr);
		rs_orch_workers_poke(s->w);
		rs_thread_join(&s->thr);
	}
	pthread_mutex_destroy(&s->crash_lock);
	pthread_mutex_destroy(&s->pause_lock);
	pthread_mutex_destroy(&s->sw_lock);
	rs_orch_retirer_destroy(s->retirer);
	free(s);
}
