#include "retire.h"

#include "orch_metrics.h"
#include "rs_contract.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_thread.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_time.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COPIES  256
#define MAX_PENDING 64

/* How often the thread looks for work. */
#define PASS_MS 200

struct rs_orch_retirer {
	char *pg_maint;
	char *amqp_url;
	rs_orch_workers *w;
	int period_ms;
	rs_thread thr;
	_Atomic bool allowed;
	pthread_mutex_t lock; /* pending, npending */
	char pending[MAX_PENDING][RS_ORCH_ID_MAX];
	size_t npending;
	int64_t last_scan_ms;
	/* orphans seen so far: name -> first seen */
	rs_orch_copy seen[MAX_COPIES];
	size_t nseen;
};

size_t
rs_orch_retire_plan(const rs_orch_copy *c, size_t n, int64_t now, bool *drop)
{
	bool have_best = false;
	uint64_t be = 0, bs = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].serving)
			continue;
		if (!have_best
		    || rs_copy_cmp(c[i].epoch, c[i].seq, be, bs) > 0) {
			be = c[i].epoch;
			bs = c[i].seq;
			have_best = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		drop[i] = have_best && !c[i].live && !c[i].serving
		    && c[i].orphan_ms > 0
		    && now - c[i].orphan_ms >= RS_ORCH_RETIRE_AFTER_MS
		    && rs_copy_cmp(c[i].epoch, c[i].seq, be, bs) <= 0;
		k += drop[i];
	}
	return k;
}

/* Also rs_orch_retirer_create's unwind: every field is zero until set. */
void
rs_orch_retirer_destroy(rs_orch_retirer *r)
{
	if (r == NULL)
		return;
	rs_thread_stop(&r->thr);
	pthread_mutex_destroy(&r->lock);
	free(r->pg_maint);
	free(r->amqp_url);
	free(r);
}

int
rs_orch_retirer_create(const char *pg_maint, const char *amqp_url,
    rs_orch_workers *w, int period_ms, rs_orch_retirer **out)
{
	rs_orch_retirer *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->w = w;
	r->period_ms = period_ms;
	if ((r->pg_maint = strdup(pg_maint)) == NULL
	    || (r->amqp_url = strdup(amqp_url)) == NULL) {
		rs_orch_retirer_destroy(r);
		return RS_ENOMEM;
	}
	*out = r;
	return RS_OK;
}

void
rs_orch_retirer_worker_gone(rs_orch_retirer *r, const char *id)
{
	pthread_mutex_lock(&r->lock);
	if (r->npending < MAX_PENDING) /* else x-expires retires the rest */
		snprintf(r->pending[r->npending++], RS_ORCH_ID_MAX, "%s", id);
	pthread_mutex_unlock(&r->lock);
}

void
rs_orch_retirer_allow(rs_orch_retirer *r, bool allowed)
{
	atomic_store(&r->allowed, allowed);
}

static void
delete_queues(rs_orch_retirer *r)
{
	char ids[MAX_PENDING][RS_ORCH_ID_MAX];
	size_t n;
	rs_mq *mq;
	int rv;

	pthread_mutex_lock(&r->lock);
	n = r->npending;
	memcpy(ids, r->pending, n * sizeof(ids[0]));
	r->npending = 0;
	pthread_mutex_unlock(&r->lock);
	if (n == 0)
		return;
	if ((rv = rs_mq_connect(r->amqp_url, "orchestrator retire", &mq))
	    != RS_OK) {
		for (size_t i = 0; i < n; i++) /* try again next pass */
			rs_orch_retirer_worker_gone(r, ids[i]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char q[RS_ORCH_ID_MAX + 8];

		snprintf(q, sizeof(q), RS_Q_SYNC_PREFIX "%s", ids[i]);
		rv = rs_mq_delete_queue(mq, q);
		if (rv == RS_OK) {
			rs_metric_add(&rs_orch_m_sync_queues_deleted, 1);
			rs_info(NULL, "event=sync_queue_deleted queue=%s", q);
		} else {
			rs_warn(NULL,
			    "event=sync_queue_delete_failed queue=%s err=%s",
			    q, rs_strerror(rv));
		}
	}
	rs_mq_destroy(mq);
}

/* Which worker (if any) owns dbname, and is it live / serving. */
static void
classify(rs_orch_copy *c, const rs_orch_worker *t, size_t n)
{
	char name[160];

	c->live = c->serving = false;
	for (size_t i = 0; i < n; i++) {
		rs_db_worker_dbname(t[i].id, name, sizeof(name));
		if (strcmp(name, c->dbname) != 0)
			continue;
		bool gone = t[i].state == RS_ORCH_DEAD
		    && (t[i].exited || t[i].kill_sent);
		c->live = !gone;
		c->serving = t[i].registered && t[i].state == RS_ORCH_RUNNING
		    && (t[i].role == RS_ORCH_ROLE_MASTER
		        || t[i].role == RS_ORCH_ROLE_SLAVE);
		return;
	}
}

static int64_t
orphan_since(rs_orch_retirer *r, const char *dbname, int64_t now)
{
	for (size_t i = 0; i < r->nseen; i++) {
		if (strcmp(r->seen[i].dbname, dbname) == 0)
			return r->seen[i].orphan_ms;
	}
	if (r->nseen < MAX_COPIES) {
		snprintf(r->seen[r->nseen].dbname,
		    sizeof(r->seen[r->nseen].dbname), "%s", dbname);
		r->seen[r->nseen++].orphan_ms = now;
	}
	return now;
}

static void
scan(rs_orch_retirer *r, const rs_orch_worker *t, size_t n)
{
	static rs_orch_copy c[MAX_COPIES];
	static bool drop[MAX_COPIES];
	rs_orch_copy keep[MAX_COPIES];
	size_t nc = 0, nkeep = 0, orphans = 0;
	int64_t now = rs_time_now_ms();
	char **names;
	int count;

	if (rs_db_list_worker_databases(r->pg_maint, &names, &count) != RS_OK)
		return;
	for (int i = 0; i < count && nc < MAX_COPIES; i++) {
		rs_orch_copy *e = &c[nc];

		memset(e, 0, sizeof(*e));
		snprintf(e->dbname, sizeof(e->dbname), "%s", names[i]);
		if (rs_db_copy_position(
		        r->pg_maint, names[i], &e->epoch, &e->seq)
		    != RS_OK)
			continue; /* unreadable or empty: never dropped */
		classify(e, t, n);
		if (!e->live) {
			e->orphan_ms = orphan_since(r, e->dbname, now);
			keep[nkeep++] = *e;
			orphans++;
		}
		nc++;
	}
	rs_db_free_names(names, count);
	/* Forget orphans that came back or went away. */
	memcpy(r->seen, keep, nkeep * sizeof(keep[0]));
	r->nseen = nkeep;
	rs_orch_retire_plan(c, nc, now, drop);
	for (size_t i = 0; i < nc; i++) {
		if (!drop[i])
			continue;
		int rv = rs_db_drop_database(r->pg_maint, c[i].dbname);
		if (rv == RS_OK) {
			orphans--;
			rs_metric_add(&rs_orch_m_retired_copies, 1);
			rs_info(NULL,
			    "event=copy_retired db=%s epoch=%" PRIu64
			    " applied_seq=%" PRIu64,
			    c[i].dbname, c[i].epoch, c[i].seq);
		} else {
			rs_warn(NULL, "event=copy_retire_skipped db=%s err=%s",
			    c[i].dbname, rs_strerror(rv));
		}
	}
	rs_metric_set(&rs_orch_m_orphan_copies, (uint64_t) orphans);
}

static void *
run(void *arg)
{
	rs_orch_retirer *r = arg;
	static rs_orch_worker t[RS_ORCH_MAX_WORKERS];

	while (!rs_thread_stopping(&r->thr)) {
		rs_time_sleep_ms(PASS_MS);
		delete_queues(r);
		int64_t now = rs_time_now_ms();
		if (!atomic_load(&r->allowed)
		    || now - r->last_scan_ms < r->period_ms)
			continue;
		r->last_scan_ms = now;
		size_t n = rs_orch_workers_snapshot(
		    r->w, t, RS_ORCH_MAX_WORKERS, NULL);
		scan(r, t, n);
	}
	return NULL;
}

int
rs_orch_retirer_start(rs_orch_retirer *r)
{
	return rs_thread_start(&r->thr, run, r);
}
