/* The slave loop (docs/replication.md): one connection consumes its sync
 * queue, readQ and its commitX queue. SyncEvents are applied in order, in
 * batches, one transaction per batch; a read is answered once applied_seq >=
 * min_seq, parked until then. Its reply, computed at applied seq a, leaves
 * only once the orchestrator's commit_seq is known to be >= a (commitX
 * announcements, reads' min_seq), held until then (bounded by
 * RIDESHARE_READ_HOLD_MS). The replies of one step (a readQ delivery, a
 * release pass) leave one message per reply address (reply_batch.h).
 * A watch on /rideshare/master runs the election;
 * the winner drains its sync queue and returns RS_WORKER_PROMOTED. */
#include "worker.h"

#include "election.h"

#include "arena.h"
#include "held.h"
#include "ops.h"
#include "park.h"
#include "reply_batch.h"
#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_op.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_PREFETCH 1024
/* Reads the broker hands a slave before it acks one: all that a hung
 * (SIGSTOPped) slave strands until the gateways send them again
 * (RIDESHARE_READ_RETRY_MS); a slave answers reads one at a time anyway,
 * so a few ahead keep it busy (docs/replication.md "Lag and read
 * routing"). */
#define READ_PREFETCH 8
/* Events gathered before they are applied (one transaction); a delivery
 * may bring up to RS_SYNC_BATCH_MAX (SyncEventBatch), so gathering stops
 * at EVENT_BATCH and the arrays hold one batch more. */
#define EVENT_BATCH 512
#define EVENT_ROOM  (EVENT_BATCH + RS_SYNC_BATCH_MAX)
/* A read stamped beyond every commit_seq announced and every head the
 * master published, by more than this, cannot be the orchestrator's: it is
 * dead-lettered instead of parked (docs/security.md "Internal messages"). */
#define MIN_SEQ_SLACK 1000000
/* Gaps in the sync stream for this long while the master is ahead: the
 * replica cannot catch up from its queue; it leaves and is replaced. */
#define STALL_MS 5000
/* A pause request lasts this long unless renewed (announcements come at
 * least every second): a gone orchestrator cannot leave a slave idle. */
#define PAUSE_VALID_MS 3000

/* A sync queue delivery: one SyncEvent, or a SyncEventBatch whose events
 * are applied in turn. Acked once all its events are applied or skipped;
 * dead-lettered whole when any of them is bad. */
typedef struct delivery {
	uint64_t tag; /* 0: dead-lettered, not to be acked */
	ProtobufCMessage *msg; /* what it unpacked to (owned) */
} delivery;

typedef struct event {
	const Rideshare__SyncEvent *ev; /* inside dlv[d].msg */
	int d;
} event;

typedef struct read_req {
	Rideshare__DbRequest *req;
	char reply_to[256];
} read_req;

/* A readQ delivery that carried several reads (ReadBatch): acknowledged
 * once every read in it is answered, or given back once (requeue) when
 * any of them is. */
typedef struct batch_ref {
	uint64_t tag;
	int left; /* reads of it not settled yet */
	bool requeued; /* given back: the others settle silently */
} batch_ref;

typedef struct slave {
	rs_worker *w;
	rs_mq *mq;
	char sync_tag[256];
	char read_tag[256];
	/* Consumer of its own read queue (RS_Q_READ_PREFIX + id): reads a
	 * gateway sent a second time, routed here by the orchestrator. Kept
	 * while reads are paused (the orchestrator sends none then). */
	char own_tag[256];
	bool reading;
	event events[EVENT_ROOM];
	int nev;
	delivery dlv[EVENT_ROOM]; /* each brings at least one event */
	int ndlv;
	rs_worker_park park;
	int64_t last_lag_log;
	/* commit_seq announcements (commitX) and the held replies */
	char commit_tag[256];
	uint64_t known_commit; /* highest commit_seq heard of (monotonic) */
	rs_worker_held held;
	rs_notice_reads stats; /* the "reads" notice counters */
	uint64_t epoch_ceiling; /* /rideshare/epoch as last read */
	int64_t gap_since; /* first rejected gap since the last apply, 0 */
	/* Lag-aware reads: the orchestrator names this slave in its commitX
	 * "pause" list while it lags beyond RIDESHARE_MAX_LAG_MS; the readQ
	 * consumer is then cancelled (read_paused) until it is not named, or
	 * no announcement renewed it for PAUSE_VALID_MS. */
	int64_t pause_until; /* monotonic ms, 0: not asked to pause */
	bool read_paused;
	/* Batched deliveries with reads still parked or held (few: at most
	 * READ_PREFETCH per read consumer). */
	batch_ref *batches;
	int nbatches, batches_cap;
	rs_worker_tail tail; /* a batch's bookkeeping rows (apply_events) */
	/* Replies of the current step (one readQ delivery, one release
	 * pass), sent one message per reply address by send_replies; empty
	 * between steps. */
	rs_worker_replies replies;
} slave;

static void
events_free(slave *s)
{
	for (int i = 0; i < s->ndlv; i++)
		protobuf_c_message_free_unpacked(s->dlv[i].msg, NULL);
	s->ndlv = 0;
	s->nev = 0;
}

static void
read_free(read_req *r)
{
	rideshare__db_request__free_unpacked(r->req, NULL);
	free(r);
}

static batch_ref *
batch_find(slave *s, uint64_t tag)
{
	for (int i = 0; i < s->nbatches; i++)
		if (s->batches[i].tag == tag)
			return &s->batches[i];
	return NULL;
}

/* Registers a batched delivery of n reads. RS_ENOMEM: not registered. */
static int
batch_add(slave *s, uint64_t tag, int n)
{
	if (s->nbatches == s->batches_cap) {
		int cap = s->batches_cap ? 2 * s->batches_cap : 16;
		batch_ref *b = realloc(s->batches, (size_t) cap * sizeof(*b));
		if (b == NULL)
			return RS_ENOMEM;
		s->batches = b;
		s->batches_cap = cap;
	}
	s->batches[s->nbatches++] = (batch_ref) { tag, n, false };
	return RS_OK;
}

/* One read of delivery tag is done: answered (requeue false) or to be
 * answered elsewhere (requeue true). A delivery of one read is settled at
 * once; a batch is acknowledged when its last read is answered, or
 * rejected back to its queue the first time one of its reads is given
 * back (the reads of it already answered are answered again elsewhere:
 * reads change nothing, and the gateway keeps the first answer). */
static int
settle(slave *s, uint64_t tag, bool requeue)
{
	batch_ref *b = batch_find(s, tag);
	int rc = RS_OK;

	if (b == NULL)
		return requeue ? rs_mq_reject(s->mq, tag, true)
		               : rs_mq_ack(s->mq, tag, false);
	if (requeue && !b->requeued) {
		b->requeued = true;
		rc = rs_mq_reject(s->mq, tag, true);
	}
	if (--b->left > 0)
		return rc;
	if (!b->requeued)
		rc = rs_mq_ack(s->mq, tag, false);
	*b = s->batches[--s->nbatches];
	return rc;
}

/* Returns the parked reads and the held replies to readQ (another slave
 * answers them; a held reply was never sent, so nobody saw it). */
static void
requeue_parked(slave *s)
{
	rs_worker_parked p;
	while (rs_worker_park_pop(&s->park, &p)) {
		if (s->mq != NULL)
			(void) settle(s, p.delivery_tag, true);
		read_free(p.data);
	}
	rs_worker_held_reply *h;
	while ((h = rs_worker_held_pop(&s->held)) != NULL) {
		if (s->mq != NULL)
			(void) settle(s, h->tag, true);
		free(h);
	}
	/* Gathered replies are sent within their step, so none should be
	 * left here; any that were is unsent: given back like a held one. */
	rs_worker_reply *const *left;
	size_t nleft = rs_worker_replies_unsent(&s->replies, &left);
	for (size_t i = 0; i < nleft && s->mq != NULL; i++)
		(void) settle(s, left[i]->tag, true);
	rs_worker_replies_clear(&s->replies);
	/* Nothing refers to a batch any more; with the channel gone (mq
	 * NULL, or about to be destroyed) its tags mean nothing either. */
	s->nbatches = 0;
}

static void
learn_commit(slave *s, uint64_t seq)
{
	if (seq > s->known_commit)
		s->known_commit = seq;
}

/* The rest of a commitX announcement after its number: " pause <id>..."
 * when some slaves are to take no new reads. */
static void
on_pause_list(slave *s, const rs_mq_msg *msg, size_t from)
{
	const char *b = msg->body;
	size_t len = msg->len, idlen = strlen(s->w->id);
	bool named = false;

	if (len - from > 7 && memcmp(b + from, " pause ", 7) == 0) {
		for (size_t i = from + 7; i < len;) {
			size_t j = i;
			while (j < len && b[j] != ' ')
				j++;
			if (j - i == idlen
			    && memcmp(b + i, s->w->id, idlen) == 0)
				named = true;
			i = j + 1;
		}
	}
	s->pause_until = named ? rs_time_now_ms() + PAUSE_VALID_MS : 0;
}

/* A commitX announcement: the orchestrator's commit_seq in decimal. */
static void
on_commit(slave *s, const rs_mq_msg *msg)
{
	char text[24];
	char *end;
	size_t n = msg->len;

	/* Only the leading number matters here. */
	for (size_t i = 0; i < msg->len; i++) {
		if (((const char *) msg->body)[i] == ' ') {
			n = i;
			break;
		}
	}
	if (n == 0 || n >= sizeof(text))
		return;
	memcpy(text, msg->body, n);
	text[n] = '\0';
	unsigned long long v = strtoull(text, &end, 10);
	if (*end == '\0')
		learn_commit(s, v);
	on_pause_list(s, msg, n);
}

static void
publish_stats(slave *s)
{
	rs_worker_notice_set_reads(s->w->notice, &s->stats);
}

/* Keeps a packed reply until the orchestrator's commit_seq covers seq.
 * RS_ENOMEM: the caller sends it at once instead. */
static int
hold(slave *s, uint64_t tag, const Rideshare__DbResponse *r,
    const char *request_id, const char *reply_to)
{
	size_t len = rideshare__db_response__get_packed_size(r);
	uint8_t *buf = malloc(len + 1);
	int rc = RS_ENOMEM;

	if (buf != NULL) {
		rideshare__db_response__pack(r, buf);
		rc = rs_worker_held_add(&s->held, r->seq, tag,
		    rs_time_now_ms(), reply_to, request_id, buf, len);
		free(buf);
	}
	if (rc != RS_OK)
		return rc;
	s->stats.held++;
	publish_stats(s);
	rs_debug(request_id,
	    "event=read_held seq=%" PRIu64 " known_commit_seq=%" PRIu64,
	    r->seq, s->known_commit);
	return RS_OK;
}

/* Sends what this step gathered, one message per reply address
 * (reply_batch.h), and settles each reply's delivery once the message
 * carrying it is out, as a single reply always was. On an error the rest
 * are dropped unsent and unsettled: the channel goes (reconnect) and the
 * broker gives their deliveries back. */
static int
send_replies(slave *s)
{
	rs_worker_reply_msg m;
	bool sent = false;
	int rc = RS_OK;

	while (rc == RS_OK && rs_worker_replies_next(&s->replies, &m)) {
		rs_mq_props props = { .correlation_id = m.correlation_id,
			.content_type = m.content_type };
		rc = rs_mq_publish(
		    s->mq, "", m.reply_to, m.body, m.len, &props);
		if (rc != RS_OK)
			break;
		sent = true;
		s->stats.reply_messages++;
		if (m.n > 1) {
			s->stats.batched_replies += m.n;
			rs_debug(NULL,
			    "event=reply_batch reply_to=%s replies=%zu "
			    "bytes=%zu",
			    m.reply_to, m.n, m.len);
		}
		for (size_t i = 0; i < m.n && rc == RS_OK; i++)
			rc = settle(s, m.replies[i]->tag, false);
	}
	rs_worker_replies_clear(&s->replies);
	if (sent)
		publish_stats(s);
	return rc;
}

/* Gathers a held reply for send_replies; without memory for it, it is
 * given back unsent (another slave answers the read). */
static int
gather_held(slave *s, const rs_worker_held_reply *h)
{
	uint8_t *dst = rs_worker_replies_add(
	    &s->replies, h->tag, h->reply_to, h->request_id, h->len);

	if (dst == NULL)
		return settle(s, h->tag, true);
	memcpy(dst, h->body, h->len);
	return RS_OK;
}

/* Gathers the held replies whose seq the orchestrator has committed, and
 * those held for longer than the bound (orchestrator gone or slow: the
 * read is answered anyway, with the weaker guarantee; logged), for this
 * pass's send_replies. */
static int
release_held(slave *s)
{
	int64_t now = rs_time_now_ms();
	rs_worker_held_reply *h;
	bool late, timeouts = false;
	int rc = RS_OK;

	while (rc == RS_OK
	    && (h = rs_worker_held_pop_ready(
	            &s->held, s->known_commit, now, s->w->read_hold_ms, &late))
	        != NULL) {
		if (late) {
			s->stats.hold_timeouts++;
			timeouts = true;
			rs_warn(h->request_id,
			    "event=read_hold_timeout seq=%" PRIu64
			    " known_commit_seq=%" PRIu64 " held_ms=%lld",
			    h->seq, s->known_commit,
			    (long long) (now - h->since));
		}
		rc = gather_held(s, h);
		free(h);
	}
	if (timeouts)
		publish_stats(s);
	return rc;
}

/* Only a linearizable read's min_seq is a commit_seq the orchestrator
 * stamped, and only its reply waits for commit_seq (session and any reads
 * promise less: docs/gateway.md "Consistency"). */
static bool
linearizable(const Rideshare__DbRequest *req)
{
	return req->consistency != RIDESHARE__CONSISTENCY__SESSION
	    && req->consistency != RIDESHARE__CONSISTENCY__ANY;
}

/* Answers the read req of delivery tag with r (rc RS_OK; r stays the
 * caller's) or, for another rc, an error reply: held, or gathered for
 * this step's send_replies. */
static int
reply(slave *s, uint64_t tag, const Rideshare__DbRequest *req,
    const char *reply_to, int rc, Rideshare__DbResponse *r)
{
	rs_worker *w = s->w;
	Rideshare__DbResponse fallback = RIDESHARE__DB_RESPONSE__INIT;

	if (rc != RS_OK) {
		r = &fallback;
		r->request_id = req->request_id;
		r->status = rc == RS_EINVAL ? RIDESHARE__STATUS__INVALID
		    : rc == RS_ETIMEDOUT    ? RIDESHARE__STATUS__UNAVAILABLE
		                            : RIDESHARE__STATUS__INTERNAL;
		r->error = rc == RS_EINVAL ? "not a read"
		    : rc == RS_ETIMEDOUT
		    ? "replica has not reached the read's min_seq in time"
		    : "database error";
	}
	r->seq = w->meta.applied_seq;
	r->epoch = w->meta.epoch;
	r->worker_id = w->id;
	/* A state the orchestrator has not acknowledged yet (a write applied
	 * here whose reply is still on its way): the reply waits until
	 * commit_seq covers it, so that every read routed after the caller
	 * got it is stamped min_seq >= r->seq. Error replies show no state. */
	if (rc == RS_OK && reply_to[0] != '\0' && w->read_hold_ms > 0
	    && linearizable(req) && r->seq > s->known_commit
	    && hold(s, tag, r, req->request_id, reply_to) == RS_OK)
		return RS_OK;
	/* The reply leaves with this step's others (send_replies), which
	 * settles the delivery after it; without an address there is
	 * nothing to send, without memory it is answered elsewhere. */
	bool requeue = false;
	if (reply_to[0] != '\0') {
		size_t len = rideshare__db_response__get_packed_size(r);
		uint8_t *dst = rs_worker_replies_add(
		    &s->replies, tag, reply_to, req->request_id, len);
		if (dst != NULL)
			rideshare__db_response__pack(r, dst);
		requeue = dst == NULL;
	} else {
		rs_warn(req->request_id, "event=read_without_reply_to");
	}
	rs_debug(req->request_id,
	    "event=read_done op=%s status=%s seq=%" PRIu64,
	    rs_op_name(req->op_case), rs_status_name(r->status), r->seq);
	if (reply_to[0] != '\0' && !requeue)
		return RS_OK;
	return settle(s, tag, requeue);
}

/* A failed statement that lost the connection, or left it in pipeline
 * mode (where no single statement runs), needs a new one. */
static void
reconnect_if_broken(rs_worker *w)
{
	if (PQstatus(w->db) != CONNECTION_OK
	    || PQpipelineStatus(w->db) != PQ_PIPELINE_OFF)
		(void) rs_worker_db_reconnect(w);
}

/* Runs the read req (expired: past its park bound) and answers it. */
static int
answer(slave *s, uint64_t tag, const Rideshare__DbRequest *req,
    const char *reply_to, bool expired)
{
	rs_worker_arena a = RS_WORKER_ARENA_INIT;
	Rideshare__DbResponse *r = NULL;
	int rc;

	if (expired) {
		rc = RS_ETIMEDOUT;
	} else if (rs_op_is_write(req->op_case)) {
		rc = RS_EINVAL;
	} else {
		rc = rs_worker_op_read(s->w->db, req, &a, &r);
		if (rc != RS_OK)
			reconnect_if_broken(s->w);
	}
	rc = reply(s, tag, req, reply_to, rc, r);
	rs_worker_arena_fini(&a);
	return rc;
}

static int
release_ready(slave *s)
{
	rs_worker_parked p;
	int rc = RS_OK;

	while (rc == RS_OK
	    && rs_worker_park_pop_ready(
	        &s->park, s->w->meta.applied_seq, &p)) {
		read_req *r = p.data;
		/* Answerable now: its stamp is a commit_seq we can trust. */
		if (linearizable(r->req))
			learn_commit(s, r->req->min_seq);
		rc = answer(s, p.delivery_tag, r->req, r->reply_to, false);
		read_free(r);
	}
	return rc;
}

/* A parked read always ends: past RIDESHARE_READ_PARK_MS it is answered
 * UNAVAILABLE (the caller may retry; another slave may be ahead). */
static int
expire_parked(slave *s)
{
	rs_worker_parked p;
	int rc = RS_OK;
	int64_t cutoff = rs_time_now_ms() - s->w->read_park_ms;

	while (
	    rc == RS_OK && rs_worker_park_pop_expired(&s->park, cutoff, &p)) {
		read_req *r = p.data;
		s->stats.park_timeouts++;
		publish_stats(s);
		rs_warn(r->req->request_id,
		    "event=read_park_timeout min_seq=%" PRIu64
		    " applied_seq=%" PRIu64 " parked_ms=%lld",
		    r->req->min_seq, s->w->meta.applied_seq,
		    (long long) (rs_time_now_ms() - p.since_ms));
		rc = answer(s, p.delivery_tag, r->req, r->reply_to, true);
		read_free(r);
	}
	return rc;
}

/* Dead-letters one delivery that no honest peer sends (docs/security.md
 * "Internal messages"): counted and logged, the worker goes on. */
static int
reject_bad(slave *s, uint64_t tag, const char *queue, const char *why,
    const char *rid)
{
	s->stats.rejected++;
	publish_stats(s);
	rs_warn(rid, "event=bad_message queue=%s reason=%s action=dead_letter",
	    queue, why);
	return rs_mq_reject(s->mq, tag, false);
}

/* The stamp of a read is beyond every commit_seq heard of and every head
 * the master published, by more than MIN_SEQ_SLACK: not the
 * orchestrator's. */
static bool
min_seq_forged(slave *s, const Rideshare__DbRequest *req)
{
	uint64_t head = rs_worker_notice_master_head(s->w->notice);
	uint64_t ceiling = s->known_commit > head ? s->known_commit : head;

	if (req->min_seq <= s->w->meta.applied_seq)
		return false;
	if (ceiling < s->w->meta.applied_seq)
		ceiling = s->w->meta.applied_seq;
	return req->min_seq > ceiling
	    && req->min_seq - ceiling > MIN_SEQ_SLACK;
}

/* A read answerable at once (else it parks). */
static bool
answerable(const slave *s, const Rideshare__DbRequest *req)
{
	return req->min_seq <= s->w->meta.applied_seq;
}

/* Answers one checked read of delivery tag now, or parks it. Owns req.
 * ready: its reply when already computed (read_now), else NULL. */
static int
take_read(slave *s, uint64_t tag, Rideshare__DbRequest *req,
    const char *reply_to, Rideshare__DbResponse *ready)
{
	/* The orchestrator stamped it with its commit_seq of the moment;
	 * that stamp only counts as a commit_seq heard of once this replica
	 * reached it (a forged one must not release held replies). */
	if (answerable(s, req)) {
		if (linearizable(req))
			learn_commit(s, req->min_seq);
		int rc = ready != NULL
		    ? reply(s, tag, req, reply_to, RS_OK, ready)
		    : answer(s, tag, req, reply_to, false);
		rideshare__db_request__free_unpacked(req, NULL);
		return rc;
	}
	read_req *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		rideshare__db_request__free_unpacked(req, NULL);
		return settle(s, tag, true);
	}
	r->req = req;
	snprintf(r->reply_to, sizeof(r->reply_to), "%s", reply_to);
	rs_worker_parked p = { req->min_seq, tag, r, rs_time_now_ms() };
	if (rs_worker_park_add(&s->park, &p) != RS_OK) {
		read_free(r);
		return settle(s, tag, true);
	}
	rs_debug(req->request_id,
	    "event=read_parked min_seq=%" PRIu64 " applied_seq=%" PRIu64,
	    req->min_seq, s->w->meta.applied_seq);
	return RS_OK;
}

/* The replies of b's reads that are answerable now, computed in one
 * round trip to the database (docs/replication.md "Read batches"):
 * ready[i] for read i, from a; NULL (each read then runs alone, as
 * without a batch) when fewer than two are, without memory, or when the
 * pipeline failed. Every read is still answered in order by take_read,
 * which decides exactly as for a single read. */
static Rideshare__DbResponse **
read_now(slave *s, const Rideshare__ReadBatch *b, rs_worker_arena *a)
{
	size_t n = b->n_reads;
	const Rideshare__DbRequest **reqs = calloc(n, sizeof(*reqs));
	Rideshare__DbResponse **outs = calloc(n, sizeof(*outs));
	Rideshare__DbResponse **ready = calloc(n, sizeof(*ready));
	int *at = calloc(n, sizeof(*at)), *rcs = calloc(n, sizeof(*rcs));
	int k = 0, rc = RS_ENOMEM;

	if (reqs == NULL || outs == NULL || ready == NULL || at == NULL
	    || rcs == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const Rideshare__DbRequest *req = b->reads[i]->request;
		if (answerable(s, req) && !rs_op_is_write(req->op_case)) {
			at[k] = (int) i;
			reqs[k++] = req;
		}
	}
	if (k < 2)
		goto out;
	rc = rs_worker_op_read_many(s->w->db, k, reqs, a, outs, rcs);
	/* A failed pipeline: each read runs alone (answer), the first to
	 * fail on a broken connection reconnecting, as without a batch. */
	if (rc != RS_OK)
		goto out;
	for (int j = 0; j < k; j++)
		ready[at[j]] = rcs[j] == RS_OK ? outs[j] : NULL;
	rs_debug(NULL, "event=read_pipeline reads=%d", k);
out:
	free(reqs);
	free(outs);
	free(at);
	free(rcs);
	if (rc != RS_OK) {
		free(ready);
		ready = NULL;
	}
	return ready;
}

/* A ReadBatch delivery (docs/replication.md "Read batches"): checked
 * whole (one forged entry dead-letters the message), then each read taken
 * like a single one, those answerable now computed together (read_now);
 * the delivery is acknowledged with its last answer (settle). */
static int
on_read_batch(slave *s, const rs_mq_msg *msg)
{
	Rideshare__ReadBatch *b;
	const char *why = rs_op_read_batch_decode(msg->body, msg->len, &b);
	size_t n, i;
	int rc = RS_OK;

	if (why != NULL)
		return reject_bad(s, msg->delivery_tag, RS_Q_READ, why, NULL);
	n = b->n_reads;
	for (i = 0; i < n; i++) {
		if (min_seq_forged(s, b->reads[i]->request)) {
			rc = reject_bad(s, msg->delivery_tag, RS_Q_READ,
			    "min_seq_out_of_range",
			    b->reads[i]->request->request_id);
			rideshare__read_batch__free_unpacked(b, NULL);
			return rc;
		}
	}
	if (batch_add(s, msg->delivery_tag, (int) n) != RS_OK) {
		rideshare__read_batch__free_unpacked(b, NULL);
		return rs_mq_reject(s->mq, msg->delivery_tag, true);
	}
	rs_worker_arena a = RS_WORKER_ARENA_INIT;
	Rideshare__DbResponse **ready = read_now(s, b, &a);
	/* Each request leaves the batch to live on its own (parked reads
	 * outlive the delivery); take_read owns and frees it. */
	for (i = 0; i < n && rc == RS_OK; i++) {
		Rideshare__DbRequest *req = b->reads[i]->request;

		b->reads[i]->request = NULL;
		rc = take_read(s, msg->delivery_tag, req,
		    b->reads[i]->reply_to, ready != NULL ? ready[i] : NULL);
	}
	free(ready);
	rs_worker_arena_fini(&a);
	/* After an error the channel goes (reconnect): the rest come back
	 * with the delivery. */
	for (; i < n; i++) {
		rideshare__db_request__free_unpacked(
		    b->reads[i]->request, NULL);
		b->reads[i]->request = NULL;
	}
	rideshare__read_batch__free_unpacked(b, NULL);
	return rc;
}

/* Decodes a read delivery; answers it now or parks it. */
static int
read_delivery(slave *s, const rs_mq_msg *msg)
{
	Rideshare__DbRequest *req;

	if (strcmp(msg->content_type, RS_CT_READ_BATCH) == 0)
		return on_read_batch(s, msg);
	const char *why = rs_op_request_decode(msg->body, msg->len, &req);
	if (why != NULL)
		return reject_bad(s, msg->delivery_tag, RS_Q_READ, why, NULL);
	if (min_seq_forged(s, req)) {
		int rc = reject_bad(s, msg->delivery_tag, RS_Q_READ,
		    "min_seq_out_of_range", req->request_id);
		rideshare__db_request__free_unpacked(req, NULL);
		return rc;
	}
	return take_read(s, msg->delivery_tag, req, msg->reply_to, NULL);
}

/* One readQ delivery is one step: the replies of its reads leave
 * together, one message per reply address. */
static int
on_read(slave *s, const rs_mq_msg *msg)
{
	int rc = read_delivery(s, msg);

	if (rc != RS_OK) {
		rs_worker_replies_clear(&s->replies); /* see send_replies */
		return rc;
	}
	return send_replies(s);
}

/* Gathers a checked delivery of the sync queue (a SyncEvent, or a
 * SyncEventBatch by its content type), or dead-letters it. */
static void
on_sync(slave *s, const rs_mq_msg *msg)
{
	Rideshare__SyncEvent *ev = NULL;
	Rideshare__SyncEventBatch *b = NULL;
	const char *why;

	if (strcmp(msg->content_type, RS_CT_SYNC_BATCH) == 0) {
		why = rs_op_sync_batch_decode(msg->body, msg->len, &b);
	} else {
		ev = rideshare__sync_event__unpack(NULL, msg->len, msg->body);
		why = rs_op_sync_event_problem(ev);
		if (why != NULL && ev != NULL)
			rideshare__sync_event__free_unpacked(ev, NULL);
	}
	if (why != NULL) {
		(void) reject_bad(
		    s, msg->delivery_tag, s->w->sync_queue, why, NULL);
		return;
	}
	delivery *d = &s->dlv[s->ndlv];
	d->tag = msg->delivery_tag;
	d->msg = b != NULL ? &b->base : &ev->base;
	size_t n = b != NULL ? b->n_events : 1;
	for (size_t k = 0; k < n; k++) {
		s->events[s->nev].ev = b != NULL ? b->events[k] : ev;
		s->events[s->nev].d = s->ndlv;
		s->nev++;
	}
	s->ndlv++;
}

/* Dead-letters the delivery of event i (no honest master sent it: one
 * bad event condemns its whole message) and takes it out of the acks.
 * None of that delivery's events was applied before: a batch's events
 * share one epoch and have consecutive seqs (rs_op_sync_batch_decode), so
 * once one is applied the next one passes every check of apply_events. */
static void
reject_event(slave *s, int i, const char *why)
{
	const Rideshare__SyncEvent *ev = s->events[i].ev;
	delivery *d = &s->dlv[s->events[i].d];

	rs_error(ev->request->request_id,
	    "event=bad_sync_event reason=%s seq=%" PRIu64 " epoch=%" PRIu64
	    " applied_seq=%" PRIu64 " action=dead_letter",
	    why, ev->seq, ev->epoch, s->w->meta.applied_seq);
	(void) reject_bad(
	    s, d->tag, s->w->sync_queue, why, ev->request->request_id);
	d->tag = 0;
}

/* An epoch no master has held yet (above /rideshare/epoch) is forged.
 * ZooKeeper is asked only when an event names a higher epoch than seen;
 * if it cannot say, the event is given the benefit of the doubt. */
static bool
epoch_known(slave *s, uint64_t epoch)
{
	char *data;
	size_t len;

	if (epoch <= s->epoch_ceiling)
		return true;
	if (rs_zk_get(s->w->zk, RS_ZK_EPOCH, false, &data, &len) != RS_OK)
		return true;
	s->epoch_ceiling = strtoull(data, NULL, 10);
	free(data);
	return epoch <= s->epoch_ceiling;
}

/* Applies the gathered events in one transaction, then acks them. Events
 * no honest master sends (an unknown epoch, a seq already applied with
 * another write, a gap) are dead-lettered, not applied. */
static int
apply_events(slave *s)
{
	rs_worker *w = s->w;
	rs_worker_meta before = w->meta;
	rs_worker_arena a = RS_WORKER_ARENA_INIT;
	int rc;

	if (s->nev == 0)
		return RS_OK;
	if ((rc = rs_worker_store_begin(w->db)) != RS_OK)
		goto fail;
	for (int i = 0; i < s->nev; i++) {
		const Rideshare__SyncEvent *ev = s->events[i].ev;
		const char *rid = ev->request->request_id;

		if (s->dlv[s->events[i].d].tag == 0)
			continue; /* the rest of a dead-lettered batch */
		if (ev->epoch < w->meta.epoch) {
			rs_warn(rid,
			    "event=stale_sync_event epoch=%" PRIu64
			    " seq=%" PRIu64 " current_epoch=%" PRIu64,
			    ev->epoch, ev->seq, w->meta.epoch);
			continue;
		}
		if (!epoch_known(s, ev->epoch)) {
			reject_event(s, i, "unknown_epoch");
			continue;
		}
		if (ev->seq <= w->meta.applied_seq) {
			/* Already in our snapshot or a republished write:
			 * fine only if it is the same write. */
			uint64_t seq;
			Rideshare__DbResponse *old;
			if (rs_worker_tail_recorded(&s->tail, rid, &seq)) {
				rc = RS_OK; /* applied earlier in this batch */
			} else {
				rc = rs_worker_store_lookup(
				    w->db, rid, &seq, &old);
				if (rc == RS_OK)
					rideshare__db_response__free_unpacked(
					    old, NULL);
			}
			if (rc == RS_EDB)
				goto fail;
			if (rc == RS_OK && seq == ev->seq)
				continue;
			rc = RS_OK;
			reject_event(s, i, "seq_already_applied");
			continue;
		}
		if (ev->seq != w->meta.applied_seq + 1) {
			/* A forged far-future seq, or a real hole; the stall
			 * check in the loop tells them apart. */
			if (s->gap_since == 0)
				s->gap_since = rs_time_now_ms();
			reject_event(s, i, "gap");
			continue;
		}
		s->gap_since = 0;
		if (ev->result->status == RIDESHARE__STATUS__OK) {
			Rideshare__DbResponse *r;
			rc = rs_worker_op_write(w->db, &w->meta.next_ride_id,
			    ev->request, ev->seq, ev->result, &a, &r);
			if (rc == RS_ESTATE || rc == RS_EINVAL)
				rs_error(rid,
				    "event=replication_diverged "
				    "seq=%" PRIu64 " op=%s",
				    ev->seq, rs_op_name(ev->request->op_case));
			if (rc != RS_OK)
				goto fail;
		}
		if ((rc = rs_worker_tail_record(
		         &s->tail, rid, ev->seq, ev->result))
		        != RS_OK
		    || (rc = rs_worker_tail_change(&s->tail, ev->epoch,
		            ev->seq, ev->request, ev->result,
		            rs_worker_changes_keep()))
		        != RS_OK)
			goto fail;
		w->meta.applied_seq = ev->seq;
		w->meta.epoch = ev->epoch;
	}
	/* The batch's bookkeeping rows, meta and COMMIT: one round trip. */
	if ((rc = rs_worker_tail_commit(w->db, &s->tail, &w->meta)) != RS_OK)
		goto fail;
	rs_worker_arena_fini(&a);
	for (int i = 0; i < s->ndlv && rc == RS_OK; i++)
		if (s->dlv[i].tag != 0)
			rc = rs_mq_ack(s->mq, s->dlv[i].tag, false);
	events_free(s);
	rs_worker_notice_set(w->notice, rs_worker_role_name(w->role),
	    w->meta.applied_seq, w->meta.epoch);
	return rc;
fail:
	rs_worker_arena_fini(&a);
	rs_worker_tail_reset(&s->tail);
	rs_worker_store_rollback(w->db);
	w->meta = before;
	if (rc != RS_OK && PQstatus(w->db) != CONNECTION_OK) {
		/* Unacked events come back after a reconnect. */
		(void) rs_worker_db_reconnect(w);
		rc = RS_ECONN;
	}
	events_free(s);
	return rc;
}

/* Takes what arrives (first wait timeout_ms, then whatever is buffered),
 * applies the sync events and answers the reads that became ready.
 * *got: number of deliveries handled. */
static int
pump(slave *s, int timeout_ms, int *got)
{
	rs_mq_msg msg;
	int rc, n = 0;

	rc = rs_mq_next(s->mq, timeout_ms, &msg);
	while (rc == RS_OK) {
		n++;
		if (strcmp(msg.consumer_tag, s->sync_tag) == 0) {
			on_sync(s, &msg);
		} else if (s->commit_tag[0] != '\0'
		    && strcmp(msg.consumer_tag, s->commit_tag) == 0) {
			on_commit(s, &msg); /* no_ack consumer */
		} else if (s->reading
		    && (strcmp(msg.consumer_tag, s->read_tag) == 0
		        || (s->own_tag[0] != '\0'
		            && strcmp(msg.consumer_tag, s->own_tag) == 0))) {
			if ((rc = on_read(s, &msg)) != RS_OK)
				break;
		} else {
			/* A read that arrived while we were cancelling. */
			(void) rs_mq_reject(s->mq, msg.delivery_tag, true);
		}
		if (s->nev >= EVENT_BATCH || n >= 4 * EVENT_BATCH)
			break;
		rc = rs_mq_next(s->mq, 0, &msg);
	}
	rs_mq_msg_release(s->mq, &msg);
	if (got != NULL)
		*got = n;
	if (rc != RS_OK && rc != RS_ETIMEDOUT) {
		events_free(s);
		return rc;
	}
	if ((rc = apply_events(s)) != RS_OK)
		return rc;
	/* One release pass, one step: what it answers leaves together. */
	if ((rc = release_ready(s)) != RS_OK
	    || (rc = expire_parked(s)) != RS_OK
	    || (rc = release_held(s)) != RS_OK) {
		rs_worker_replies_clear(&s->replies); /* see send_replies */
		return rc;
	}
	return send_replies(s);
}

/* An exclusive, auto-delete queue of this connection bound to commitX
 * (a fresh name per connection: the broker may not have dropped the
 * previous connection's queue yet), consumed without acks. */
static int
consume_commits(slave *s)
{
	char id[RS_ID_LEN + 1], q[200];
	int rc;

	rs_id_new(id);
	snprintf(q, sizeof(q), "commit.%s.%.8s", s->w->id, id);
	if ((rc = rs_mq_declare_queue(
	         s->mq, q, RS_MQ_EXCLUSIVE | RS_MQ_AUTODELETE))
	        != RS_OK
	    || (rc = rs_mq_bind(s->mq, q, RS_MQ_COMMIT_EXCHANGE)) != RS_OK
	    || (rc = rs_mq_consume(s->mq, q, true, s->commit_tag)) != RS_OK)
		s->commit_tag[0] = '\0';
	return rc;
}

/* Declares and consumes this slave's own read queue (auto-delete: it goes
 * with its last consumer, when this slave stops reading or disconnects).
 * Call after rs_mq_qos(READ_PREFETCH). */
static int
consume_own_reads(slave *s)
{
	char q[200];
	int rc;

	snprintf(q, sizeof(q), "%s%s", RS_Q_READ_PREFIX, s->w->id);
	if ((rc = rs_mq_declare_queue(s->mq, q, RS_MQ_AUTODELETE | RS_MQ_DLX))
	        != RS_OK
	    || (rc = rs_mq_consume(s->mq, q, false, s->own_tag)) != RS_OK)
		s->own_tag[0] = '\0';
	return rc;
}

/* Stops or resumes taking reads as the orchestrator asked: a lagging
 * slave cancels its readQ consumer and gives its parked reads back, so
 * the slaves within the lag limit answer them. */
static int
apply_pause(slave *s)
{
	bool want = s->pause_until != 0 && rs_time_now_ms() < s->pause_until;
	int rc = RS_OK;

	if (!s->reading || want == s->read_paused)
		return RS_OK;
	if (want) {
		rc = rs_mq_cancel(s->mq, s->read_tag);
		if (rc == RS_OK) {
			requeue_parked(s);
			s->read_paused = true;
		}
	} else {
		rc = rs_mq_consume(s->mq, RS_Q_READ, false, s->read_tag);
		if (rc == RS_OK)
			s->read_paused = false;
	}
	if (rc == RS_OK)
		rs_info(NULL, "event=%s applied_seq=%" PRIu64 " head=%" PRIu64,
		    want ? "reads_paused reason=lag" : "reads_resumed",
		    s->w->meta.applied_seq,
		    rs_worker_notice_master_head(s->w->notice));
	return rc;
}

static int
reconnect(slave *s)
{
	int rc;

	requeue_parked(s); /* the broker requeues them with the channel */
	events_free(s);
	rs_mq_destroy(s->mq);
	s->mq = NULL;
	s->commit_tag[0] = '\0';
	s->own_tag[0] = '\0';
	if ((rc = rs_worker_mq_open(s->w, RS_ROLE_SLAVE, true, &s->mq))
	    != RS_OK)
		return rc;
	if ((rc = rs_mq_qos(s->mq, SYNC_PREFETCH)) != RS_OK
	    || (rc = rs_mq_consume(
	            s->mq, s->w->sync_queue, false, s->sync_tag))
	        != RS_OK)
		return rc;
	if (s->reading
	    && ((rc = consume_commits(s)) != RS_OK
	        || (rc = rs_mq_qos(s->mq, READ_PREFETCH)) != RS_OK))
		return rc;
	s->read_paused = false; /* the new connection reads until told */
	s->pause_until = 0;
	if (s->reading
	    && ((rc = rs_mq_consume(s->mq, RS_Q_READ, false, s->read_tag))
	            != RS_OK
	        || (rc = consume_own_reads(s)) != RS_OK))
		return rc;
	return RS_OK;
}

/* Won the election: apply everything left in the sync queue, give the
 * parked reads back, delete the queue. */
static int
drain_and_promote(slave *s)
{
	rs_worker *w = s->w;
	int rc, got;

	rs_info(
	    NULL, "event=promoting applied_seq=%" PRIu64, w->meta.applied_seq);
	s->reading = false;
	if ((!s->read_paused
	        && (rc = rs_mq_cancel(s->mq, s->read_tag)) != RS_OK)
	    || (rc = rs_mq_cancel(s->mq, s->sync_tag)) != RS_OK
	    || (s->own_tag[0] != '\0'
	        && (rc = rs_mq_cancel(s->mq, s->own_tag)) != RS_OK)
	    || (s->commit_tag[0] != '\0'
	        && (rc = rs_mq_cancel(s->mq, s->commit_tag)) != RS_OK))
		return rc;
	requeue_parked(s);
	/* Deliveries sent before the cancel took effect. */
	do {
		if ((rc = pump(s, 0, &got)) != RS_OK)
			return rc;
	} while (got > 0);
	for (;;) {
		rs_mq_msg msg;
		while (s->nev < EVENT_BATCH
		    && (rc = rs_mq_get(s->mq, w->sync_queue, false, &msg))
		        == RS_OK)
			on_sync(s, &msg);
		rs_mq_msg_release(s->mq, &msg);
		if (rc != RS_OK && rc != RS_ENOTFOUND)
			return rc;
		bool last = s->nev < EVENT_BATCH;
		if ((rc = apply_events(s)) != RS_OK)
			return rc;
		if (last)
			break;
	}
	if ((rc = rs_mq_delete_queue(s->mq, w->sync_queue)) != RS_OK)
		return rc;
	rs_info(NULL, "event=drained applied_seq=%" PRIu64 " epoch=%" PRIu64,
	    w->meta.applied_seq, w->epoch);
	return RS_WORKER_PROMOTED;
}

static void
log_lag(slave *s)
{
	int64_t now = rs_time_now_ms();
	if (now - s->last_lag_log < 5000)
		return;
	s->last_lag_log = now;
	uint64_t head = rs_worker_notice_master_head(s->w->notice);
	uint64_t applied = s->w->meta.applied_seq;
	if (head > applied)
		rs_info(NULL,
		    "event=lag head=%" PRIu64 " applied_seq=%" PRIu64
		    " lag=%" PRIu64,
		    head, applied, head - applied);
}

/* Snapshot, replay of the queued events, then readQ (steps 4 of the
 * lifecycle). */
static int
catch_up(slave *s)
{
	rs_worker *w = s->w;
	Rideshare__WorkerInfo *mi;
	int rc, got;

	if ((rc = rs_worker_mq_open(w, RS_ROLE_SLAVE, true, &s->mq)) != RS_OK)
		return rc;
	if ((rc = rs_worker_zk_wait_master(w, &mi)) != RS_OK) {
		if (rc == RS_WORKER_PROMOTED)
			(void) rs_mq_delete_queue(s->mq, w->sync_queue);
		return rc;
	}
	rs_info(
	    NULL, "event=catching_up master=%s pid=%" PRId64, mi->id, mi->pid);
	rs_worker_notice_follow(w->notice, mi->nng_url);
	int64_t t0 = rs_time_now_ms();
	rc = rs_worker_snapshot(w, mi->pg_conninfo);
	rideshare__worker_info__free_unpacked(mi, NULL);
	if (rc != RS_OK)
		return rc;
	if ((rc = rs_mq_qos(s->mq, SYNC_PREFETCH)) != RS_OK
	    || (rc = rs_mq_consume(s->mq, w->sync_queue, false, s->sync_tag))
	        != RS_OK)
		return rc;
	/* Caught up: the queue was empty for a moment, or we reached the
	 * head the master announced. */
	for (;;) {
		if (!rs_worker_alive(w))
			return RS_ECLOSED;
		if ((rc = pump(s, 20, &got)) != RS_OK)
			return rc;
		uint64_t head = rs_worker_notice_master_head(w->notice);
		if (got == 0 || (head > 0 && w->meta.applied_seq >= head))
			break;
	}
	if ((rc = consume_commits(s)) != RS_OK
	    || (rc = rs_mq_qos(s->mq, READ_PREFETCH)) != RS_OK
	    || (rc = rs_mq_consume(s->mq, RS_Q_READ, false, s->read_tag))
	        != RS_OK
	    || (rc = consume_own_reads(s)) != RS_OK)
		return rc;
	s->reading = true;
	w->role = RIDESHARE__ROLE__SLAVE;
	rs_worker_notice_set(
	    w->notice, RS_ROLE_SLAVE, w->meta.applied_seq, w->meta.epoch);
	if ((rc = rs_worker_zk_update(w)) != RS_OK)
		return rc;
	rs_info(NULL,
	    "event=serving role=slave applied_seq=%" PRIu64 " catchup_ms=%lld",
	    w->meta.applied_seq, (long long) (rs_time_now_ms() - t0));
	return RS_OK;
}

int
rs_worker_slave_run(rs_worker *w)
{
	slave *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return RS_ENOMEM;
	s->w = w;
	if ((rc = catch_up(s)) != RS_OK)
		goto out;
	long ttl_s = rs_cfg_long("RIDESHARE_IDEMPOTENCY_TTL_S",
	    RS_WORKER_IDEMPOTENCY_TTL_S, 1, 3650L * 86400);
	int64_t pruned_ms = 0, plans_ms = rs_time_now_ms();
	while (rs_worker_alive(w)) {
		/* Each copy prunes its own keys by its own clock. */
		(void) rs_worker_store_prune(w->db, ttl_s, &pruned_ms);
		(void) rs_worker_store_refresh_plans(w->db, &plans_ms);
		if (atomic_exchange(&rs_worker_master_flag, 0)
		    | atomic_exchange(&rs_worker_workers_flag, 0)) {
			bool won;
			rc = rs_worker_zk_elect(w, &won);
			if (rc == RS_ECONN) {
				/* ZooKeeper reconnecting: try again soon. */
				atomic_store(&rs_worker_master_flag, 1);
				rc = RS_OK;
			} else if (rc != RS_OK) {
				break;
			}
			if (won) {
				rc = drain_and_promote(s);
				goto out;
			}
		}
		rc = pump(s, 50, NULL);
		if (rc == RS_ESTATE)
			break;
		if (rc == RS_OK)
			rc = apply_pause(s);
		if (s->gap_since != 0
		    && rs_time_now_ms() - s->gap_since > STALL_MS
		    && rs_worker_notice_master_head(w->notice)
		        > w->meta.applied_seq) {
			rs_error(NULL,
			    "event=replication_stalled applied_seq=%" PRIu64
			    " head=%" PRIu64 " action=exit_for_replacement",
			    w->meta.applied_seq,
			    rs_worker_notice_master_head(w->notice));
			rc = RS_ESTATE;
			break;
		}
		if (rc != RS_OK) {
			rs_warn(NULL, "event=mq_reconnect err=%s",
			    rs_strerror(rc));
			if ((rc = reconnect(s)) != RS_OK)
				break;
		}
		log_lag(s);
	}
	if (rc == RS_OK)
		rc = atomic_load(&rs_worker_stop_flag) ? RS_WORKER_STOPPED
		                                       : RS_ECLOSED;
out:
	if (s->mq != NULL && s->reading && !s->read_paused)
		(void) rs_mq_cancel(s->mq, s->read_tag);
	if (s->mq != NULL && s->reading && s->own_tag[0] != '\0')
		(void) rs_mq_cancel(s->mq, s->own_tag);
	requeue_parked(s);
	events_free(s);
	rs_worker_tail_fini(&s->tail);
	rs_mq_destroy(s->mq);
	rs_worker_park_fini(&s->park);
	rs_worker_replies_fini(&s->replies);
	free(s->batches);
	free(s);
	return rc;
}
