#include "workers.h"
#include "rideshare.pb-c.h"
#include "rs_err.h"
#include "rs_thread.h"
#include "rs_log.h"
#include "rs_nng.h"
#include "rs_notice.h"
#include "rs_time.h"
#include "rs_worker_info.h"
#include "rs_zk.h"

#include <inttypes.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct dial {
	char url[RS_ORCH_URL_MAX];
	nng_dialer d;
};

/* The master's head notices kept to tell a replica's lag in time. */
#define HEAD_HIST      512
#define HEAD_WINDOW_MS 20
/* Workers send a status every 500 ms (worker/notice.h): three missed. */
#define STATUS_SILENT_MS 1500

struct rs_orch_workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool dirty;
	bool expired;
	bool poked;
	_Atomic bool zk_connected;
	rs_zk *zk;
	char *hosts;
	int session_ms;
	int connect_wait_ms;
	rs_orch_worker tab[RS_ORCH_MAX_WORKERS];
	size_t n;
	char master_id[RS_ORCH_ID_MAX];
	char recovery[512]; /* RS_ZK_RECOVERY's text, "" when absent */
	bool accept_pending; /* operator consent not yet in ZooKeeper */
	_Atomic uint64_t epoch;
	_Atomic uint64_t head;
	/* When the head reached each seq (coalesced per HEAD_WINDOW_MS):
	 * hist[i] = (highest seq in the window, window start). Under lock. */
	struct {
		uint64_t seq;
		int64_t ms;
	} hist[HEAD_HIST];
	size_t hist_n, hist_last;
	/* nng: touched by the supervisor thread only (refresh) */
	nng_socket sub;
	bool sub_open;
	struct dial dials[RS_ORCH_MAX_WORKERS];
	size_t ndials;
	rs_thread status_thr;
};

/* Runs on the ZooKeeper client thread: flag and wake, nothing else. */
static void
on_zk_event(void *arg, enum rs_zk_event ev, const char *path)
{
	rs_orch_workers *w = arg;

	(void) path;
	pthread_mutex_lock(&w->lock);
	switch (ev) {
	case RS_ZK_EXPIRED:
		w->expired = true;
		atomic_store(&w->zk_connected, false);
		break;
	case RS_ZK_DISCONNECTED: atomic_store(&w->zk_connected, false); break;
	case RS_ZK_CONNECTED: atomic_store(&w->zk_connected, true); break;
	default: break;
	}
	w->dirty = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static int
zk_open(rs_orch_workers *w)
{
	int64_t deadline = rs_time_now_ms() + w->connect_wait_ms;
	int rv;

	for (;;) {
		rv = rs_zk_connect(
		    w->hosts, w->session_ms, 2000, on_zk_event, w, &w->zk);
		if (rv == RS_OK)
			break;
		if (rs_time_now_ms() >= deadline) {
			rs_error(NULL, "event=zk_unreachable hosts=%s err=%s",
			    w->hosts, rs_strerror(rv));
			return rv;
		}
		rs_time_sleep_ms(200);
	}
	atomic_store(&w->zk_connected, true);
	if ((rv = rs_zk_ensure_path(w->zk, RS_ZK_WORKERS)) != RS_OK
	    || (rv = rs_zk_ensure_path(w->zk, RS_ZK_PIDS)) != RS_OK) {
		rs_error(
		    NULL, "event=zk_setup_failed err=%s", rs_strerror(rv));
		rs_zk_close(w->zk);
		w->zk = NULL;
		return rv;
	}
	return RS_OK;
}

static rs_orch_worker *
find(rs_orch_workers *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->tab[i].id, id) == 0)
			return &w->tab[i];
	}
	return NULL;
}

static void
raise_epoch(rs_orch_workers *w, uint64_t e)
{
	uint64_t cur = atomic_load(&w->epoch);

	while (e > cur && !atomic_compare_exchange_weak(&w->epoch, &cur, e))
		;
}

/* Records that the head reached seq at now (under lock). */
static void
head_seen(rs_orch_workers *w, uint64_t seq, int64_t now)
{
	if (w->hist_n > 0) {
		size_t l = w->hist_last;
		if (seq <= w->hist[l].seq)
			return;
		if (now - w->hist[l].ms < HEAD_WINDOW_MS) {
			w->hist[l].seq = seq;
			return;
		}
		w->hist_last = (l + 1) % HEAD_HIST;
	}
	w->hist[w->hist_last].seq = seq;
	w->hist[w->hist_last].ms = now;
	if (w->hist_n < HEAD_HIST)
		w->hist_n++;
}

/* When the head first went beyond applied (under lock): the age of the
 * oldest write a replica at applied misses; now when it misses none.
 * Older than the history: its oldest entry (an underestimate). */
static int64_t
head_passed(const rs_orch_workers *w, uint64_t applied, int64_t now)
{
	size_t first = (w->hist_last + HEAD_HIST + 1 - w->hist_n) % HEAD_HIST;

	for (size_t k = 0; k < w->hist_n; k++) {
		size_t i = (first + k) % HEAD_HIST;
		if (w->hist[i].seq > applied)
			return w->hist[i].ms;
	}
	return now;
}

static void *
status_loop(void *arg)
{
	rs_orch_workers *w = arg;
	char line[256];
	rs_notice n;

	while (!rs_thread_stopping(&w->status_thr)) {
		if (rs_nng_recv_str(w->sub, line, sizeof(line), 200) != RS_OK)
			continue;
		switch (rs_notice_parse(line, &n)) {
		case RS_NOTICE_HEAD: {
			uint64_t cur = atomic_load(&w->head);

			while (n.seq > cur
			    && !atomic_compare_exchange_weak(
			        &w->head, &cur, n.seq))
				;
			pthread_mutex_lock(&w->lock);
			head_seen(w, n.seq, rs_time_now_ms());
			pthread_mutex_unlock(&w->lock);
			break;
		}
		case RS_NOTICE_READS: {
			pthread_mutex_lock(&w->lock);
			rs_orch_worker *e = find(w, n.id);
			if (e != NULL)
				e->reads = n.reads;
			pthread_mutex_unlock(&w->lock);
			break;
		}
		case RS_NOTICE_COMMITS: {
			pthread_mutex_lock(&w->lock);
			rs_orch_worker *e = find(w, n.id);
			if (e != NULL)
				e->commits = n.commits;
			pthread_mutex_unlock(&w->lock);
			break;
		}
		case RS_NOTICE_STATUS: {
			pthread_mutex_lock(&w->lock);
			rs_orch_worker *e = find(w, n.id);
			if (e != NULL) {
				int64_t now = rs_time_now_ms();
				e->applied_seq = n.seq;
				e->epoch = n.epoch;
				e->status_ms = now;
				/* Its lag as of this status: the age of the
				 * oldest write it had not applied. */
				e->status_lag_ms
				    = atomic_load(&w->head) > n.seq
				    ? now - head_passed(w, n.seq, now)
				    : 0;
			}
			pthread_mutex_unlock(&w->lock);
			break;
		}
		default: rs_debug(NULL, "event=bad_notice line=\"%s\"", line);
		}
	}
	return NULL;
}

void
rs_orch_workers_destroy(rs_orch_workers *w)
{
	if (w == NULL)
		return;
	rs_thread_stop(&w->status_thr);
	if (w->sub_open)
		nng_close(w->sub);
	if (w->zk != NULL)
		rs_zk_close(w->zk);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->hosts);
	free(w);
}

int
rs_orch_workers_create(const char *zk_hosts, int session_ms,
    int connect_wait_ms, rs_orch_workers **out)
{
	rs_orch_workers *w = calloc(1, sizeof(*w));
	int rv;

	if (w == NULL || (w->hosts = strdup(zk_hosts)) == NULL) {
		free(w);
		return RS_ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->session_ms = session_ms;
	w->connect_wait_ms = connect_wait_ms;
	w->dirty = true;
	if ((rv = zk_open(w)) != RS_OK)
		goto fail;
	if ((rv = rs_nng_sub_open(&w->sub)) != RS_OK)
		goto fail;
	w->sub_open = true;
	if ((rv = rs_thread_start(&w->status_thr, status_loop, w)) != RS_OK)
		goto fail;
	*out = w;
	return RS_OK;
fail:
	rs_orch_workers_destroy(w);
	return rv;
}

/* One znode, decoded. */
struct seen {
	char id[RS_ORCH_ID_MAX];
	int64_t pid;
	int role;
	char url[RS_ORCH_URL_MAX];
	uint64_t applied;
};

static int
read_worker(rs_orch_workers *w, const char *name, struct seen *s)
{
	Rideshare__WorkerInfo *wi = NULL;
	int rv = rs_worker_info_get(w->zk, name, true, &wi);

	if (rv != RS_OK && rv != RS_EPROTO)
		return rv;
	snprintf(s->id, sizeof(s->id), "%s", name);
	if (rv == RS_EPROTO) {
		/* Not written yet or garbage: registered, role unknown. */
		s->pid = 0;
		s->role = RS_ORCH_ROLE_CANDIDATE;
		s->url[0] = '\0';
		s->applied = 0;
		return RS_OK;
	}
	s->pid = wi->pid;
	s->role = (int) wi->role;
	snprintf(s->url, sizeof(s->url), "%s", wi->nng_url ? wi->nng_url : "");
	s->applied = wi->applied_seq;
	rideshare__worker_info__free_unpacked(wi, NULL);
	return RS_OK;
}

static void
merge(rs_orch_workers *w, struct seen *s, int ns, const char *master,
    uint64_t epoch)
{
	int64_t now = rs_time_now_ms();

	for (size_t i = 0; i < w->n; i++)
		w->tab[i].registered = false;
	for (int k = 0; k < ns; k++) {
		rs_orch_worker *e = find(w, s[k].id);

		if (e == NULL) {
			if (w->n == RS_ORCH_MAX_WORKERS)
				continue;
			e = &w->tab[w->n++];
			memset(e, 0, sizeof(*e));
			snprintf(e->id, sizeof(e->id), "%s", s[k].id);
			e->state = RS_ORCH_STARTING;
			rs_info(NULL,
			    "event=worker_foreign id=%s pid=%" PRId64, e->id,
			    s[k].pid);
		}
		if (e->state == RS_ORCH_DEAD && !e->exited && !e->kill_sent) {
			/* Session lost, process alive, registered again with
			 * a new session: not dead after all. */
			e->state = RS_ORCH_STARTING;
			e->dead_ms = 0;
			rs_info(NULL,
			    "event=worker_rejoined id=%s pid=%" PRId64, e->id,
			    s[k].pid);
		}
		if (s[k].pid > 0)
			e->pid = s[k].pid;
		if (e->role != s[k].role)
			rs_info(NULL,
			    "event=worker_role id=%s pid=%" PRId64 " role=%s",
			    e->id, e->pid, rs_orch_role_name(s[k].role));
		e->role = s[k].role;
		/* A worker registers as SLAVE once it caught up: it takes
		 * reads from now on, so it is no longer shown snapshotting or
		 * catching up until the next lag update (GET /api/v1/workers
		 * would announce reads taken by a "snapshotting" slave). */
		if (e->role == RS_ORCH_ROLE_SLAVE
		    && e->lag_state != RS_ORCH_LAG_SERVING
		    && e->lag_state != RS_ORCH_LAG_LAGGING)
			e->lag_state = RS_ORCH_LAG_SERVING;
		snprintf(e->nng_url, sizeof(e->nng_url), "%s", s[k].url);
		if (s[k].applied > e->applied_seq)
			e->applied_seq = s[k].applied;
		e->registered = true;
		e->seen_registered = true;
		if (e->state == RS_ORCH_STARTING
		    && (e->role == RS_ORCH_ROLE_MASTER
		        || e->role == RS_ORCH_ROLE_SLAVE)) {
			e->state = RS_ORCH_RUNNING;
			rs_info(NULL,
			    "event=worker_ready id=%s pid=%" PRId64
			    " role=%s startup_ms=%" PRId64,
			    e->id, e->pid, rs_orch_role_name(e->role),
			    e->spawned_ms ? now - e->spawned_ms : 0);
		}
	}
	for (size_t i = 0; i < w->n; i++) {
		rs_orch_worker *e = &w->tab[i];

		if (!e->registered && e->seen_registered
		    && rs_orch_worker_alive(e)) {
			e->state = RS_ORCH_DEAD;
			e->dead_ms = now;
			rs_warn(NULL,
			    "event=worker_session_gone id=%s pid=%" PRId64,
			    e->id, e->pid);
		}
	}
	/* Forget what is dead and gone from ZooKeeper (and, if ours,
	 * reaped by the spawner). */
	for (size_t i = 0; i < w->n;) {
		rs_orch_worker *e = &w->tab[i];

		if (e->state == RS_ORCH_DEAD && !e->registered
		    && (e->exited || !e->ours)) {
			w->tab[i] = w->tab[--w->n];
			continue;
		}
		i++;
	}
	if (strcmp(w->master_id, master) != 0)
		rs_info(NULL, "event=master_changed from=%s to=%s",
		    w->master_id[0] ? w->master_id : "-",
		    master[0] ? master : "-");
	snprintf(w->master_id, sizeof(w->master_id), "%s", master);
	raise_epoch(w, epoch);
}

/* Keeps one nng dialer per registered worker URL. */
static void
update_dials(rs_orch_workers *w, struct seen *s, int ns)
{
	for (size_t i = 0; i < w->ndials;) {
		bool keep = false;

		for (int k = 0; k < ns; k++)
			keep = keep || strcmp(s[k].url, w->dials[i].url) == 0;
		if (!keep) {
			nng_dialer_close(w->dials[i].d);
			w->dials[i] = w->dials[--w->ndials];
			continue;
		}
		i++;
	}
	for (int k = 0; k < ns; k++) {
		bool have = s[k].url[0] == '\0';
		int rv;

		for (size_t i = 0; i < w->ndials && !have; i++)
			have = strcmp(s[k].url, w->dials[i].url) == 0;
		if (have || w->ndials == RS_ORCH_MAX_WORKERS)
			continue;
		rv = nng_dial(w->sub, s[k].url, &w->dials[w->ndials].d,
		    NNG_FLAG_NONBLOCK);
		if (rv != 0) {
			rs_warn(NULL,
			    "event=nng_dial_failed url=%s err=\"%s\"",
			    s[k].url, nng_strerror(rv));
			continue;
		}
		snprintf(
		    w->dials[w->ndials].url, RS_ORCH_URL_MAX, "%s", s[k].url);
		w->ndials++;
	}
}

static void write_accept(rs_orch_workers *w);

int
rs_orch_workers_refresh(rs_orch_workers *w, bool force)
{
	struct seen s[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX] = "", **names = NULL, *data = NULL;
	int count = 0, ns = 0, rv;
	bool dirty, expired;
	uint64_t epoch = 0;
	size_t len;

	pthread_mutex_lock(&w->lock);
	dirty = w->dirty;
	expired = w->expired;
	w->dirty = false;
	w->expired = false;
	pthread_mutex_unlock(&w->lock);
	if (expired || w->zk == NULL) {
		rs_warn(NULL, "event=zk_session_expired action=reconnect");
		if (w->zk != NULL)
			rs_zk_close(w->zk);
		w->zk = NULL;
		if ((rv = zk_open(w)) != RS_OK)
			goto retry;
		force = true;
	}
	if (!dirty && !force)
		return RS_OK;
	write_accept(w);
	rv = rs_zk_children(w->zk, RS_ZK_WORKERS, true, &names, &count);
	if (rv != RS_OK)
		goto retry;
	for (int i = 0; i < count && ns < RS_ORCH_MAX_WORKERS; i++) {
		rv = read_worker(w, names[i], &s[ns]);
		if (rv == RS_OK)
			ns++;
		else if (rv != RS_ENOTFOUND)
			break;
	}
	rs_zk_free_children(names, count);
	if (rv != RS_OK && rv != RS_ENOTFOUND)
		goto retry;
	rv = rs_zk_get(w->zk, RS_ZK_MASTER, true, &data, &len);
	if (rv == RS_OK) {
		snprintf(master, sizeof(master), "%.*s", (int) len, data);
		free(data);
	} else if (rv == RS_ENOTFOUND) {
		/* A get on a missing node arms no watch: ask for creation. */
		rv = rs_zk_exists(w->zk, RS_ZK_MASTER, true);
		if (rv == RS_OK)
			goto retry; /* appeared meanwhile: read again */
		if (rv != RS_ENOTFOUND)
			goto retry;
	} else {
		goto retry;
	}
	rv = rs_zk_get(w->zk, RS_ZK_EPOCH, true, &data, &len);
	if (rv == RS_OK) {
		epoch = strtoull(data, NULL, 10);
		free(data);
	} else if (rv == RS_ENOTFOUND) {
		(void) rs_zk_exists(w->zk, RS_ZK_EPOCH, true);
	} else {
		goto retry;
	}
	char recovery[sizeof(w->recovery)] = "";
	rv = rs_zk_get(w->zk, RS_ZK_RECOVERY, true, &data, &len);
	if (rv == RS_OK) {
		snprintf(recovery, sizeof(recovery), "%.*s", (int) len, data);
		free(data);
	} else if (rv == RS_ENOTFOUND) {
		if (rs_zk_exists(w->zk, RS_ZK_RECOVERY, true) == RS_OK)
			goto retry;
	} else {
		goto retry;
	}
	pthread_mutex_lock(&w->lock);
	if (strcmp(recovery, w->recovery) != 0) {
		if (recovery[0] != '\0')
			rs_error(NULL, "event=recovery_refusing_writes %s",
			    recovery);
		else if (w->recovery[0] != '\0')
			rs_info(NULL, "event=recovery_unblocked");
	}
	snprintf(w->recovery, sizeof(w->recovery), "%s", recovery);
	merge(w, s, ns, master, epoch);
	pthread_mutex_unlock(&w->lock);
	update_dials(w, s, ns);
	return RS_OK;
retry:
	pthread_mutex_lock(&w->lock);
	w->dirty = true;
	pthread_mutex_unlock(&w->lock);
	return rv == RS_OK ? RS_EAGAIN : rv;
}

void
rs_orch_workers_wait(rs_orch_workers *w, int timeout_ms)
{
	/* w->cond waits by the default clock, CLOCK_REALTIME. */
	struct timespec ts = rs_time_abs_in(CLOCK_REALTIME, timeout_ms);

	pthread_mutex_lock(&w->lock);
	if (!w->dirty && !w->expired && !w->poked)
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	w->poked = false;
	pthread_mutex_unlock(&w->lock);
}

void
rs_orch_workers_poke(rs_orch_workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->poked = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
rs_orch_workers_lag(rs_orch_workers *w, int64_t max_lag_ms, int64_t now)
{
	uint64_t head = atomic_load(&w->head);

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++) {
		rs_orch_worker *e = &w->tab[i];
		bool reader = e->role == RS_ORCH_ROLE_SLAVE
		    || e->role == RS_ORCH_ROLE_CANDIDATE;
		if (!reader || !rs_orch_worker_alive(e) || !e->registered) {
			e->lag_state = RS_ORCH_LAG_NONE;
			e->lag_seqs = 0;
			e->lag_ms = 0;
			continue;
		}
		e->lag_seqs
		    = head > e->applied_seq ? head - e->applied_seq : 0;
		/* As of its last status (500 ms period): computing it now
		 * from that stale applied_seq would read up to a period
		 * high; a slave that stopped reporting is caught below. */
		e->lag_ms = e->status_lag_ms;
		/* A hung slave says nothing: its silence is its lag. */
		int64_t silent = e->status_ms > 0 ? now - e->status_ms : 0;
		if (silent > STATUS_SILENT_MS && silent > e->lag_ms)
			e->lag_ms = silent;
		if (e->role == RS_ORCH_ROLE_CANDIDATE)
			e->lag_state = e->applied_seq == 0 && head > 0
			    ? RS_ORCH_LAG_SNAPSHOTTING
			    : RS_ORCH_LAG_CATCHING_UP;
		else if (e->lag_state != RS_ORCH_LAG_LAGGING)
			e->lag_state = RS_ORCH_LAG_SERVING;
	}
	rs_orch_roster_read_pauses(w->tab, w->n, max_lag_ms);
	pthread_mutex_unlock(&w->lock);
}

void
rs_orch_workers_read_paused(rs_orch_workers *w, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++) {
		if (!w->tab[i].read_paused)
			continue;
		int k = snprintf(buf + used, len - used, "%s%s",
		    used > 0 ? " " : "", w->tab[i].id);
		if (k < 0 || (size_t) k >= len - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t) k;
	}
	pthread_mutex_unlock(&w->lock);
}

bool
rs_orch_workers_resend_target(
    rs_orch_workers *w, const char *hint, char *out, size_t len)
{
	bool ok;

	pthread_mutex_lock(&w->lock);
	ok = rs_orch_roster_resend_target(w->tab, w->n, hint, out, len);
	pthread_mutex_unlock(&w->lock);
	return ok;
}

size_t
rs_orch_workers_snapshot(
    rs_orch_workers *w, rs_orch_worker *out, size_t max, char *master_id)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->n < max ? w->n : max;
	memcpy(out, w->tab, n * sizeof(*out));
	if (master_id != NULL)
		snprintf(master_id, RS_ORCH_ID_MAX, "%s", w->master_id);
	pthread_mutex_unlock(&w->lock);
	return n;
}

int
rs_orch_workers_add(rs_orch_workers *w, const char *id, int64_t pid)
{
	rs_orch_worker *e;
	int rv = RS_OK;

	pthread_mutex_lock(&w->lock);
	e = find(w, id);
	if (e == NULL && w->n < RS_ORCH_MAX_WORKERS) {
		e = &w->tab[w->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->role = RS_ORCH_ROLE_NONE;
	}
	if (e != NULL) {
		e->pid = pid;
		e->ours = true;
		e->state = RS_ORCH_STARTING;
		e->spawned_ms = rs_time_now_ms();
	} else {
		rv = RS_ENOMEM;
	}
	/* Its znode may have been read before we got here. */
	w->dirty = true;
	pthread_mutex_unlock(&w->lock);
	return rv;
}

int
rs_orch_workers_set_state(rs_orch_workers *w, const char *id,
    enum rs_orch_wstate st, enum rs_orch_wstate *prev)
{
	rs_orch_worker *e;

	pthread_mutex_lock(&w->lock);
	e = find(w, id);
	if (e != NULL) {
		if (prev != NULL)
			*prev = e->state;
		e->state = st;
	}
	pthread_mutex_unlock(&w->lock);
	return e != NULL ? RS_OK : RS_ENOTFOUND;
}

int
rs_orch_workers_mark_killed(rs_orch_workers *w, const char *id)
{
	rs_orch_worker *e;

	pthread_mutex_lock(&w->lock);
	e = find(w, id);
	if (e != NULL) {
		e->kill_sent = true;
		e->state = RS_ORCH_DEAD;
	}
	pthread_mutex_unlock(&w->lock);
	return e != NULL ? RS_OK : RS_ENOTFOUND;
}

int
rs_orch_workers_mark_stopping(rs_orch_workers *w, const char *id)
{
	rs_orch_worker *e;

	pthread_mutex_lock(&w->lock);
	e = find(w, id);
	if (e != NULL && e->state != RS_ORCH_DEAD) {
		e->state = RS_ORCH_STOPPING;
		e->stop_ms = rs_time_now_ms();
	}
	pthread_mutex_unlock(&w->lock);
	return e != NULL ? RS_OK : RS_ENOTFOUND;
}

int
rs_orch_workers_exited(rs_orch_workers *w, const char *id, rs_orch_worker *was)
{
	rs_orch_worker *e;

	pthread_mutex_lock(&w->lock);
	e = find(w, id);
	if (e != NULL) {
		if (was != NULL)
			*was = *e;
		e->exited = true;
		e->state = RS_ORCH_DEAD;
		if (!e->registered) {
			*e = w->tab[--w->n];
		}
	}
	pthread_mutex_unlock(&w->lock);
	return e != NULL ? RS_OK : RS_ENOTFOUND;
}

int
rs_orch_workers_forget(rs_orch_workers *w, const char *id)
{
	char path[256], *data = NULL;
	size_t len = 0;
	int rv;

	if (w->zk == NULL)
		return RS_ECLOSED;
	snprintf(path, sizeof(path), RS_ZK_WORKERS "/%s", id);
	rv = rs_zk_delete(w->zk, path);
	if (rv != RS_OK && rv != RS_ENOTFOUND)
		return rv;
	snprintf(path, sizeof(path), RS_ZK_PIDS "/%s", id);
	(void) rs_zk_delete(w->zk, path);
	rv = rs_zk_get(w->zk, RS_ZK_MASTER, false, &data, &len);
	if (rv == RS_ENOTFOUND)
		return RS_OK;
	if (rv != RS_OK)
		return rv;
	if (len == strlen(id) && memcmp(data, id, len) == 0) {
		rv = rs_zk_delete(w->zk, RS_ZK_MASTER);
		if (rv == RS_OK)
			rs_info(NULL,
			    "event=master_released id=%s "
			    "reason=process_gone",
			    id);
	}
	free(data);
	return rv == RS_ENOTFOUND ? RS_OK : rv;
}

int
rs_orch_workers_mark_ours(rs_orch_workers *w, const char *id)
{
	rs_orch_worker *e;

	pthread_mutex_lock(&w->lock);
	e = find(w, id);
	if (e != NULL) {
		e->ours = true;
		/* Deadlines count from the takeover. */
		e->spawned_ms = rs_time_now_ms();
	}
	pthread_mutex_unlock(&w->lock);
	return e != NULL ? RS_OK : RS_ENOTFOUND;
}

bool
rs_orch_workers_recovery_blocked(rs_orch_workers *w, char *why, size_t len)
{
	bool blocked;

	pthread_mutex_lock(&w->lock);
	blocked = w->recovery[0] != '\0';
	if (why != NULL && len > 0)
		snprintf(why, len, "%s", w->recovery);
	pthread_mutex_unlock(&w->lock);
	return blocked;
}

int
rs_orch_workers_accept_loss(rs_orch_workers *w)
{
	int rv = RS_OK;

	pthread_mutex_lock(&w->lock);
	if (w->recovery[0] == '\0') {
		rv = RS_ESTATE;
	} else {
		/* Written by the supervisor thread, the owner of the
		 * session (refresh). */
		w->accept_pending = true;
		w->dirty = true;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	if (rv == RS_OK)
		rs_warn(NULL, "event=recovery_accept_loss_requested");
	return rv;
}

/* Supervisor thread: passes a pending consent on to ZooKeeper. */
static void
write_accept(rs_orch_workers *w)
{
	bool pending;
	int rv;

	pthread_mutex_lock(&w->lock);
	pending = w->accept_pending;
	w->accept_pending = false;
	pthread_mutex_unlock(&w->lock);
	if (!pending)
		return;
	rv = rs_zk_create(
	    w->zk, RS_ZK_RECOVERY_ACCEPT, "accept_loss", 11, false);
	if (rv == RS_EEXIST)
		rv = RS_OK;
	if (rv != RS_OK) {
		rs_error(NULL, "event=recovery_accept_failed err=%s",
		    rs_strerror(rv));
		pthread_mutex_lock(&w->lock);
		w->accept_pending = true;
		pthread_mutex_unlock(&w->lock);
	} else {
		rs_warn(NULL, "event=recovery_accept_written");
	}
}

int
rs_orch_workers_write_maintenance(
    rs_orch_workers *w, bool paused, const char *reason)
{
	int rv;

	if (w->zk == NULL)
		return RS_ECLOSED;
	if (!paused) {
		rv = rs_zk_delete(w->zk, RS_ZK_PAUSED);
		return rv == RS_ENOTFOUND ? RS_OK : rv;
	}
	rv = rs_zk_create(w->zk, RS_ZK_PAUSED, reason, strlen(reason), false);
	if (rv == RS_EEXIST)
		rv = rs_zk_set(w->zk, RS_ZK_PAUSED, reason, strlen(reason));
	return rv;
}

int
rs_orch_workers_write_switchover(rs_orch_workers *w, const char *candidate_id)
{
	int rv;

	if (w->zk == NULL)
		return RS_ECLOSED;
	if (candidate_id == NULL) {
		rv = rs_zk_delete(w->zk, RS_ZK_SWITCHOVER);
		return rv == RS_ENOTFOUND ? RS_OK : rv;
	}
	rv = rs_zk_create(w->zk, RS_ZK_SWITCHOVER, candidate_id,
	    strlen(candidate_id), false);
	if (rv == RS_EEXIST)
		rv = rs_zk_set(w->zk, RS_ZK_SWITCHOVER, candidate_id,
		    strlen(candidate_id));
	return rv;
}

int
rs_orch_workers_read_maintenance(
    rs_orch_workers *w, bool *paused, char *reason, size_t len)
{
	char *data = NULL;
	size_t n = 0;
	int rv;

	if (w->zk == NULL)
		return RS_ECLOSED;
	rv = rs_zk_get(w->zk, RS_ZK_PAUSED, false, &data, &n);
	if (rv == RS_ENOTFOUND) {
		*paused = false;
		return RS_OK;
	}
	if (rv != RS_OK)
		return rv;
	*paused = true;
	if (len > 0)
		snprintf(reason, len, "%.*s", (int) n, data ? data : "");
	free(data);
	return RS_OK;
}

int
rs_orch_workers_publish_pid(void *arg, const char *id, int64_t pid)
{
	rs_orch_workers *w = arg;
	char path[256], val[32];
	int rv;

	if (w->zk == NULL)
		return RS_ECLOSED;
	snprintf(path, sizeof(path), RS_ZK_PIDS "/%s", id);
	snprintf(val, sizeof(val), "%" PRId64, pid);
	rv = rs_zk_create(w->zk, path, val, strlen(val), true);
	if (rv == RS_EEXIST)
		rv = rs_zk_set(w->zk, path, val, strlen(val));
	return rv;
}

int
rs_orch_workers_master_volume(void *arg, char *buf, size_t len)
{
	rs_orch_workers *w = arg;
	char *data = NULL;
	size_t n = 0;
	int rv;

	if (w->zk == NULL)
		return RS_ECLOSED;
	rv = rs_zk_get(w->zk, RS_ZK_MASTER_VOLUME, false, &data, &n);
	if (rv == RS_OK && (n == 0 || n >= len || data == NULL))
		rv = RS_ENOTFOUND;
	if (rv == RS_OK)
		snprintf(buf, len, "%.*s", (int) n, data);
	free(data);
	return rv;
}

uint64_t
rs_orch_workers_epoch(rs_orch_workers *w)
{
	return atomic_load(&w->epoch);
}

uint64_t
rs_orch_workers_head(rs_orch_workers *w)
{
	return atomic_load(&w->head);
}

bool
rs_orch_workers_zk_connected(rs_orch_workers *w)
{
	return w->zk != NULL && atomic_load(&w->zk_connected);
}
