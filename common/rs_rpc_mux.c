/* The multiplexed RPC client: callers' threads, one I/O thread, one AMQP
 * connection. See rs_rpc_mux.h.
 *
 * Ownership: a call lives on its caller's stack. It sits in the table (by
 * request_id, until answered, failed or timed out) and, while it waits to
 * be published, in the send queue; both, and every field of a call the
 * I/O thread reads, belong to mu. The I/O thread copies a call's packed
 * body into its own buffer under mu, so a caller may give up, or swap in
 * its resend's body, at any moment. The connection (mq) and that buffer
 * belong to the I/O thread alone.
 *
 * Wake-ups: a call finished by the I/O thread goes on a local list and
 * its caller's semaphore is posted after mu is released, so the woken
 * caller does not at once block on mu (the I/O thread still holding it
 * for the rest of a batch); a caller that times out and finds its call
 * done waits for that post before its stack frame goes. */
#include "rs_rpc_mux.h"

#include "rs_buf.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_op.h"
#include "rs_thread.h"
#include "rs_time.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RECONNECT_WAIT_MS 2000 /* as rs_rpc after a lost connection */
#define BUCKETS           256 /* calls in flight are hashed by request_id */
#define RID_MAX           128 /* longer than any valid request_id */

static _Atomic uint64_t dropped;

uint64_t
rs_rpc_mux_dropped_replies(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}

struct call {
	const char *rid; /* the caller's req->request_id */
	uint8_t *body; /* packed DbRequest (the resend's once prepared) */
	size_t len;
	int losses; /* connections lost since it was published */
	bool queued; /* in the send queue */
	bool done; /* rc (and resp) set; out of table and queue */
	int rc;
	Rideshare__DbResponse *resp;
	sem_t woken; /* posted once by whoever else finishes it */
	struct call *wnext; /* on a to-wake list, after finish() */
	struct call *hprev, *hnext; /* bucket chain, oldest first */
	struct call *qprev, *qnext; /* send queue, oldest first */
};

struct bucket {
	struct call *head, *tail;
};

struct rs_rpc_mux {
	char *url, *queue;
	int connect_wait_ms;
	rs_thread io;
	int efd; /* eventfd: submissions (and stop) wake the I/O thread */

	/* I/O thread only. */
	rs_mq *mq; /* NULL while not connected */
	uint8_t *out; /* the message being published */
	size_t outcap, outlen;
	char out_rid[RID_MAX]; /* its correlation id (a single call) */

	pthread_mutex_t mu;
	struct bucket table[BUCKETS];
	struct call *qhead, *qtail;
	size_t nqueued;
	bool connected; /* a connection is up (timeouts say RS_ETIMEDOUT) */
	bool sleeping; /* the I/O thread is in (or entering) poll */
	bool kicked; /* the eventfd was written since it went to sleep */

	_Atomic uint64_t published, batches, batched_calls;
};

void
rs_rpc_mux_get_stats(rs_rpc_mux *m, rs_rpc_mux_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	out->published = atomic_load(&m->published);
	out->batches = atomic_load(&m->batches);
	out->batched_calls = atomic_load(&m->batched_calls);
}

/* ---- the table and the send queue (mu held) -------------------------- */

static struct bucket *
bucket_of(rs_rpc_mux *m, const char *rid)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *) rid; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &m->table[h % BUCKETS];
}

static void
table_add(rs_rpc_mux *m, struct call *c)
{
	struct bucket *b = bucket_of(m, c->rid);

	c->hnext = NULL;
	c->hprev = b->tail;
	if (b->tail != NULL)
		b->tail->hnext = c;
	else
		b->head = c;
	b->tail = c;
}

static void
table_del(rs_rpc_mux *m, struct call *c)
{
	struct bucket *b = bucket_of(m, c->rid);

	if (c->hprev != NULL)
		c->hprev->hnext = c->hnext;
	else
		b->head = c->hnext;
	if (c->hnext != NULL)
		c->hnext->hprev = c->hprev;
	else
		b->tail = c->hprev;
	c->hprev = c->hnext = NULL;
}

/* The oldest waiting call with request_id rid. Two calls share an id only
 * when two HTTP requests carry the same Idempotency-Key: each gets one of
 * the master's answers. */
static struct call *
table_find(rs_rpc_mux *m, const char *rid)
{
	for (struct call *c = bucket_of(m, rid)->head; c != NULL; c = c->hnext)
		if (strcmp(c->rid, rid) == 0)
			return c;
	return NULL;
}

static void
queue_push(rs_rpc_mux *m, struct call *c)
{
	c->qnext = NULL;
	c->qprev = m->qtail;
	if (m->qtail != NULL)
		m->qtail->qnext = c;
	else
		m->qhead = c;
	m->qtail = c;
	c->queued = true;
	m->nqueued++;
}

static void
queue_del(rs_rpc_mux *m, struct call *c)
{
	if (!c->queued)
		return;
	if (c->qprev != NULL)
		c->qprev->qnext = c->qnext;
	else
		m->qhead = c->qnext;
	if (c->qnext != NULL)
		c->qnext->qprev = c->qprev;
	else
		m->qtail = c->qprev;
	c->qprev = c->qnext = NULL;
	c->queued = false;
	m->nqueued--;
}

/* Ends call c with rc (and resp on RS_OK); mu held. A thread other than
 * c's caller passes *wake: c joins that list, whose callers wake_all()
 * wakes once mu is released. Its caller passes NULL (nobody to wake). */
static void
finish(rs_rpc_mux *m, struct call *c, int rc, Rideshare__DbResponse *resp,
    struct call **wake)
{
	table_del(m, c);
	queue_del(m, c);
	c->done = true;
	c->rc = rc;
	c->resp = resp;
	if (wake != NULL) {
		c->wnext = *wake;
		*wake = c;
	}
}

/* Wakes the callers of the finished calls on list (mu not held). A call's
 * frame may go as soon as its post lands: next is read before. */
static void
wake_all(struct call *list)
{
	while (list != NULL) {
		struct call *next = list->wnext;

		sem_post(&list->woken);
		list = next;
	}
}

/* Queues c for publishing; wakes the I/O thread if it sleeps. */
static void
enqueue(rs_rpc_mux *m, struct call *c)
{
	if (!c->queued)
		queue_push(m, c);
	if (m->sleeping && !m->kicked) {
		uint64_t one = 1;

		m->kicked = true;
		if (write(m->efd, &one, sizeof(one)) < 0)
			rs_warn(
			    NULL, "event=rpc_mux_wake_failed errno=%d", errno);
	}
}

/* Fails every waiting call with rc. */
static void
fail_all(rs_rpc_mux *m, int rc)
{
	struct call *wake = NULL;

	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < BUCKETS; i++)
		while (m->table[i].head != NULL)
			finish(m, m->table[i].head, rc, NULL, &wake);
	pthread_mutex_unlock(&m->mu);
	wake_all(wake);
}

/* The connection died: every call published on it goes into the queue
 * again, once; a call that already lost a connection fails (RS_ECONN). */
static void
conn_lost(rs_rpc_mux *m)
{
	struct call *wake = NULL;

	pthread_mutex_lock(&m->mu);
	m->connected = false;
	for (int i = 0; i < BUCKETS; i++) {
		struct call *next;

		for (struct call *c = m->table[i].head; c != NULL; c = next) {
			next = c->hnext;
			if (c->queued)
				continue;
			if (c->losses++ >= 1)
				finish(m, c, RS_ECONN, NULL, &wake);
			else
				queue_push(m, c);
		}
	}
	pthread_mutex_unlock(&m->mu);
	wake_all(wake);
}

/* ---- the I/O thread's side ------------------------------------------- */

/* Takes what waits in the send queue (up to RS_REQUEST_BATCH_MAX calls,
 * oldest first) into m->out: one call's DbRequest as it is, several as
 * one RequestBatch. Returns how many calls it took (0: none waited). */
static size_t
take_sends(rs_rpc_mux *m)
{
	size_t n, need = 0;
	struct call *c, *wake = NULL;

	pthread_mutex_lock(&m->mu);
	n = m->nqueued < RS_REQUEST_BATCH_MAX ? m->nqueued
	                                      : RS_REQUEST_BATCH_MAX;
	c = m->qhead;
	for (size_t i = 0; i < n; i++, c = c->qnext)
		need += rs_op_batch_entry_size(c->len);
	if (n > 0 && rs_reserve(&m->out, &m->outcap, need) != RS_OK) {
		rs_error(NULL, "event=oom where=rpc_mux_send calls=%zu", n);
		for (size_t i = 0; i < n; i++)
			finish(m, m->qhead, RS_ENOMEM, NULL, &wake);
		n = 0;
	}
	if (n == 1) {
		c = m->qhead;
		memcpy(m->out, c->body, c->len);
		m->outlen = c->len;
		snprintf(m->out_rid, sizeof(m->out_rid), "%s", c->rid);
		queue_del(m, c);
	} else if (n > 1) {
		m->outlen = 0;
		for (size_t i = 0; i < n; i++) {
			c = m->qhead;
			m->outlen += rs_op_put_batch_entry(
			    m->out + m->outlen, c->body, c->len);
			queue_del(m, c);
		}
	}
	pthread_mutex_unlock(&m->mu);
	wake_all(wake);
	return n;
}

/* Publishes what take_sends took (n calls). */
static int
publish(rs_rpc_mux *m, size_t n)
{
	rs_mq_props props = { .reply_to = RS_MQ_DIRECT_REPLY };
	int rc;

	if (n == 1)
		props.correlation_id = m->out_rid;
	else
		props.content_type = RS_CT_REQUEST_BATCH;
	rc = rs_mq_publish(m->mq, "", m->queue, m->out, m->outlen, &props);
	if (rc == RS_OK) {
		atomic_fetch_add(&m->published, 1);
		if (n > 1) {
			atomic_fetch_add(&m->batches, 1);
			atomic_fetch_add(&m->batched_calls, n);
		}
	}
	return rc;
}

/* Gives resp to the call waiting for rid (onto *wake), or drops it. mu
 * held. */
static void
match(rs_rpc_mux *m, const char *rid, Rideshare__DbResponse *resp,
    struct call **wake)
{
	struct call *c = table_find(m, rid);

	if (c != NULL) {
		finish(m, c, RS_OK, resp, wake);
		return;
	}
	atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
	rs_debug(rid, "event=rpc_stale_reply");
	rideshare__db_response__free_unpacked(resp, NULL);
}

/* One reply message: a DbResponse (for the call named by correlation_id,
 * or by its request_id when that is empty) or a ResponseBatch. */
static void
deliver(rs_rpc_mux *m, const char *content_type, const char *correlation_id,
    const void *body, size_t len)
{
	Rideshare__ResponseBatch *b;
	Rideshare__DbResponse *r;
	struct call *wake = NULL;
	const char *why;

	if (strcmp(content_type, RS_CT_RESPONSE_BATCH) == 0) {
		why = rs_op_response_batch_decode(body, len, &b);
		if (why != NULL) {
			/* No call can be named: they time out. */
			rs_error(NULL,
			    "event=rpc_bad_reply queue=%s form=batch "
			    "reason=%s len=%zu",
			    m->queue, why, len);
			return;
		}
		pthread_mutex_lock(&m->mu);
		for (size_t i = 0; i < b->n_responses; i++) {
			r = b->responses[i];
			b->responses[i] = NULL;
			match(m, r->request_id, r, &wake);
		}
		pthread_mutex_unlock(&m->mu);
		wake_all(wake);
		b->n_responses = 0;
		rideshare__response_batch__free_unpacked(b, NULL);
		return;
	}
	r = rideshare__db_response__unpack(NULL, len, body);
	if (correlation_id[0] == '\0' && r != NULL)
		correlation_id = r->request_id;
	pthread_mutex_lock(&m->mu);
	if (r != NULL) {
		match(m, correlation_id, r, &wake);
	} else {
		struct call *c = table_find(m, correlation_id);

		rs_error(
		    correlation_id, "event=rpc_bad_reply queue=%s", m->queue);
		if (c != NULL)
			finish(m, c, RS_EPROTO, NULL, &wake);
	}
	pthread_mutex_unlock(&m->mu);
	wake_all(wake);
}

/* Opens the connection (rs_rpc_connect) and says so to callers: their
 * timeouts from now on are RS_ETIMEDOUT, not RS_ECONN. */
static int
open_conn(rs_rpc_mux *m, int wait_ms)
{
	int rc = rs_rpc_connect(m->url, "rs_rpc_mux", wait_ms, &m->mq);

	if (rc != RS_OK)
		return rc;
	pthread_mutex_lock(&m->mu);
	m->connected = true;
	pthread_mutex_unlock(&m->mu);
	return RS_OK;
}

/* The connection failed: drop it, queue the calls it carried again and
 * reconnect; without a broker every waiting call fails. */
static void
reconnect(rs_rpc_mux *m)
{
	rs_warn(NULL, "event=rpc_reconnect queue=%s", m->queue);
	rs_mq_destroy(m->mq);
	m->mq = NULL;
	conn_lost(m);
	if (open_conn(m, RECONNECT_WAIT_MS) != RS_OK)
		fail_all(m, RS_ECONN);
}

/* Sleeps until a submission, a frame on the socket or the tick. */
static void
wait_events(rs_rpc_mux *m)
{
	struct pollfd p[2] = { { .fd = m->efd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN } };
	int tmo = -1;

	pthread_mutex_lock(&m->mu);
	if (m->nqueued > 0 || rs_thread_stopping(&m->io)) {
		pthread_mutex_unlock(&m->mu);
		return;
	}
	m->sleeping = true;
	pthread_mutex_unlock(&m->mu);
	if (m->mq != NULL) {
		p[1].fd = rs_mq_fd(m->mq);
		/* Buffered frames: poll would not see them; a short wait
		 * keeps a frame librabbitmq holds back from spinning us. */
		tmo = rs_mq_has_buffered(m->mq) ? 1 : RS_RPC_MUX_TICK_MS;
	}
	(void) poll(p, 2, tmo);
	pthread_mutex_lock(&m->mu);
	m->sleeping = false;
	m->kicked = false;
	pthread_mutex_unlock(&m->mu);
	if (p[0].revents & POLLIN) {
		uint64_t v;

		if (read(m->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			rs_warn(
			    NULL, "event=rpc_mux_wake_failed errno=%d", errno);
	}
}

/* One turn: connect if calls wait, publish what waits, else take one
 * reply, else sleep. */
static void
io_turn(rs_rpc_mux *m)
{
	rs_mq_msg msg;
	size_t n;
	int rc;

	if (m->mq == NULL) {
		pthread_mutex_lock(&m->mu);
		n = m->nqueued;
		pthread_mutex_unlock(&m->mu);
		if (n == 0)
			wait_events(m);
		else if (open_conn(m, m->connect_wait_ms) != RS_OK)
			fail_all(m, RS_ECONN);
		return;
	}
	if ((n = take_sends(m)) > 0) {
		if (publish(m, n) != RS_OK)
			reconnect(m);
		return;
	}
	rc = rs_mq_next(m->mq, 0, &msg);
	if (rc == RS_OK) {
		deliver(m, msg.content_type, msg.correlation_id, msg.body,
		    msg.len);
		rs_mq_msg_release(m->mq, &msg);
	} else if (rc == RS_ETIMEDOUT) {
		wait_events(m);
	} else {
		reconnect(m);
	}
}

static void *
io_main(void *arg)
{
	rs_rpc_mux *m = arg;
	int rc = open_conn(m, m->connect_wait_ms);

	if (rc != RS_OK)
		rs_warn(NULL, "event=rpc_connect_failed queue=%s err=%s",
		    m->queue, rs_strerror(rc));
	while (!rs_thread_stopping(&m->io))
		io_turn(m);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------- */

/* Also the one unwind of a half-made client; the thread is stopped
 * before anything it uses goes. */
void
rs_rpc_mux_destroy(rs_rpc_mux *m)
{
	uint64_t one = 1;

	if (m == NULL)
		return;
	rs_thread_ask_stop(&m->io);
	if (m->efd >= 0 && write(m->efd, &one, sizeof(one)) < 0)
		rs_warn(NULL, "event=rpc_mux_wake_failed errno=%d", errno);
	rs_thread_join(&m->io);
	fail_all(m, RS_ECONN);
	rs_mq_destroy(m->mq);
	if (m->efd >= 0)
		close(m->efd);
	pthread_mutex_destroy(&m->mu);
	free(m->out);
	free(m->url);
	free(m->queue);
	free(m);
}

/* Everything but the I/O thread (the unit test drives that side). */
static int
mux_alloc(const char *amqp_url, const char *target_queue, int connect_wait_ms,
    rs_rpc_mux **out)
{
	rs_rpc_mux *m;

	if (amqp_url == NULL || target_queue == NULL || *target_queue == '\0')
		return RS_EINVAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return RS_ENOMEM;
	m->efd = -1;
	pthread_mutex_init(&m->mu, NULL);
	m->connect_wait_ms = connect_wait_ms;
	if ((m->url = strdup(amqp_url)) == NULL
	    || (m->queue = strdup(target_queue)) == NULL
	    || (m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rs_rpc_mux_destroy(m);
		return RS_ENOMEM;
	}
	*out = m;
	return RS_OK;
}

int
rs_rpc_mux_create(const char *amqp_url, const char *target_queue,
    int connect_wait_ms, rs_rpc_mux **out)
{
	rs_rpc_mux *m;
	int rc = mux_alloc(amqp_url, target_queue, connect_wait_ms, &m);

	if (rc != RS_OK)
		return rc;
	if ((rc = rs_thread_start(&m->io, io_main, m)) != RS_OK) {
		rs_rpc_mux_destroy(m);
		return rc;
	}
	*out = m;
	return RS_OK;
}

/* ---- the callers' side ----------------------------------------------- */

static int
pack_req(const Rideshare__DbRequest *req, uint8_t **body, size_t *len)
{
	size_t n = rideshare__db_request__get_packed_size(req);
	uint8_t *b = malloc(n > 0 ? n : 1);

	if (b == NULL)
		return RS_ENOMEM;
	rideshare__db_request__pack(req, b);
	*body = b;
	*len = n;
	return RS_OK;
}

/* The resend of call c, due now (mu held on entry and return): asks
 * rs->prepare on this thread (without mu; the I/O thread never reads
 * req, only c's packed body), then queues the new body unless an answer
 * came meanwhile. *resend_at: when to ask again, or -1. */
static void
resend_due(rs_rpc_mux *m, struct call *c, Rideshare__DbRequest *req,
    rs_rpc_resend *rs, int64_t deadline, int64_t *resend_at)
{
	uint8_t *body = NULL, *old;
	size_t len = 0;
	bool go;
	int rc = RS_OK;

	*resend_at = -1;
	pthread_mutex_unlock(&m->mu);
	go = rs->prepare == NULL || rs->prepare(req, rs->arg);
	if (go)
		rc = pack_req(req, &body, &len);
	pthread_mutex_lock(&m->mu);
	if (!go) {
		/* Not yet: ask again, while it is worth it. */
		int64_t next = rs_time_deadline(rs->after_ms);

		if (deadline < 0 || next < deadline)
			*resend_at = next;
		return;
	}
	if (rc != RS_OK)
		return; /* out of memory: the first send may still do */
	if (c->done) {
		free(body);
		return;
	}
	old = c->body;
	c->body = body;
	c->len = len;
	free(old);
	enqueue(m, c);
	rs->sent = true;
}

/* Sleeps on c's semaphore until it is posted or the next due time (the
 * resend, else the deadline), then does what is due. Returns whether c is
 * over (c.rc set); on return its semaphore has nobody left to post it. */
static bool
wait_turn(rs_rpc_mux *m, struct call *c, Rideshare__DbRequest *req,
    rs_rpc_resend *rs, int64_t deadline, int64_t *resend_at)
{
	int64_t until = *resend_at >= 0 ? *resend_at : deadline, now;
	bool over = false, posted = false;
	int rc;

	if (until < 0) {
		rc = sem_wait(&c->woken);
	} else {
		int64_t left = until - rs_time_now_ms();
		struct timespec ts
		    = rs_time_abs_in(CLOCK_MONOTONIC, left > 0 ? left : 0);

		rc = sem_clockwait(&c->woken, CLOCK_MONOTONIC, &ts);
	}
	if (rc == 0)
		return true; /* finished and posted by another thread */
	if (errno == EINTR)
		return false;
	pthread_mutex_lock(&m->mu);
	now = rs_time_now_ms();
	if (c->done) {
		posted = true; /* finished meanwhile: its post is coming */
	} else if (deadline >= 0 && now >= deadline) {
		/* No connection: the broker is unreachable (503), as
		 * rs_rpc's failed connect says. */
		finish(
		    m, c, m->connected ? RS_ETIMEDOUT : RS_ECONN, NULL, NULL);
		over = true;
	} else if (*resend_at >= 0 && now >= *resend_at) {
		resend_due(m, c, req, rs, deadline, resend_at);
		posted = c->done;
	}
	pthread_mutex_unlock(&m->mu);
	if (posted) {
		while (sem_wait(&c->woken) != 0)
			; /* EINTR only: the post is certain */
		over = true;
	}
	return over;
}

/* Both calls; rs == NULL: no resend (nothing then edits req). */
static int
mux_call(rs_rpc_mux *m, Rideshare__DbRequest *req, int timeout_ms,
    rs_rpc_resend *rs, Rideshare__DbResponse **resp)
{
	struct call c = { 0 };
	int64_t deadline = rs_time_deadline(timeout_ms), resend_at = -1;
	int rc;

	if (m == NULL || req == NULL || resp == NULL || req->request_id == NULL
	    || *req->request_id == '\0')
		return RS_EINVAL;
	if ((rc = pack_req(req, &c.body, &c.len)) != RS_OK)
		return rc;
	c.rid = req->request_id;
	if (rs != NULL) {
		rs->sent = false;
		if (rs->after_ms > 0
		    && (timeout_ms < 0 || rs->after_ms < timeout_ms))
			resend_at = rs_time_deadline(rs->after_ms);
	}
	sem_init(&c.woken, 0, 0);
	pthread_mutex_lock(&m->mu);
	table_add(m, &c);
	enqueue(m, &c);
	pthread_mutex_unlock(&m->mu);
	while (!wait_turn(m, &c, req, rs, deadline, &resend_at))
		;
	sem_destroy(&c.woken);
	free(c.body);
	if (c.rc == RS_OK)
		*resp = c.resp;
	return c.rc;
}

int
rs_rpc_mux_call(rs_rpc_mux *m, const Rideshare__DbRequest *req, int timeout_ms,
    Rideshare__DbResponse **resp)
{
	/* Without a resend nothing edits req. */
	return mux_call(
	    m, (Rideshare__DbRequest *) req, timeout_ms, NULL, resp);
}

int
rs_rpc_mux_call_resend(rs_rpc_mux *m, Rideshare__DbRequest *req,
    int timeout_ms, rs_rpc_resend *rs, Rideshare__DbResponse **resp)
{
	return mux_call(m, req, timeout_ms, rs, resp);
}
