/* The master loop (docs/replication.md): consume writeQ, group-commit a
 * batch in ONE transaction (dedupe by request_id, apply, seq+1, record),
 * then publish the SyncEvents with publisher confirms on a connection of
 * their own, send the nng head notice, ack, and reply on responseQ. Nothing
 * is acked or answered before its commit and its confirm. */
#include "worker.h"

#include "recovery.h"

#include "election.h"

#include "arena.h"
#include "ops.h"
#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_op.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX          128
#define CONFIRM_TIMEOUT_MS 10000
/* A batch's new writes always fit in one SyncEventBatch. */
_Static_assert(BATCH_MAX <= RS_SYNC_BATCH_MAX, "sync batch too small");
/* A group is taken while there is room for one more delivery of any size
 * (run), so the writes of a WriteBatch never straddle two groups. */
_Static_assert(
    2 * RS_WRITE_BATCH_MAX <= BATCH_MAX, "write batch too big for a group");

typedef struct item {
	/* The delivery it came in (the writes of one WriteBatch share it,
	 * consecutive items); 0 once given back (give_back). */
	uint64_t tag;
	Rideshare__DbRequest *req;
	Rideshare__DbResponse *resp; /* what to answer */
	Rideshare__DbResponse *stored; /* dedupe hit, unpacked (freed) */
	uint64_t seq; /* 0: not applied (no SyncEvent) */
	bool fresh; /* applied by this batch (not a dedupe hit) */
	/* Applied as a pipelined statement not sent yet (flush_deferred):
	 * its reply is not final and its rows are not recorded yet. */
	bool deferred;
	char seq_buf[24]; /* the deferred statement's seq parameter */
} item;

typedef struct master {
	rs_worker *w;
	rs_mq *mq; /* consumes writeQ, acks, replies */
	rs_mq *cmq; /* confirm mode: SyncEvents only */
	item items[BATCH_MAX];
	int n;
	rs_worker_arena arena;
	int64_t history_ms; /* last raise of the history mark */
	/* Items [unconfirmed_from, n) are committed but their SyncEvents
	 * were not confirmed (broker lost): republished on the next
	 * connection before any new write, or the slaves would see a hole
	 * in the seqs (the broker may have lost the requests too, so a
	 * redelivery cannot be counted on). */
	bool unconfirmed;
	int unconfirmed_from;
	long changes_keep; /* RIDESHARE_CHANGES_KEEP */
	rs_worker_tail tail; /* the batch's bookkeeping rows (commit_batch) */
	/* Deferred writes (rs_worker_op_defer) waiting to go out in one
	 * pipeline: their statements and item indexes, in batch order. */
	rs_worker_db_stmt pend[BATCH_MAX];
	int pend_item[BATCH_MAX];
	int npend;
	/* Group-commit step totals for the "commits" notice (where a
	 * durable write's time goes); tail_us: the last commit_batch's
	 * bookkeeping rows + COMMIT. */
	rs_notice_commits commits;
	int64_t tail_us;
	/* The fencing read sent alongside the batch's COMMIT (commit_batch),
	 * judged once the COMMIT is done (fence). */
	rs_worker_fence fence;
} master;

static void
items_free(master *m)
{
	for (int i = 0; i < m->n; i++) {
		if (m->items[i].req != NULL)
			rideshare__db_request__free_unpacked(
			    m->items[i].req, NULL);
		if (m->items[i].stored != NULL)
			rideshare__db_response__free_unpacked(
			    m->items[i].stored, NULL);
	}
	memset(m->items, 0, sizeof(m->items[0]) * (size_t) m->n);
	m->n = 0;
	rs_worker_arena_fini(&m->arena);
}

static void
disconnect(master *m)
{
	rs_mq_destroy(m->mq);
	rs_mq_destroy(m->cmq);
	m->mq = m->cmq = NULL;
}

static int
connect_mq(master *m)
{
	int rc;

	disconnect(m);
	if ((rc = rs_worker_mq_open(m->w, RS_ROLE_MASTER, false, &m->mq))
	    != RS_OK)
		return rc;
	if ((rc = rs_worker_mq_open(m->w, "master-confirm", false, &m->cmq))
	        != RS_OK
	    || (rc = rs_mq_confirm_select(m->cmq)) != RS_OK
	    || (rc = rs_mq_qos(m->mq, BATCH_MAX)) != RS_OK
	    || (rc = rs_mq_consume(m->mq, RS_Q_WRITE, false, NULL)) != RS_OK) {
		disconnect(m);
		return rc;
	}
	rs_info(
	    NULL, "event=consuming queue=writeQ epoch=%" PRIu64, m->w->epoch);
	return RS_OK;
}

static void
add_item(master *m, uint64_t tag, Rideshare__DbRequest *req)
{
	item *it = &m->items[m->n++];
	memset(it, 0, sizeof(*it));
	it->tag = tag;
	it->req = req;
}

/* Decodes one delivery into the batch, or dead-letters it: a DbRequest,
 * or a WriteBatch (RS_CT_WRITE_BATCH, docs/replication.md "Write
 * batches"), whose writes become consecutive items of the same delivery
 * tag, in order, handled exactly as if each had come alone. A batch that
 * does not check out (rs_op_write_batch_decode) goes whole. */
static void
take(master *m, const rs_mq_msg *msg)
{
	Rideshare__DbRequest *req = NULL;
	Rideshare__WriteBatch *b = NULL;
	bool batch = strcmp(msg->content_type, RS_CT_WRITE_BATCH) == 0;
	const char *why = batch
	    ? rs_op_write_batch_decode(msg->body, msg->len, &b)
	    : rs_op_request_decode(msg->body, msg->len, &req);

	if (why != NULL) {
		rs_warn(NULL,
		    "event=bad_message queue=writeQ reason=%s "
		    "len=%zu batch=%d",
		    why, msg->len, batch);
		(void) rs_mq_reject(m->mq, msg->delivery_tag, false);
		return;
	}
	if (!batch) {
		add_item(m, msg->delivery_tag, req);
		return;
	}
	for (size_t i = 0; i < b->n_writes; i++) {
		add_item(m, msg->delivery_tag, b->writes[i]);
		b->writes[i] = NULL;
	}
	b->n_writes = 0;
	rideshare__write_batch__free_unpacked(b, NULL);
}

/* The delivery tag to acknowledge (multiple) once items [from, from+n)
 * are answered: the last item's, unless the next item of the group came
 * in the same delivery (a WriteBatch that process split to find a failing
 * write), then the last one before that delivery; 0: none. A delivery is
 * so acknowledged only when all its writes are answered. */
static uint64_t
settled_tag(const master *m, int from, int n)
{
	int last = from + n - 1;
	uint64_t tag = m->items[last].tag;

	if (last + 1 >= m->n || m->items[last + 1].tag != tag)
		return tag;
	for (int i = last - 1; i >= from; i--)
		if (m->items[i].tag != tag)
			return m->items[i].tag;
	return 0;
}

/* Requeues the deliveries of items [from, m->n), each once (the writes of
 * a WriteBatch share one), and marks them given back (tag 0): nothing of
 * them is answered or acknowledged here any more. The answered writes of
 * a batch given back are answered again as duplicates. */
static void
give_back(master *m, int from)
{
	uint64_t last = 0;

	for (int i = from; i < m->n; i++) {
		if (m->items[i].tag != last && m->items[i].tag != 0) {
			last = m->items[i].tag;
			(void) rs_mq_reject(m->mq, last, true);
		}
		m->items[i].tag = 0;
	}
}

static Rideshare__DbResponse *
status_resp(master *m, const Rideshare__DbRequest *req, Rideshare__Status st,
    const char *why)
{
	Rideshare__DbResponse *r
	    = rs_worker_arena_alloc(&m->arena, sizeof(*r));
	if (r == NULL)
		return NULL;
	rideshare__db_response__init(r);
	r->request_id = req->request_id;
	r->status = st;
	r->error = (char *) why;
	return r;
}

/* A retry with the same request_id is the same operation unless both
 * carry fingerprints (Idempotency-Key writes) that differ. */
static bool
same_fingerprint(
    const Rideshare__DbRequest *req, const Rideshare__DbResponse *stored)
{
	const char *a = req->fingerprint, *b = stored->fingerprint;

	if (a == NULL || a[0] == '\0' || b == NULL || b[0] == '\0')
		return true;
	return strcmp(a, b) == 0;
}

/* The newest earlier item of [from, i) with the same request_id that
 * applied or answered it (seq != 0): a retry that landed in the same
 * batch as its original, whose bookkeeping is not in the database yet. */
static const item *
earlier_same(const master *m, int from, int i)
{
	const char *rid = m->items[i].req->request_id;

	for (int j = i - 1; j >= from; j--)
		if (m->items[j].seq != 0
		    && strcmp(m->items[j].req->request_id, rid) == 0)
			return &m->items[j];
	return NULL;
}

/* BEGIN and the dedupe lookups of items [from, from+n), all in one round
 * trip: it->stored and it->seq for the ones applied before this batch. */
static int
lookup_batch(master *m, int from, int n)
{
	const char *ids[BATCH_MAX] = { 0 };
	uint64_t seqs[BATCH_MAX];
	Rideshare__DbResponse *resps[BATCH_MAX];

	for (int i = 0; i < n; i++) {
		const Rideshare__DbRequest *req = m->items[from + i].req;
		ids[i] = rs_op_is_write(req->op_case) ? req->request_id : NULL;
	}
	int rc
	    = rs_worker_store_lookup_many(m->w->db, true, n, ids, seqs, resps);
	for (int i = 0; i < n && rc == RS_OK; i++) {
		m->items[from + i].stored = resps[i];
		m->items[from + i].seq = resps[i] != NULL ? seqs[i] : 0;
	}
	return rc;
}

/* The bookkeeping rows of an applied write, once its reply is final. */
static int
record(master *m, item *it)
{
	int rc = rs_worker_tail_record(
	    &m->tail, it->req->request_id, it->seq, it->resp);

	if (rc != RS_OK)
		return rc;
	/* As the SyncEvent will carry it (publish_events). */
	rs_op_drop_unknown(&it->req->base);
	return rs_worker_tail_change(&m->tail, m->w->epoch, it->seq, it->req,
	    it->resp, m->changes_keep);
}

/* Sends the deferred statements in one round trip, completes their
 * replies and records their rows (in batch order: every write before a
 * non-deferred one is flushed first, so rows keep the order of seqs). */
static int
flush_deferred(master *m)
{
	int n = m->npend, rc;

	if (n == 0)
		return RS_OK;
	m->npend = 0;
	rc = rs_worker_db_pipeline(m->w->db, m->pend, n);
	for (int k = 0; k < n; k++) {
		item *it = &m->items[m->pend_item[k]];
		if (rc == RS_OK)
			rs_worker_op_deferred_done(
			    it->req, m->pend[k].res, it->resp);
		PQclear(m->pend[k].res);
		m->pend[k].res = NULL;
		it->deferred = false;
		if (rc == RS_OK)
			rc = record(m, it);
	}
	return rc;
}

/* Applies item it as write seq: pipelined (deferred) when its op allows,
 * else at once. */
static int
apply(master *m, int i, uint64_t seq)
{
	item *it = &m->items[i];
	const Rideshare__DbRequest *req = it->req;
	int rc;

	if (rs_worker_op_defer(req, seq, it->seq_buf, &m->arena,
	        &m->pend[m->npend], &it->resp)) {
		it->deferred = true;
		m->pend_item[m->npend++] = i;
	} else {
		/* It may read what the deferred ones write. */
		if ((rc = flush_deferred(m)) != RS_OK)
			return rc;
		rc = rs_worker_op_write(m->w->db, &m->w->meta.next_ride_id,
		    req, seq, NULL, &m->arena, &it->resp);
		if (rc != RS_OK)
			return rc;
	}
	it->resp->seq = seq;
	/* Kept with the stored reply (and so on every slave) to
	 * recognize a reused key after a failover too. */
	if (req->fingerprint != NULL && req->fingerprint[0] != '\0')
		it->resp->fingerprint = req->fingerprint;
	it->seq = seq;
	return it->deferred ? RS_OK : record(m, it);
}

/* Applies items [from, from+n) in one transaction: the dedupe lookups in
 * one round trip, each write's statements, then its applied_requests and
 * changes rows with the meta row and the COMMIT in one more (m->tail). On
 * failure everything of the batch is undone (database and w->meta). */
static int
commit_batch(master *m, int from, int n)
{
	rs_worker *w = m->w;
	rs_worker_meta before = w->meta;
	int rc;

	if ((rc = lookup_batch(m, from, n)) != RS_OK)
		goto fail;
	for (int i = from; i < from + n; i++) {
		item *it = &m->items[i];
		const Rideshare__DbRequest *req = it->req;

		if (!rs_op_is_write(req->op_case)) {
			it->resp = status_resp(
			    m, req, RIDESHARE__STATUS__INVALID, "not a write");
			if (it->resp == NULL) {
				rc = RS_ENOMEM;
				goto fail;
			}
			continue;
		}
		uint64_t seq = it->seq;
		Rideshare__DbResponse *prev = it->stored;
		const item *same = earlier_same(m, from, i);
		if (same != NULL && same->deferred
		    && (rc = flush_deferred(m)) != RS_OK)
			goto fail;
		if (same != NULL) {
			prev = same->resp;
			seq = same->seq;
		}
		it->seq = 0;
		if (prev != NULL && !same_fingerprint(req, prev)) {
			/* An Idempotency-Key reused for another operation:
			 * nothing changes, nothing is replicated. */
			it->resp
			    = status_resp(m, req, RIDESHARE__STATUS__MISMATCH,
			        "Idempotency-Key already used for a different "
			        "request");
			if (it->resp == NULL) {
				rc = RS_ENOMEM;
				goto fail;
			}
			rs_warn(req->request_id,
			    "event=idempotency_mismatch op=%s seq=%" PRIu64,
			    rs_op_name(req->op_case), seq);
			continue;
		}
		if (prev != NULL) {
			it->resp = prev;
			it->seq = seq;
			rs_info(req->request_id,
			    "event=duplicate_write op=%s "
			    "seq=%" PRIu64,
			    rs_op_name(req->op_case), seq);
			continue;
		}
		seq = w->meta.applied_seq + 1;
		if ((rc = apply(m, i, seq)) != RS_OK)
			goto fail;
		it->fresh = true;
		w->meta.applied_seq = seq;
	}
	if ((rc = flush_deferred(m)) != RS_OK)
		goto fail;
	w->meta.epoch = w->epoch;
	int64_t t0 = rs_time_now_us();
	/* Its round trip overlaps the WAL sync (fence, after the COMMIT). */
	rs_worker_zk_fence_start(w, &m->fence);
	rc = rs_worker_tail_commit(w->db, &m->tail, &w->meta);
	m->tail_us = rs_time_now_us() - t0;
	if (rc != RS_OK) {
		rs_worker_zk_fence_drop(w, &m->fence);
		goto fail;
	}
	return RS_OK;
fail:
	for (int k = 0; k < m->npend; k++)
		m->items[m->pend_item[k]].deferred = false;
	m->npend = 0;
	rs_worker_tail_reset(&m->tail);
	rs_worker_store_rollback(w->db);
	w->meta = before;
	for (int i = from; i < from + n; i++) {
		item *it = &m->items[i];
		if (it->stored != NULL)
			rideshare__db_response__free_unpacked(
			    it->stored, NULL);
		it->stored = NULL;
		it->resp = NULL;
		it->seq = 0;
		it->fresh = false;
	}
	return rc;
}

/* Publishes m (a SyncEvent or SyncEventBatch) to syncX, persistent, on
 * the confirm channel; content_type NULL for the single form. */
static int
publish_sync(master *m, const ProtobufCMessage *msg, const char *content_type,
    const char *correlation_id)
{
	rs_mq_props props = { .persistent = true,
		.content_type = content_type,
		.correlation_id = correlation_id };

	return rs_mq_publish_pb(m->cmq, RS_X_SYNC, "", msg, &props);
}

/* The SyncEvent of an applied item (epoch of this term). */
static void
item_event(master *m, item *it, Rideshare__SyncEvent *ev)
{
	rideshare__sync_event__init(ev);
	ev->epoch = m->w->epoch;
	ev->seq = it->seq;
	ev->request = it->req;
	ev->result = it->resp;
	/* Unknown fields stay behind (rs_op_drop_unknown): every slave must
	 * be able to decode the event. */
	rs_op_drop_unknown(&it->req->base);
}

/* The SyncEvents of items [from, from+n), then one wait for all their
 * confirms. The batch's new writes (consecutive seqs) go as ONE message:
 * a SyncEventBatch when there are several (docs/replication.md "Sync
 * stream format"). A dedupe hit of an earlier batch is sent again on its
 * own, as before, ahead of them (its seq is lower; a slave that has it
 * skips it); one of a write of this batch is already in the batch. */
static int
publish_events(master *m, int from, int n)
{
	Rideshare__SyncEvent evs[BATCH_MAX];
	Rideshare__SyncEvent *evp[BATCH_MAX];
	int nfresh = 0, rc = RS_OK;
	uint64_t first = 0;

	for (int i = from; i < from + n; i++)
		if (m->items[i].fresh) {
			first = m->items[i].seq;
			break;
		}
	for (int i = from; i < from + n && rc == RS_OK; i++) {
		item *it = &m->items[i];
		if (it->seq == 0)
			continue;
		if (it->fresh) {
			item_event(m, it, &evs[nfresh]);
			evp[nfresh] = &evs[nfresh];
			nfresh++;
			continue;
		}
		if (first != 0 && it->seq >= first)
			continue; /* a retry of a write of this batch */
		Rideshare__SyncEvent ev;
		item_event(m, it, &ev);
		rc = publish_sync(m, &ev.base, NULL, it->req->request_id);
	}
	if (rc == RS_OK && nfresh == 1)
		rc = publish_sync(
		    m, &evs[0].base, NULL, evs[0].request->request_id);
	if (rc == RS_OK && nfresh > 1) {
		Rideshare__SyncEventBatch b
		    = RIDESHARE__SYNC_EVENT_BATCH__INIT;
		b.n_events = (size_t) nfresh;
		b.events = evp;
		rc = publish_sync(
		    m, &b.base, RS_CT_SYNC_BATCH, evs[0].request->request_id);
	}
	if (rc == RS_OK)
		rc = rs_mq_wait_confirms(m->cmq, CONFIRM_TIMEOUT_MS);
	if (rc != RS_OK && rc != RS_ENOMEM)
		rs_error(
		    NULL, "event=sync_publish_failed err=%s", rs_strerror(rc));
	return rc;
}

/* it's reply as it goes on responseQ: a shallow copy stamped with the
 * term, this worker and the caller's address. A copy, because a retry in
 * the same batch shares its original's reply (earlier_same) and both may
 * go out in one ResponseBatch with different addresses. */
static void
stamp(const master *m, const item *it, Rideshare__DbResponse *out)
{
	*out = *it->resp;
	out->epoch = m->w->epoch;
	out->worker_id = m->w->id;
	out->reply_to = it->req->reply_to;
	rs_debug(out->request_id,
	    "event=write_done op=%s status=%s seq=%" PRIu64,
	    rs_op_name(it->req->op_case), rs_status_name(out->status),
	    it->seq);
}

/* Publishes the n stamped replies on responseQ as one message
 * (rs_op_pack_replies: a plain DbResponse when n == 1, else a
 * ResponseBatch) whose entries keep their own reply_to, epoch and seq; the
 * orchestrator checks and forwards each. */
static int
publish_replies(master *m, Rideshare__DbResponse **r, size_t n)
{
	rs_op_reply_msg msg;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = rs_op_pack_replies(r, n, &buf, &cap, &msg);

	if (rc != RS_OK)
		return rc;
	rs_mq_props props = { .correlation_id = msg.correlation_id,
		.content_type = msg.content_type };
	rc = rs_mq_publish(m->mq, "", RS_Q_RESPONSE, buf, msg.len, &props);
	free(buf);
	return rc;
}

/* Acks items [from, from+n) and answers them on responseQ, in messages of
 * up to RS_RESPONSE_BATCH_MAX replies (docs/replication.md "Request and
 * response batches"): one publish and one ack per batch instead of one of
 * each per write. The ack is a basic.ack(multiple) of settled_tag (the
 * last item's delivery, unless more writes of it are still to come): every
 * earlier delivery of this channel is settled by then (bad ones rejected
 * in take, earlier items answered or requeued in order by process, and a
 * new channel starts new tags). */
static int
reply(master *m, int from, int n)
{
	Rideshare__DbResponse copies[RS_RESPONSE_BATCH_MAX];
	Rideshare__DbResponse *ptrs[RS_RESPONSE_BATCH_MAX];
	uint64_t tag = settled_tag(m, from, n);
	int rc = tag != 0 ? rs_mq_ack(m->mq, tag, true) : RS_OK;

	for (int i = from; i < from + n && rc == RS_OK;) {
		size_t k = 0;
		for (; i < from + n && k < RS_RESPONSE_BATCH_MAX; i++, k++) {
			stamp(m, &m->items[i], &copies[k]);
			ptrs[k] = &copies[k];
		}
		rc = publish_replies(m, ptrs, k);
	}
	return rc;
}

static void
fault_hook(master *m, int from, int n)
{
	rs_worker *w = m->w;
	uint64_t before = w->writes;

	for (int i = from; i < from + n; i++)
		if (rs_op_is_write(m->items[i].req->op_case))
			w->writes++;
	if (w->crash_epoch != 0 && w->crash_epoch != w->epoch)
		return;
	if (w->crash_after <= 0 || before >= (uint64_t) w->crash_after
	    || w->writes < (uint64_t) w->crash_after)
		return;
	if (w->stop_not_crash) {
		rs_warn(NULL,
		    "event=fault_stop_after_commit writes=%" PRIu64
		    " applied_seq=%" PRIu64 " pid=%" PRId64,
		    w->writes, w->meta.applied_seq, w->pid);
		/* Paused once the fencing read's answer is in (~1 ms), as a
		 * master stalled in a long COMMIT would be: that answer must
		 * not vouch for it on waking (docs/failover.md "Fencing"). */
		rs_time_sleep_ms(100);
		(void) raise(SIGSTOP);
		return;
	}
	rs_warn(NULL,
	    "event=fault_crash_after_commit writes=%" PRIu64
	    " applied_seq=%" PRIu64,
	    w->writes, w->meta.applied_seq);
	_exit(137);
}

/* A ZooKeeper hiccup (connection loss within the session) is waited out;
 * rs_worker_alive() gives up once it lasts a session timeout. Fenced
 * (session gone, or another master): RS_ECLOSED, and nothing more of this
 * master may reach the slaves or the callers (a new master takes the
 * writes from writeQ). */
static int
fence_verdict(rs_worker *w, int rc)
{
	while (rc == RS_ECONN && rs_worker_alive(w))
		if ((rc = rs_worker_zk_still_master(w)) == RS_ECONN)
			rs_time_sleep_ms(20);
	if (rc != RS_OK || !rs_worker_alive(w)) {
		atomic_store(&rs_worker_expired_flag, 1);
		return RS_ECLOSED;
	}
	return RS_OK;
}

static int
still_master(rs_worker *w)
{
	return fence_verdict(w, RS_ECONN);
}

/* After a batch's COMMIT, before anything of it leaves: the answer of the
 * fencing read sent alongside the COMMIT, or a new read when that one
 * cannot vouch for now (a hiccup, or older than the fencing lease: a
 * master paused in its COMMIT reads again, docs/failover.md "Fencing"). */
static int
fence(master *m)
{
	return fence_verdict(m->w, rs_worker_zk_fence_finish(m->w, &m->fence));
}

/* Publishes the unconfirmed SyncEvents again on a new connection. Their
 * requests are not acked or answered here (the delivery tags died with
 * the old channel): a redelivered request is answered as a duplicate. */
static int
republish(master *m)
{
	int n = m->n - m->unconfirmed_from;
	int rc = still_master(m->w);

	if (rc == RS_OK)
		rc = publish_events(m, m->unconfirmed_from, n);
	if (rc != RS_OK)
		return rc;
	rs_warn(NULL, "event=sync_republished n=%d applied_seq=%" PRIu64, n,
	    m->w->meta.applied_seq);
	rs_worker_notice_head(
	    m->w->notice, m->w->epoch, m->w->meta.applied_seq);
	m->unconfirmed = false;
	items_free(m);
	return RS_OK;
}

/* A new broker connection; then the unconfirmed SyncEvents, if any, first. */
static int
reconnect(master *m)
{
	for (;;) {
		int rc = connect_mq(m);
		if (rc != RS_OK || !m->unconfirmed)
			return rc;
		rc = republish(m);
		if (rc == RS_OK || rc == RS_ECLOSED || rc == RS_ENOMEM)
			return rc;
		rs_warn(NULL, "event=mq_reconnect err=%s", rs_strerror(rc));
	}
}

/* Adds one group's step times (microseconds since t[0]: t[1] commit_batch
 * done, t[2] fenced, t[3] confirmed, t[4] answered) to the totals the
 * "commits" notice carries. */
static void
count_group(master *m, int n, const int64_t t[5])
{
	rs_notice_commits *c = &m->commits;

	c->groups++;
	c->writes += (uint64_t) n;
	c->statements_us += (uint64_t) (t[1] - t[0] - m->tail_us);
	c->commit_us += (uint64_t) m->tail_us;
	c->fence_us += (uint64_t) (t[2] - t[1]);
	c->confirm_us += (uint64_t) (t[3] - t[2]);
	c->reply_us += (uint64_t) (t[4] - t[3]);
	rs_worker_notice_set_commits(m->w->notice, c);
}

/* Commit, confirm, notify, ack, reply for items [from, from+n). */
static int
process(master *m, int from, int n)
{
	rs_worker *w = m->w;
	int64_t t[5] = { rs_time_now_us() };
	int rc = commit_batch(m, from, n);

	if (rc != RS_OK) {
		if (PQstatus(w->db) != CONNECTION_OK) {
			rs_error(NULL, "event=db_lost action=requeue n=%d",
			    m->n - from);
			give_back(m, from);
			while (rs_worker_alive(w)
			    && rs_worker_db_reconnect(w) != RS_OK)
				;
			return RS_OK;
		}
		if (n > 1) {
			/* Find the write that fails on its own (until the
			 * rest is given back: give_back). */
			for (int i = from;
			     i < from + n && m->items[i].tag != 0; i++)
				if ((rc = process(m, i, 1)) != RS_OK)
					return rc;
			return RS_OK;
		}
		item *it = &m->items[from];
		rs_error(it->req->request_id, "event=write_failed op=%s",
		    rs_op_name(it->req->op_case));
		it->resp = status_resp(
		    m, it->req, RIDESHARE__STATUS__INTERNAL, "database error");
		if (it->resp == NULL)
			return RS_ENOMEM;
		return reply(m, from, 1);
	}
	fault_hook(m, from, n);
	t[1] = rs_time_now_us();
	if ((rc = fence(m)) != RS_OK)
		return rc;
	t[2] = rs_time_now_us();
	if ((rc = publish_events(m, from, n)) != RS_OK) {
		if (rc == RS_ENOMEM)
			return rc;
		m->unconfirmed = true;
		m->unconfirmed_from = from;
		return RS_ECONN;
	}
	t[3] = rs_time_now_us();
	rs_worker_notice_head(w->notice, w->epoch, w->meta.applied_seq);
	rs_worker_notice_set(
	    w->notice, RS_ROLE_MASTER, w->meta.applied_seq, w->epoch);
	if ((rc = reply(m, from, n)) != RS_OK)
		return rc;
	t[4] = rs_time_now_us();
	count_group(m, n, t);
	/* The durable history a full-cluster recovery checks against
	 * (docs/failover.md): coalesced, it lags by RS_HISTORY_EVERY_MS. */
	int64_t now = rs_time_now_ms();
	if (now - m->history_ms >= RS_HISTORY_EVERY_MS) {
		m->history_ms = now;
		(void) rs_worker_history_raise(w);
	}
	return RS_OK;
}

int
rs_worker_master_run(rs_worker *w)
{
	master *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return RS_ENOMEM;
	m->w = w;
	m->changes_keep = rs_worker_changes_keep();
	w->role = RIDESHARE__ROLE__MASTER;
	rs_worker_notice_set(
	    w->notice, RS_ROLE_MASTER, w->meta.applied_seq, w->epoch);
	if ((rc = connect_mq(m)) != RS_OK)
		goto out;
	if ((rc = rs_worker_zk_update(w)) != RS_OK)
		goto out;
	m->history_ms = rs_time_now_ms();
	w->volume_published = false; /* a new term names our volume again */
	(void) rs_worker_history_raise(w);
	rs_info(NULL,
	    "event=serving role=master epoch=%" PRIu64 " applied_seq=%" PRIu64
	    " pid=%" PRId64,
	    w->epoch, w->meta.applied_seq, w->pid);

	long ttl_s = rs_cfg_long("RIDESHARE_IDEMPOTENCY_TTL_S",
	    RS_WORKER_IDEMPOTENCY_TTL_S, 1, 3650L * 86400);
	int64_t pruned_ms = 0;
	while (rs_worker_alive(w)) {
		rs_mq_msg msg;
		/* Between batches, never inside one: its own statement. */
		(void) rs_worker_store_prune(w->db, ttl_s, &pruned_ms);
		rc = rs_mq_next(m->mq, 50, &msg);
		if (rc == RS_ETIMEDOUT)
			continue;
		while (rc == RS_OK) {
			take(m, &msg);
			/* Room left for any delivery (RS_WRITE_BATCH_MAX). */
			if (m->n > BATCH_MAX - RS_WRITE_BATCH_MAX)
				break;
			rc = rs_mq_next(m->mq, 0, &msg);
		}
		rs_mq_msg_release(m->mq, &msg);
		if (rc == RS_OK || rc == RS_ETIMEDOUT) {
			rc = m->n > 0 ? process(m, 0, m->n) : RS_OK;
		}
		if (!m->unconfirmed)
			items_free(m);
		if (rc == RS_ECLOSED)
			break;
		if (rc != RS_OK) {
			rs_warn(NULL, "event=mq_reconnect err=%s",
			    rs_strerror(rc));
			if ((rc = reconnect(m)) != RS_OK)
				break;
		}
	}
	if (atomic_load(&rs_worker_stop_flag))
		rc = RS_WORKER_STOPPED;
	else if (rc == RS_OK)
		rc = RS_ECLOSED;
out:
	items_free(m);
	disconnect(m);
	rs_worker_tail_fini(&m->tail);
	free(m);
	return rc;
}
