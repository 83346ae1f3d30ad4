#include "router.h"
#include "rs_contract.h"
#include "orch_metrics.h"
#include "rideshare.pb-c.h"
#include "rs_buf.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_thread.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_op.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define Q_ORCH            RS_Q_ORCHESTRATOR
#define Q_WRITE           RS_Q_WRITE
#define Q_READ            RS_Q_READ
#define Q_RESPONSE        RS_Q_RESPONSE
#define PREFETCH          512
#define RECONNECT_WAIT_MS 60000
/* Deliveries handled per pass of the loop before commit_seq is announced
 * (coalescing: one announcement per pass however many replies). */
#define PASS_MAX 256
/* Re-announce an unchanged commit_seq this often while a slave may be
 * holding a read (writes in flight, or a change in the last second)... */
#define ANNOUNCE_PERIOD_MS 200
/* ...and at least this often anyway (slaves that missed one: reconnect,
 * new queue). Below the slaves' read hold bound (2 s by default). */
#define ANNOUNCE_KEEPALIVE_MS 1000
#define SEED_EVERY_MS         100
/* How long a master's head must stay below commit_seq before commit_seq
 * follows it down (check_term): 4 status periods of the worker. */
#define TERM_RESET_AFTER_MS 2000

/* A read or write routed in this pass, not published yet (flush_reads,
 * flush_writes). */
typedef struct pending_read {
	Rideshare__DbRequest *req; /* decoded, stamped; freed by flush */
	char *caller_field; /* req->reply_to as decoded, restored to free */
	char reply_to[RS_REPLY_TO_MAX + 1];
} pending_read;

struct rs_orch_router {
	char *url;
	rs_orch_workers *w;
	rs_orch_autoscale *as;
	rs_mq *mq;
	char orch_tag[256];
	char resp_tag[256];
	rs_thread thr;
	_Atomic bool connected;
	_Atomic uint64_t commit_seq;
	uint64_t epoch; /* routing thread only */
	/* Highest epoch of a reply (or seeding master) that commit_seq came
	 * from: a master of that term or older never lowers it. Written by
	 * the routing thread only, always BEFORE the commit_seq it goes with
	 * (rs_orch_router_commit_point reads them in the other order). */
	_Atomic uint64_t commit_epoch;
	/* commitX announcements and the start-up seed, routing thread only */
	uint64_t announced;
	int64_t announced_ms, changed_ms, seed_ms;
	bool seeded;
	_Atomic bool reseed; /* rs_orch_router_reseed asked */
	char term_master[RS_ORCH_ID_MAX]; /* master whose head was checked */
	int64_t term_ms; /* last check_term */
	int64_t term_below_ms; /* since when the master's head < commit_seq */
	uint64_t term_target; /* commit_seq at term_below_ms */
	/* Lag-aware reads: the slaves told to take no new reads (ids,
	 * space-separated), as last announced. Routing thread only. */
	int64_t max_lag_ms;
	char paused[RS_ORCH_MAX_WORKERS * RS_ORCH_ID_MAX];
	uint8_t *buf; /* repack buffer */
	size_t bufcap;
	/* Highest delivery handled in this pass and not acknowledged yet
	 * (0: none): one basic.ack(multiple) at the end of the pass settles
	 * it and every earlier one (ack_later). Routing thread only. */
	uint64_t ack_tag;
	/* Reads for readQ gathered in this pass: published together (one
	 * ReadBatch) when the pass ends or RS_READ_BATCH_MAX are here, BEFORE
	 * the pass's ack. Routing thread only. */
	pending_read pending[RS_READ_BATCH_MAX];
	int npending;
	Rideshare__BatchedRead entries[RS_READ_BATCH_MAX];
	Rideshare__BatchedRead *entry_ptrs[RS_READ_BATCH_MAX];
	/* Writes for writeQ gathered in this pass, the same way (one
	 * WriteBatch, persistent, before the pass's ack). Each req->reply_to
	 * points at its own reply_to copy. Routing thread only. */
	pending_read wpending[RS_WRITE_BATCH_MAX];
	int nwpending;
	Rideshare__DbRequest *write_ptrs[RS_WRITE_BATCH_MAX];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
rs_orch_accept_reply(
    uint64_t epoch, uint64_t seq, uint64_t *cur_epoch, uint64_t *commit_seq)
{
	if (epoch < *cur_epoch)
		return false;
	*cur_epoch = epoch;
	if (seq > *commit_seq)
		*commit_seq = seq;
	return true;
}

size_t
rs_orch_reply_groups(
    const char *const *dest, size_t n, size_t *order, size_t *group_len)
{
	bool placed[RS_RESPONSE_BATCH_MAX] = { false };
	size_t groups = 0, k = 0;

	if (n > RS_RESPONSE_BATCH_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (placed[i] || dest[i] == NULL || dest[i][0] == '\0')
			continue;
		size_t start = k;
		for (size_t j = i; j < n; j++) {
			if (!placed[j] && dest[j] != NULL
			    && strcmp(dest[j], dest[i]) == 0) {
				placed[j] = true;
				order[k++] = j;
			}
		}
		group_len[groups++] = k - start;
	}
	return groups;
}

int
rs_orch_router_create(const char *amqp_url, rs_orch_workers *w,
    rs_orch_autoscale *as, rs_orch_router **out)
{
	rs_orch_router *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->url = strdup(amqp_url)) == NULL) {
		free(r);
		return RS_ENOMEM;
	}
	r->w = w;
	r->as = as;
	r->max_lag_ms = rs_cfg_long(
	    "RIDESHARE_MAX_LAG_MS", RS_ORCH_MAX_LAG_MS, 1, 3600000);
	*out = r;
	return RS_OK;
}

/* Packs msg into the router's buffer and publishes it to queue (default
 * exchange) with props: every message the router sends but the replies
 * it forwards (forward_group). */
static int
publish_packed(rs_orch_router *r, const char *queue,
    const ProtobufCMessage *msg, const rs_mq_props *props)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	int rv = rs_reserve(&r->buf, &r->bufcap, len);

	if (rv != RS_OK)
		return rv;
	protobuf_c_message_pack(msg, r->buf);
	return rs_mq_publish(r->mq, "", queue, r->buf, len, props);
}

/* Marks a handled delivery for the pass's one basic.ack(multiple)
 * (flush_acks): deliveries of the one channel are handled strictly in
 * order, each published on (or rejected) before the next, so acking up to
 * the last handled tag acknowledges exactly the handled ones. Rejected
 * deliveries are settled on their own (bad_message) and never become
 * ack_tag, so the tag acked is always an outstanding one. */
static int
ack_later(rs_orch_router *r, uint64_t tag)
{
	r->ack_tag = tag;
	return RS_OK;
}

static int
flush_acks(rs_orch_router *r)
{
	uint64_t tag = r->ack_tag;

	if (tag == 0)
		return RS_OK;
	r->ack_tag = 0;
	return rs_mq_ack(r->mq, tag, true);
}

static int
setup(rs_orch_router *r, int wait_ms)
{
	int rv;

	rv = rs_mq_connect_retry(
	    r->url, "rideshare-orchestrator-router", wait_ms, &r->mq);
	if (rv != RS_OK)
		return rv;
	if ((rv = rs_mq_declare_topology(r->mq)) != RS_OK
	    || (rv = rs_mq_qos(r->mq, PREFETCH)) != RS_OK
	    || (rv = rs_mq_consume(r->mq, Q_RESPONSE, false, r->resp_tag))
	        != RS_OK
	    || (rv = rs_mq_consume(r->mq, Q_ORCH, false, r->orch_tag))
	        != RS_OK) {
		rs_mq_destroy(r->mq);
		r->mq = NULL;
		return rv;
	}
	atomic_store(&r->connected, true);
	r->announced_ms = 0; /* announce at once on this connection */
	rs_info(NULL, "event=router_ready queues=%s,%s", Q_ORCH, Q_RESPONSE);
	return RS_OK;
}

static void
bad_message(rs_orch_router *r, const rs_mq_msg *m, const char *queue,
    const char *why, rs_metric *metric)
{
	rs_metric_add(metric, 1);
	rs_warn(NULL,
	    "event=bad_message queue=%s len=%zu reason=\"%s\" "
	    "action=dead_letter",
	    queue, m->len, why);
	(void) rs_mq_reject(r->mq, m->delivery_tag, false);
}

/* Where one request came from: its reply address and correlation id, and
 * the delivery that carried it (a RequestBatch's entries share one). */
typedef struct rs_call {
	const char *reply_to; /* "" when none */
	const char *correlation_id;
	uint64_t delivery_tag;
} rs_call;

/* Answers a request at once with status and why (no worker sees it). */
static int
reply_now(rs_orch_router *r, const rs_call *c, const Rideshare__DbRequest *req,
    Rideshare__Status status, const char *why)
{
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	rs_mq_props props = { .correlation_id = c->correlation_id };
	int rv = RS_OK;

	resp.request_id = req->request_id;
	resp.status = status;
	resp.error = (char *) why;
	if (c->reply_to[0] != '\0')
		rv = publish_packed(r, c->reply_to, &resp.base, &props);
	if (rv == RS_OK)
		rv = ack_later(r, c->delivery_tag);
	return rv;
}

/* Answers a write at once with UNAVAILABLE while a full-cluster recovery
 * refuses writes: a clear error instead of a write parked in writeQ until
 * the caller times out (docs/failover.md "When a copy is missing"). */
static int
refuse_write(
    rs_orch_router *r, const rs_call *c, const Rideshare__DbRequest *req)
{
	rs_metric_add(&rs_orch_m_writes_refused, 1);
	rs_warn(
	    req->request_id, "event=write_refused reason=recovery_blocked");
	return reply_now(r, c, req, RIDESHARE__STATUS__UNAVAILABLE,
	    "writes refused: the copy holding the last "
	    "acknowledged writes is missing; see /readyz");
}

static void raise_commit(rs_orch_router *r, uint64_t seq);

/* The min_seq a read goes out with (docs/gateway.md "Consistency"), from
 * the caller's token (req->min_seq, X-RideShare-Min-Seq) and the level:
 * linearizable max(commit_seq, token), session the token, any 0. A token
 * above commit_seq but within the master's head was shown to a client (a
 * session or any read of a slave ahead of the acknowledgements): it is a
 * committed seq, so commit_seq rises to it and later linearizable reads
 * include it too.
 * false: the token is beyond every seq this orchestrator heard of. */
static bool
stamp_read(rs_orch_router *r, Rideshare__DbRequest *req)
{
	uint64_t token = req->min_seq;
	uint64_t c = atomic_load(&r->commit_seq);
	uint64_t head = r->w != NULL ? rs_orch_workers_head(r->w) : 0;
	uint64_t top = c > head ? c : head;

	if (token > top && token - top > RS_ORCH_MIN_SEQ_SLACK)
		return false;
	switch (req->consistency) {
	case RIDESHARE__CONSISTENCY__ANY: req->min_seq = 0; break;
	case RIDESHARE__CONSISTENCY__SESSION: req->min_seq = token; break;
	default:
		req->consistency = RIDESHARE__CONSISTENCY__LINEARIZABLE;
		/* Only a seq the master announced: a made-up token must
		 * not make every client's reads wait for it. Above the head
		 * (a head notice still on its way) it stamps this read
		 * alone. */
		if (token > c && token <= head)
			raise_commit(r, token);
		req->min_seq = token > c ? token : c;
		break;
	}
	return true;
}

/* The queue of a read the gateway sent a second time (DbRequest.resend):
 * the first copy is most likely held by a hung slave, which readQ may hand
 * this one to as well while its prefetch window has room. So it goes to
 * one slave's own queue (rs_orch_roster_resend_target: the gateway's hint,
 * else the slave heard from last), readQ only when no slave takes reads.
 * own (len bytes) holds the name. */
static const char *
resend_queue(
    rs_orch_router *r, const Rideshare__DbRequest *req, char *own, size_t len)
{
	char id[RS_ORCH_ID_MAX];

	if (r->w == NULL
	    || !rs_orch_workers_resend_target(
	        r->w, req->resend_to, id, sizeof(id))) {
		rs_metric_add(&rs_orch_m_resend_shared, 1);
		rs_info(req->request_id, "event=read_resend to=%s hint=%s",
		    Q_READ, req->resend_to[0] ? req->resend_to : "-");
		return Q_READ;
	}
	snprintf(own, len, "%s%s", RS_Q_READ_PREFIX, id);
	rs_metric_add(&rs_orch_m_resend_slave, 1);
	rs_info(req->request_id, "event=read_resend to=%s hint=%s", own,
	    req->resend_to[0] ? req->resend_to : "-");
	return own;
}

static void
pending_free(pending_read *pending, int *n)
{
	for (int i = 0; i < *n; i++) {
		pending_read *p = &pending[i];

		p->req->reply_to = p->caller_field;
		rideshare__db_request__free_unpacked(p->req, NULL);
	}
	*n = 0;
}

/* Publishes the reads gathered in this pass to readQ: one alone as the
 * plain DbRequest (what a quiet system sends, as before batching), two or
 * more as one ReadBatch message (docs/replication.md "Read batches"): one
 * publish, one delivery and one ack instead of one each per read. Only
 * what is already gathered goes: nothing ever waits for a batch to fill.
 * Called before the pass's ack (flush_acks), so that a read's delivery is
 * acknowledged only once it was published. */
static int
flush_reads(rs_orch_router *r)
{
	rs_mq_props props = { 0 };
	int n = r->npending, rv;

	if (n == 0)
		return RS_OK;
	if (n == 1) {
		Rideshare__DbRequest *req = r->pending[0].req;

		props.reply_to = r->pending[0].reply_to;
		props.correlation_id = req->request_id;
		rv = publish_packed(r, Q_READ, &req->base, &props);
	} else {
		Rideshare__ReadBatch b = RIDESHARE__READ_BATCH__INIT;

		for (int i = 0; i < n; i++) {
			rideshare__batched_read__init(&r->entries[i]);
			r->entries[i].request = r->pending[i].req;
			r->entries[i].reply_to = r->pending[i].reply_to;
			r->entry_ptrs[i] = &r->entries[i];
		}
		b.n_reads = (size_t) n;
		b.reads = r->entry_ptrs;
		props.content_type = RS_CT_READ_BATCH;
		rv = publish_packed(r, Q_READ, &b.base, &props);
		if (rv == RS_OK) {
			rs_metric_add(&rs_orch_m_read_batches, 1);
			rs_metric_add(&rs_orch_m_read_batched, (uint64_t) n);
		}
	}
	pending_free(r->pending, &r->npending);
	return rv;
}

/* Room for req (owned from here) in a pass's list of n gathered of max:
 * a full list is flushed first. If that fails nothing of this pass is
 * acknowledged: it all comes back with the channel (reads are
 * idempotent, writes deduped by request_id); req is freed. */
static int
make_room(rs_orch_router *r, int n, int max, int (*flush)(rs_orch_router *),
    Rideshare__DbRequest *req, char *caller_field)
{
	int rv;

	if (n < max)
		return RS_OK;
	rv = flush(r);
	if (rv == RS_OK)
		return RS_OK;
	r->ack_tag = 0;
	req->reply_to = caller_field;
	rideshare__db_request__free_unpacked(req, NULL);
	return rv;
}

/* Appends req to list (*n entries), answering to reply_to (copied). */
static pending_read *
keep(pending_read *list, int *n, Rideshare__DbRequest *req, char *caller_field,
    const char *reply_to)
{
	pending_read *p = &list[(*n)++];

	p->req = req;
	p->caller_field = caller_field;
	snprintf(p->reply_to, sizeof(p->reply_to), "%s", reply_to);
	return p;
}

/* Keeps a stamped read for flush_reads (it owns req from here). */
static int
gather_read(rs_orch_router *r, const rs_call *c, Rideshare__DbRequest *req,
    char *caller_field)
{
	int rv = make_room(
	    r, r->npending, RS_READ_BATCH_MAX, flush_reads, req, caller_field);

	if (rv == RS_OK)
		keep(r->pending, &r->npending, req, caller_field, c->reply_to);
	return rv;
}

/* Publishes the writes gathered in this pass to writeQ, persistent: one
 * alone as the plain DbRequest (as before batching), two or more as one
 * WriteBatch message (docs/replication.md "Write batches"): one publish,
 * one delivery and one ack instead of one each per write. Only what is
 * already gathered goes: nothing ever waits for a batch to fill. Called
 * before the pass's ack (flush_acks), so that a write's delivery is
 * acknowledged only once the broker has its copy on writeQ. */
static int
flush_writes(rs_orch_router *r)
{
	rs_mq_props props = { .persistent = true };
	Rideshare__WriteBatch b = RIDESHARE__WRITE_BATCH__INIT;
	int n = r->nwpending, rv;
	const ProtobufCMessage *msg;

	if (n == 0)
		return RS_OK;
	props.correlation_id = r->wpending[0].req->request_id;
	if (n == 1) {
		msg = &r->wpending[0].req->base;
	} else {
		for (int i = 0; i < n; i++)
			r->write_ptrs[i] = r->wpending[i].req;
		b.n_writes = (size_t) n;
		b.writes = r->write_ptrs;
		props.content_type = RS_CT_WRITE_BATCH;
		msg = &b.base;
	}
	rv = publish_packed(r, Q_WRITE, msg, &props);
	if (rv == RS_OK && n > 1) {
		rs_metric_add(&rs_orch_m_write_batches, 1);
		rs_metric_add(&rs_orch_m_write_batched, (uint64_t) n);
	}
	pending_free(r->wpending, &r->nwpending);
	return rv;
}

/* Keeps a write for flush_writes (it owns req from here); its reply_to
 * becomes the caller's address (reply_to, copied). */
static int
gather_write(rs_orch_router *r, Rideshare__DbRequest *req, char *caller_field,
    const char *reply_to)
{
	int rv = make_room(r, r->nwpending, RS_WRITE_BATCH_MAX, flush_writes,
	    req, caller_field);

	if (rv == RS_OK) {
		pending_read *p = keep(
		    r->wpending, &r->nwpending, req, caller_field, reply_to);
		req->reply_to = p->reply_to;
	}
	return rv;
}

/* Routes one decoded request (owned from here) that came as c: a write
 * gathered for writeQ, a read gathered for readQ (or its own slave's queue
 * when resent), or an answer at once. */
static int
route_call(rs_orch_router *r, const rs_call *c, Rideshare__DbRequest *req)
{
	rs_mq_props props = { 0 };
	const char *queue;
	char own[sizeof(RS_Q_READ_PREFIX) + RS_ORCH_ID_MAX];
	char *caller_field;
	int rv;
	bool write;

	write = rs_op_is_write(req->op_case);
	if (write && r->w != NULL
	    && rs_orch_workers_recovery_blocked(r->w, NULL, 0)) {
		rv = refuse_write(r, c, req);
		rideshare__db_request__free_unpacked(req, NULL);
		return rv;
	}
	/* reply_to is set below to strings we do not own; the decoded one
	 * goes back before the message is freed. */
	caller_field = req->reply_to;
	if (write) {
		/* The master replies to responseQ; the caller's address
		 * travels inside the message. */
		req->reply_to = (char *) c->reply_to;
		req->min_seq = 0;
		props.persistent = true;
		props.correlation_id = req->request_id;
		queue = Q_WRITE;
	} else {
		if (!stamp_read(r, req)) {
			rs_metric_add(&rs_orch_m_req_bad, 1);
			rv = reply_now(r, c, req, RIDESHARE__STATUS__INVALID,
			    "min_seq is beyond every committed write");
			rideshare__db_request__free_unpacked(req, NULL);
			return rv;
		}
		req->reply_to = (char *) "";
		props.reply_to = c->reply_to[0] ? c->reply_to : NULL;
		props.correlation_id = c->correlation_id;
		queue = Q_READ;
		if (req->resend)
			queue = resend_queue(r, req, own, sizeof(own));
	}
	/* Forward only what the contract knows (rs_op_drop_unknown). */
	rs_op_drop_unknown(&req->base);
	/* A write waits for the end of the pass, to go out together with the
	 * others (flush_writes); the master answers each by its request_id
	 * on its reply_to, whatever the message it came in. */
	if (write && strlen(c->reply_to) <= RS_REPLY_TO_MAX) {
		rs_debug(req->request_id,
		    "event=routed op=%s queue=%s batched=1",
		    rs_op_name(req->op_case), queue);
		rs_metric_add(&rs_orch_m_req_write, 1);
		rv = gather_write(r, req, caller_field, c->reply_to);
		if (rv == RS_OK)
			rv = ack_later(r, c->delivery_tag);
		return rv;
	}
	/* A read for readQ that a slave can answer by request_id alone (the
	 * gateways' calls: correlation id = request_id) waits for the end of
	 * the pass, to go out together with the others (flush_reads). */
	if (!write && !req->resend && c->reply_to[0] != '\0'
	    && strlen(c->reply_to) <= RS_REPLY_TO_MAX
	    && strcmp(props.correlation_id, req->request_id) == 0) {
		rs_debug(req->request_id,
		    "event=routed op=%s queue=%s min_seq=%" PRIu64
		    " batched=1",
		    rs_op_name(req->op_case), queue, req->min_seq);
		rs_metric_add(&rs_orch_m_req_read, 1);
		if (r->as != NULL)
			rs_orch_autoscale_count_read(r->as, mono_ms());
		rv = gather_read(r, c, req, caller_field);
		if (rv == RS_OK)
			rv = ack_later(r, c->delivery_tag);
		return rv;
	}
	rv = publish_packed(r, queue, &req->base, &props);
	if (rv == RS_OK) {
		rs_debug(req->request_id,
		    "event=routed op=%s queue=%s min_seq=%" PRIu64,
		    rs_op_name(req->op_case), queue, req->min_seq);
		if (write) {
			rs_metric_add(&rs_orch_m_req_write, 1);
		} else {
			rs_metric_add(&rs_orch_m_req_read, 1);
			if (r->as != NULL && !req->resend)
				rs_orch_autoscale_count_read(r->as, mono_ms());
		}
		rv = ack_later(r, c->delivery_tag);
	}
	req->reply_to = caller_field;
	rideshare__db_request__free_unpacked(req, NULL);
	return rv;
}

/* One delivery of the orchestrator queue: a DbRequest, or a RequestBatch
 * (RS_CT_REQUEST_BATCH: a gateway's calls in flight together, all answered
 * on the message's reply_to, each correlated by its request_id). A batch
 * that does not check out is dead-lettered whole (rs_op_request_batch_decode).
 * Its entries are routed in order; if one cannot be published the whole
 * delivery comes back with the channel (reads are idempotent, writes are
 * deduped by request_id). */
static int
route_request(rs_orch_router *r, const rs_mq_msg *m)
{
	Rideshare__DbRequest *req;
	Rideshare__RequestBatch *b;
	rs_call c
	    = { .reply_to = m->reply_to, .delivery_tag = m->delivery_tag };
	const char *why;
	int rv = RS_OK;

	if (strcmp(m->content_type, RS_CT_REQUEST_BATCH) != 0) {
		why = rs_op_request_decode(m->body, m->len, &req);
		if (why != NULL) {
			bad_message(r, m, Q_ORCH, why, &rs_orch_m_req_bad);
			return RS_OK;
		}
		c.correlation_id = m->correlation_id[0] ? m->correlation_id
		                                        : req->request_id;
		return route_call(r, &c, req);
	}
	why = rs_op_request_batch_decode(m->body, m->len, &b);
	if (why != NULL) {
		bad_message(r, m, Q_ORCH, why, &rs_orch_m_req_bad);
		return RS_OK;
	}
	rs_metric_add(&rs_orch_m_req_batches, 1);
	rs_metric_add(&rs_orch_m_req_batched, (uint64_t) b->n_requests);
	for (size_t i = 0; i < b->n_requests; i++) {
		req = b->requests[i];
		b->requests[i] = NULL;
		c.correlation_id = req->request_id;
		if (rv == RS_OK)
			rv = route_call(r, &c, req);
		else
			rideshare__db_request__free_unpacked(req, NULL);
	}
	b->n_requests = 0;
	rideshare__request_batch__free_unpacked(b, NULL);
	return rv;
}

/* commit_seq only grows; the routing thread is its only writer. */
static void
raise_commit(rs_orch_router *r, uint64_t seq)
{
	if (seq <= atomic_load(&r->commit_seq))
		return;
	atomic_store(&r->commit_seq, seq);
	rs_metric_set(&rs_orch_m_commit_seq, seq);
}

/* The epoch/seq acceptance of one write reply (rs_orch_accept_reply)
 * against *commit, which the caller raises before it forwards anything:
 * once a caller can see a reply, every read routed afterwards carries
 * min_seq >= its seq. false: a stale reply, counted and to be dropped. */
static bool
accept_reply(
    rs_orch_router *r, const Rideshare__DbResponse *resp, uint64_t *commit)
{
	uint64_t before = *commit;

	if (!rs_orch_accept_reply(resp->epoch, resp->seq, &r->epoch, commit)) {
		rs_metric_add(&rs_orch_m_reply_stale, 1);
		rs_warn(resp->request_id,
		    "event=stale_reply epoch=%" PRIu64
		    " current_epoch=%" PRIu64 " worker=%s seq=%" PRIu64
		    " action=drop",
		    resp->epoch, r->epoch,
		    resp->worker_id ? resp->worker_id : "", resp->seq);
		return false;
	}
	/* Before the commit_seq it goes with (rs_orch_router_commit_point). */
	if (*commit > before && resp->epoch > r->commit_epoch)
		r->commit_epoch = resp->epoch;
	return true;
}

static void
learn_epoch(rs_orch_router *r)
{
	uint64_t zk_epoch = r->w != NULL ? rs_orch_workers_epoch(r->w) : 0;

	if (zk_epoch > r->epoch)
		r->epoch = zk_epoch;
}

/* Forwards the n replies of one destination as one message
 * (rs_op_pack_replies: a plain DbResponse when n == 1, else a
 * ResponseBatch). Unknown fields are dropped first (rs_op_drop_unknown). */
static int
forward_group(rs_orch_router *r, Rideshare__DbResponse **resps, size_t n)
{
	rs_op_reply_msg msg;
	int rv;

	for (size_t i = 0; i < n; i++)
		rs_op_drop_unknown(&resps[i]->base);
	rv = rs_op_pack_replies(resps, n, &r->buf, &r->bufcap, &msg);
	if (rv != RS_OK)
		return rv;
	rs_mq_props props = { .correlation_id = msg.correlation_id,
		.content_type = msg.content_type };
	rv = rs_mq_publish(
	    r->mq, "", resps[0]->reply_to, r->buf, msg.len, &props);
	if (rv == RS_OK)
		rs_metric_add(&rs_orch_m_reply_fwd, n);
	return rv;
}

/* A master's ResponseBatch (the replies of one committed batch): every
 * entry is accepted or dropped as a single reply would be, commit_seq is
 * raised to the highest accepted seq before anything is forwarded, then
 * the accepted entries go out grouped by caller address
 * (rs_orch_reply_groups). One that does not decode is dead-lettered. If a
 * publish fails the delivery comes back with the channel: its callers
 * may get a reply twice, which they drop (rs_rpc). */
static int
route_reply_batch(rs_orch_router *r, const rs_mq_msg *m)
{
	Rideshare__ResponseBatch *b;
	Rideshare__DbResponse *ok[RS_RESPONSE_BATCH_MAX];
	Rideshare__DbResponse *grp[RS_RESPONSE_BATCH_MAX];
	const char *dest[RS_RESPONSE_BATCH_MAX];
	size_t order[RS_RESPONSE_BATCH_MAX], glen[RS_RESPONSE_BATCH_MAX];
	size_t nok = 0;
	int rv = RS_OK;

	const char *why = rs_op_response_batch_decode(m->body, m->len, &b);
	if (why != NULL) {
		bad_message(r, m, Q_RESPONSE, why, &rs_orch_m_reply_bad);
		return RS_OK;
	}
	rs_metric_add(&rs_orch_m_reply_batches, 1);
	rs_metric_add(&rs_orch_m_reply_batched, (uint64_t) b->n_responses);
	learn_epoch(r);
	uint64_t commit = atomic_load(&r->commit_seq);
	for (size_t i = 0; i < b->n_responses; i++) {
		Rideshare__DbResponse *e = b->responses[i];
		if (!accept_reply(r, e, &commit))
			continue;
		if (e->reply_to == NULL || e->reply_to[0] == '\0')
			rs_debug(e->request_id, "event=reply_without_address");
		dest[nok] = e->reply_to;
		ok[nok++] = e;
	}
	raise_commit(r, commit);
	size_t groups = rs_orch_reply_groups(dest, nok, order, glen);
	for (size_t g = 0, at = 0; g < groups && rv == RS_OK; g++) {
		for (size_t k = 0; k < glen[g]; k++)
			grp[k] = ok[order[at + k]];
		rv = forward_group(r, grp, glen[g]);
		at += glen[g];
	}
	if (rv == RS_OK)
		rv = ack_later(r, m->delivery_tag);
	rideshare__response_batch__free_unpacked(b, NULL);
	return rv;
}

/* A write reply on responseQ: one DbResponse, forwarded as it came, or a
 * ResponseBatch (content type RS_CT_RESPONSE_BATCH, route_reply_batch). */
static int
route_reply(rs_orch_router *r, const rs_mq_msg *m)
{
	Rideshare__DbResponse *resp;
	rs_mq_props props = { 0 };
	int rv = RS_OK;

	if (strcmp(m->content_type, RS_CT_RESPONSE_BATCH) == 0)
		return route_reply_batch(r, m);
	resp = rideshare__db_response__unpack(NULL, m->len, m->body);
	if (resp == NULL) {
		bad_message(r, m, Q_RESPONSE, "not a DbResponse",
		    &rs_orch_m_reply_bad);
		return RS_OK;
	}
	learn_epoch(r);
	uint64_t commit = atomic_load(&r->commit_seq);
	if (!accept_reply(r, resp, &commit)) {
		rideshare__db_response__free_unpacked(resp, NULL);
		return ack_later(r, m->delivery_tag);
	}
	raise_commit(r, commit);
	if (resp->reply_to != NULL && resp->reply_to[0] != '\0') {
		props.correlation_id = resp->request_id;
		rv = rs_mq_publish(
		    r->mq, "", resp->reply_to, m->body, m->len, &props);
		if (rv == RS_OK)
			rs_metric_add(&rs_orch_m_reply_fwd, 1);
	} else {
		rs_debug(resp->request_id, "event=reply_without_address");
	}
	if (rv == RS_OK)
		rv = ack_later(r, m->delivery_tag);
	rideshare__db_response__free_unpacked(resp, NULL);
	return rv;
}

/* A restarted orchestrator starts with commit_seq 0 while the writes its
 * previous instance acknowledged are in the master's database: take the
 * master's applied seq (its status notices) once, as soon as one is known.
 * Higher than acknowledged is safe: reads then wait for writes that are
 * committed (and so about to reach the slaves). Fresh stack: 0. */
void
rs_orch_router_reseed(rs_orch_router *r)
{
	atomic_store(&r->reseed, true);
}

static void
seed_commit(rs_orch_router *r, int64_t now)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX];

	if (atomic_exchange(&r->reseed, false))
		r->seeded = false;
	if (r->seeded || r->w == NULL || now - r->seed_ms < SEED_EVERY_MS)
		return;
	r->seed_ms = now;
	size_t n
	    = rs_orch_workers_snapshot(r->w, t, RS_ORCH_MAX_WORKERS, master);
	int m = rs_orch_roster_master(t, n, master, true);
	if (m < 0 || t[m].status_ms == 0)
		return;
	r->seeded = true;
	if (t[m].epoch > r->commit_epoch)
		r->commit_epoch = t[m].epoch;
	rs_info(NULL,
	    "event=commit_seq_seeded master=%s applied_seq=%" PRIu64
	    " commit_seq=%" PRIu64,
	    t[m].id, t[m].applied_seq, atomic_load(&r->commit_seq));
	raise_commit(r, t[m].applied_seq);
}

/* A new master term whose head stays below commit_seq can only come from a
 * recovery that accepted a loss: the seqs above its head will be reused,
 * so commit_seq follows the head down, or every read would wait for a seq
 * no one will reach (docs/failover.md). A normal failover never lowers it:
 * the new master drained every write acknowledged before. Two guards keep
 * a healthy master from lowering it: the master's status must name a term
 * newer than every reply commit_seq came from (under steady writes the
 * head in a status notice is always a little behind commit_seq: CI saw a
 * reset there and reads then missed acknowledged writes), and its head
 * must stay below the commit_seq seen first for TERM_RESET_AFTER_MS (a
 * late status notice from before the promotion shows a lower seq for a
 * moment). */
static void
check_term(rs_orch_router *r, int64_t now)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX];
	size_t n;
	int m;

	if (r->w == NULL || now - r->term_ms < SEED_EVERY_MS)
		return;
	r->term_ms = now;
	n = rs_orch_workers_snapshot(r->w, t, RS_ORCH_MAX_WORKERS, master);
	m = rs_orch_roster_master(t, n, master, true);
	if (m < 0)
		return;
	if (strcmp(t[m].id, r->term_master) != 0) {
		snprintf(
		    r->term_master, sizeof(r->term_master), "%s", t[m].id);
		r->term_below_ms = 0;
	}
	uint64_t c = atomic_load(&r->commit_seq);
	if (t[m].epoch <= r->commit_epoch || t[m].applied_seq >= c
	    || (r->term_below_ms != 0 && t[m].applied_seq >= r->term_target)) {
		r->term_below_ms = 0;
		return;
	}
	if (r->term_below_ms == 0) {
		r->term_below_ms = now;
		r->term_target = c;
	}
	if (now - r->term_below_ms < TERM_RESET_AFTER_MS)
		return;
	r->term_below_ms = 0;
	rs_warn(NULL,
	    "event=commit_seq_reset master=%s from=%" PRIu64 " to=%" PRIu64
	    " reason=master_head_below_commit_seq",
	    t[m].id, c, t[m].applied_seq);
	r->commit_epoch = t[m].epoch;
	atomic_store(&r->commit_seq, t[m].applied_seq);
	rs_metric_set(&rs_orch_m_commit_seq, t[m].applied_seq);
	rs_metric_add(&rs_orch_m_commit_seq_resets, 1);
}

/* Publishes commit_seq to commitX (docs/orchestrator.md): at once when it
 * changed (once per pass, however many replies the pass forwarded) or
 * the set of slaves that take no new reads changed, every
 * ANNOUNCE_PERIOD_MS while a slave may hold a read for it, and every
 * ANNOUNCE_KEEPALIVE_MS anyway. Slaves release a read computed at applied
 * seq a only once they know commit_seq >= a. Body: "<commit_seq>", then
 * " pause <id> <id>..." naming the slaves beyond RIDESHARE_MAX_LAG_MS
 * (docs/replication.md "Lag and read routing"). */
static int
announce(rs_orch_router *r, int64_t now)
{
	uint64_t c = atomic_load(&r->commit_seq);
	int64_t since = now - r->announced_ms;
	char paused[sizeof(r->paused)] = "";
	bool due;

	if (r->w != NULL) {
		rs_orch_workers_lag(r->w, r->max_lag_ms, now);
		rs_orch_workers_read_paused(r->w, paused, sizeof(paused));
	}
	if (c != r->announced || strcmp(paused, r->paused) != 0) {
		r->changed_ms = now;
		due = true;
	} else if (since >= ANNOUNCE_KEEPALIVE_MS) {
		due = true;
	} else {
		uint64_t head = r->w != NULL ? rs_orch_workers_head(r->w) : 0;
		due = since >= ANNOUNCE_PERIOD_MS
		    && (head > c
		        || now - r->changed_ms < ANNOUNCE_KEEPALIVE_MS);
	}
	if (!due)
		return RS_OK;
	char body[24 + sizeof(paused) + 8];
	int len = paused[0] != '\0'
	    ? snprintf(body, sizeof(body), "%" PRIu64 " pause %s", c, paused)
	    : snprintf(body, sizeof(body), "%" PRIu64, c);
	rs_mq_props props = { .content_type = "text/plain" };
	int rv = rs_mq_publish(
	    r->mq, RS_MQ_COMMIT_EXCHANGE, "", body, (size_t) len, &props);
	if (rv == RS_OK) {
		if (strcmp(paused, r->paused) != 0)
			rs_info(
			    NULL, "event=read_pauses slaves=\"%s\"", paused);
		r->announced = c;
		r->announced_ms = now;
		memcpy(r->paused, paused, sizeof(paused));
		rs_metric_add(&rs_orch_m_commit_announce, 1);
	}
	return rv;
}

static void *
run(void *arg)
{
	rs_orch_router *r = arg;
	rs_mq_msg m;

	while (!rs_thread_stopping(&r->thr)) {
		int rv;

		if (r->mq == NULL) {
			rv = setup(r, 1000);
			if (rv != RS_OK) {
				rs_warn(NULL, "event=router_reconnect err=%s",
				    rs_strerror(rv));
				continue;
			}
		}
		seed_commit(r, mono_ms());
		check_term(r, mono_ms());
		/* One pass: what is there (the first wait up to 100 ms),
		 * then one announcement of commit_seq if it changed. */
		rv = rs_mq_next(r->mq, 100, &m);
		for (int n = 0; rv == RS_OK;) {
			if (strcmp(m.consumer_tag, r->resp_tag) == 0)
				rv = route_reply(r, &m);
			else
				rv = route_request(r, &m);
			rs_mq_msg_release(r->mq, &m);
			if (rv != RS_OK || ++n >= PASS_MAX)
				break;
			rv = rs_mq_next(r->mq, 0, &m);
		}
		if (rv == RS_ETIMEDOUT)
			rv = RS_OK;
		/* The gathered writes and reads first, then one ack for the
		 * pass (ack_later), also before a teardown: what was handled
		 * is not delivered again. Requests that could not be
		 * published are not acknowledged: they come back with the
		 * channel. */
		{
			int frv = flush_writes(r);

			if (frv == RS_OK)
				frv = flush_reads(r);
			else
				pending_free(r->pending, &r->npending);

			if (frv != RS_OK) {
				r->ack_tag = 0;
				if (rv == RS_OK)
					rv = frv;
			}
			int arv = flush_acks(r);

			if (rv == RS_OK)
				rv = arv;
		}
		if (rv == RS_OK)
			rv = announce(r, mono_ms());
		if (rv != RS_OK) {
			/* Unacked deliveries return to their queues with
			 * the channel; a write may then run twice, which the
			 * master's request_id dedupe absorbs. */
			rs_error(NULL, "event=router_connection_lost err=%s",
			    rs_strerror(rv));
			atomic_store(&r->connected, false);
			rs_mq_destroy(r->mq);
			r->mq = NULL;
		}
	}
	return NULL;
}

int
rs_orch_router_start(rs_orch_router *r, int connect_wait_ms)
{
	int rv = setup(r, connect_wait_ms);

	if (rv != RS_OK) {
		rs_error(
		    NULL, "event=amqp_unreachable err=%s", rs_strerror(rv));
		return rv;
	}
	return rs_thread_start(&r->thr, run, r);
}

void
rs_orch_router_stop(rs_orch_router *r)
{
	if (!r->thr.started)
		return;
	rs_thread_stop(&r->thr);
	atomic_store(&r->connected, false);
}

void
rs_orch_router_destroy(rs_orch_router *r)
{
	if (r == NULL)
		return;
	rs_orch_router_stop(r);
	pending_free(r->pending, &r->npending);
	pending_free(r->wpending, &r->nwpending);
	rs_mq_destroy(r->mq);
	free(r->buf);
	free(r->url);
	free(r);
}

uint64_t
rs_orch_router_commit_seq(rs_orch_router *r)
{
	return atomic_load(&r->commit_seq);
}

void
rs_orch_router_commit_point(
    rs_orch_router *r, uint64_t *commit_seq, uint64_t *commit_epoch)
{
	*commit_seq = atomic_load(&r->commit_seq);
	*commit_epoch = atomic_load(&r->commit_epoch);
}

bool
rs_orch_router_connected(rs_orch_router *r)
{
	return atomic_load(&r->connected);
}
