/* DbRequest -> DbResponse over RabbitMQ with direct reply-to.
 *
 * The reply pseudo-queue amq.rabbitmq.reply-to is consumed (no_ack) on the
 * same channel that publishes, before the first publish, as RabbitMQ
 * requires. Replies are matched by correlation id; anything else (a late
 * answer to a call that timed out) is dropped. A ResponseBatch (a slave
 * sends the replies of one step to one address together, content type
 * RS_CT_RESPONSE_BATCH) is matched by the request_id of each response in
 * it: the call's is taken, the others dropped. */
#include "rs_rpc.h"
#include "rs_buf.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_op.h"
#include "rs_time.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECONNECT_WAIT_MS 2000

static _Atomic uint64_t dropped;

uint64_t
rs_rpc_dropped_replies(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}

struct rs_rpc {
	char *url;
	char *queue;
	rs_mq *mq; /* NULL after a failed reconnect; the next call retries */
	uint8_t *buf;
	size_t cap;
};

int
rs_rpc_connect(const char *amqp_url, const char *name, int wait_ms, rs_mq **mq)
{
	rs_mq *c;
	int rc = rs_mq_connect_retry(amqp_url, name, wait_ms, &c);

	if (rc != RS_OK)
		return rc == RS_ETIMEDOUT ? RS_ECONN : rc;
	if ((rc = rs_mq_declare_topology(c)) != RS_OK
	    || (rc = rs_mq_consume(c, RS_MQ_DIRECT_REPLY, true, NULL))
	        != RS_OK) {
		rs_mq_destroy(c);
		return rc;
	}
	*mq = c;
	return RS_OK;
}

static int
rpc_open(rs_rpc *rpc, int wait_ms)
{
	return rs_rpc_connect(rpc->url, "rs_rpc", wait_ms, &rpc->mq);
}

static void
rpc_drop(rs_rpc *rpc)
{
	rs_mq_destroy(rpc->mq);
	rpc->mq = NULL;
}

/* Also the one unwind of a half-made client (rs_rpc_create's failures):
 * every field it frees is NULL until set. */
void
rs_rpc_destroy(rs_rpc *rpc)
{
	if (rpc == NULL)
		return;
	rpc_drop(rpc);
	free(rpc->buf);
	free(rpc->url);
	free(rpc->queue);
	free(rpc);
}

int
rs_rpc_create(const char *amqp_url, const char *target_queue,
    int connect_wait_ms, rs_rpc **out)
{
	rs_rpc *rpc;
	int rc;

	if (amqp_url == NULL || target_queue == NULL || *target_queue == '\0')
		return RS_EINVAL;
	if ((rpc = calloc(1, sizeof(*rpc))) == NULL)
		return RS_ENOMEM;
	if ((rpc->url = strdup(amqp_url)) == NULL
	    || (rpc->queue = strdup(target_queue)) == NULL) {
		rc = RS_ENOMEM;
		goto fail;
	}
	if ((rc = rpc_open(rpc, connect_wait_ms)) != RS_OK)
		goto fail;
	*out = rpc;
	return RS_OK;

fail:
	rs_rpc_destroy(rpc);
	return rc;
}

static int
send_request(rs_rpc *rpc, const char *rid, size_t len)
{
	rs_mq_props props = { 0 };

	props.correlation_id = rid;
	props.reply_to = RS_MQ_DIRECT_REPLY;
	return rs_mq_publish(rpc->mq, "", rpc->queue, rpc->buf, len, &props);
}

/* Drops the dead connection and opens a new one within the deadline. */
static int
reconnect(rs_rpc *rpc, const char *rid, int64_t deadline)
{
	int64_t left = rs_time_left_ms(deadline);
	int wait
	    = (int) (left < 0 || left > RECONNECT_WAIT_MS ? RECONNECT_WAIT_MS
	                                                  : left);

	rs_warn(rid, "event=rpc_reconnect queue=%s", rpc->queue);
	rpc_drop(rpc);
	return rpc_open(rpc, wait);
}

/* Packs req into rpc->buf; its length via *len. */
static int
pack(rs_rpc *rpc, const Rideshare__DbRequest *req, size_t *len)
{
	size_t n = rideshare__db_request__get_packed_size(req);

	if (rs_reserve(&rpc->buf, &rpc->cap, n) != RS_OK)
		return RS_ENOMEM;
	rideshare__db_request__pack(req, rpc->buf);
	*len = n;
	return RS_OK;
}

static void
count_dropped(const char *rid, const char *other)
{
	atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
	rs_debug(rid, "event=rpc_stale_reply correlation_id=%s", other);
}

/* The response for call rid out of a ResponseBatch body, detached from
 * the batch (the caller frees it), or NULL when none is: every response
 * not taken is dropped and counted, as a stale single reply is. An
 * undecodable batch is dropped whole (logged, counted once). */
static Rideshare__DbResponse *
from_batch(const rs_rpc *rpc, const char *rid, const rs_mq_msg *msg)
{
	Rideshare__ResponseBatch *b;
	Rideshare__DbResponse *r = NULL;
	const char *why = rs_op_response_batch_decode(msg->body, msg->len, &b);

	if (why != NULL) {
		atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
		rs_warn(rid, "event=rpc_bad_reply_batch queue=%s reason=%s",
		    rpc->queue, why);
		return NULL;
	}
	size_t n = b->n_responses, mine = n;
	for (size_t i = 0; i < n; i++) {
		if (mine == n && strcmp(b->responses[i]->request_id, rid) == 0)
			mine = i;
		else
			count_dropped(rid, b->responses[i]->request_id);
	}
	if (mine < n) {
		/* Out of the array: freeing b leaves it alone. */
		r = b->responses[mine];
		b->responses[mine] = b->responses[--b->n_responses];
	}
	rideshare__response_batch__free_unpacked(b, NULL);
	return r;
}

/* Both calls: rs == NULL, no resend. req is edited only by rs->prepare. */
static int
call(rs_rpc *rpc, Rideshare__DbRequest *req, int timeout_ms, rs_rpc_resend *rs,
    Rideshare__DbResponse **resp)
{
	int64_t deadline = rs_time_deadline(timeout_ms);
	int64_t resend_at = -1;
	const char *rid;
	Rideshare__DbResponse *r;
	bool resent = false;
	rs_mq_msg msg;
	size_t len;
	int rc;

	if (req == NULL || resp == NULL || req->request_id == NULL
	    || *req->request_id == '\0')
		return RS_EINVAL;
	rid = req->request_id;
	if ((rc = pack(rpc, req, &len)) != RS_OK)
		return rc;
	if (rs != NULL) {
		rs->sent = false;
		if (rs->after_ms > 0 && rs->after_ms < timeout_ms)
			resend_at = rs_time_deadline(rs->after_ms);
	}

	if (rpc->mq == NULL && (rc = reconnect(rpc, rid, deadline)) != RS_OK)
		return rc;
	rc = send_request(rpc, rid, len);
	for (;;) {
		if (rc == RS_OK) {
			int64_t until = resend_at >= 0 ? resend_at : deadline;
			rc = rs_mq_next(
			    rpc->mq, (int) rs_time_left_ms(until), &msg);
		}
		if (rc == RS_ETIMEDOUT && resend_at >= 0) {
			/* The one resend: same id, so either answer is
			 * this call's; then wait for the whole deadline. */
			resend_at = -1;
			if (rs->prepare != NULL
			    && !rs->prepare(req, rs->arg)) {
				/* Not yet: ask again, while it is worth it. */
				int64_t next = rs_time_deadline(rs->after_ms);
				if (next < deadline)
					resend_at = next;
				rc = RS_OK;
				continue;
			}
			if ((rc = pack(rpc, req, &len)) != RS_OK)
				return rc;
			rc = send_request(rpc, rid, len);
			rs->sent = rc == RS_OK;
			continue;
		}
		if (rc == RS_ECONN && !resent) {
			/* Safe for writes too: the master dedupes by id. */
			resent = true;
			if ((rc = reconnect(rpc, rid, deadline)) != RS_OK)
				return rc;
			rc = send_request(rpc, rid, len);
			continue;
		}
		if (rc != RS_OK)
			return rc;
		if (strcmp(msg.content_type, RS_CT_RESPONSE_BATCH) == 0) {
			r = from_batch(rpc, rid, &msg);
			rs_mq_msg_release(rpc->mq, &msg);
			if (r == NULL)
				continue;
			*resp = r;
			return RS_OK;
		}
		if (strcmp(msg.correlation_id, rid) != 0) {
			count_dropped(rid, msg.correlation_id);
			rs_mq_msg_release(rpc->mq, &msg);
			continue;
		}
		r = rideshare__db_response__unpack(NULL, msg.len, msg.body);
		rs_mq_msg_release(rpc->mq, &msg);
		if (r == NULL) {
			rs_error(
			    rid, "event=rpc_bad_reply queue=%s", rpc->queue);
			return RS_EPROTO;
		}
		*resp = r;
		return RS_OK;
	}
}

int
rs_rpc_call(rs_rpc *rpc, const Rideshare__DbRequest *req, int timeout_ms,
    Rideshare__DbResponse **resp)
{
	/* Without a resend nothing edits req. */
	return call(rpc, (Rideshare__DbRequest *) req, timeout_ms, NULL, resp);
}

int
rs_rpc_call_resend(rs_rpc *rpc, Rideshare__DbRequest *req, int timeout_ms,
    rs_rpc_resend *rs, Rideshare__DbResponse **resp)
{
	return call(rpc, req, timeout_ms, rs, resp);
}
