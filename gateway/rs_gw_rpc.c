/* The gateways' database RPC over the process's multiplexed client (or the
 * client pool with RIDESHARE_RPC_MUX=0). See rs_gw_rpc.h. */
#include "rs_gw_rpc.h"
#include "rs_contract.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_op.h"
#include "rs_rpc_mux.h"
#include "rs_rpc_pool.h"
#include "rs_time.h"
#include "rs_gw_resend.h"
#include "rs_gw_sha256.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_WAIT_MS 1000

static rs_rpc_mux *mux; /* RIDESHARE_RPC_MUX=1 (default) */
static rs_rpc_pool *pool; /* RIDESHARE_RPC_MUX=0 */
static int timeout_ms = 5000;
static int retry_ms = 0; /* RIDESHARE_READ_RETRY_MS; 0: no read retry */

static rs_metric m_calls = RS_METRIC("rideshare_gw_rpc_calls_total",
    "Database RPC calls made by this gateway.", "counter", NULL);
static rs_metric m_timeouts = RS_METRIC("rideshare_gw_rpc_failures_total",
    "Database RPC calls that failed in transport, by reason.", "counter",
    "reason=\"timeout\"");
static rs_metric m_unreach = RS_METRIC("rideshare_gw_rpc_failures_total",
    "Database RPC calls that failed in transport, by reason.", "counter",
    "reason=\"unavailable\"");
static rs_metric m_retries = RS_METRIC("rideshare_gw_read_retries_total",
    "Reads sent a second time (never more) after RIDESHARE_READ_RETRY_MS "
    "without an answer.",
    "counter", NULL);
static rs_metric m_dropped
    = RS_METRIC("rideshare_gw_read_duplicates_dropped_total",
        "Answers dropped because their call was already answered (the second "
        "answer of a resent read) or had timed out.",
        "counter", NULL);
static rs_metric m_proto = RS_METRIC("rideshare_gw_rpc_failures_total",
    "Database RPC calls that failed in transport, by reason.", "counter",
    "reason=\"bad_reply\"");
static rs_metric m_published = RS_METRIC("rideshare_gw_rpc_messages_total",
    "Messages this gateway published to the orchestrator queue (a "
    "RequestBatch counts once).",
    "counter", NULL);
static rs_metric m_batches = RS_METRIC("rideshare_gw_rpc_batches_total",
    "RequestBatch messages this gateway published (calls in flight "
    "together).",
    "counter", NULL);
static rs_metric m_batched = RS_METRIC("rideshare_gw_rpc_batched_calls_total",
    "Calls carried by this gateway's RequestBatch messages.", "counter", NULL);

void
rs_gw_rpc_init(const char *url, const char *queue, int tmo_ms)
{
	static int registered;
	int rc;

	rs_gw_rpc_fini();
	if (rs_cfg_long("RIDESHARE_RPC_MUX", 1, 0, 1) == 1)
		rc = rs_rpc_mux_create(url, queue, CONNECT_WAIT_MS, &mux);
	else
		rc = rs_rpc_pool_create(url, queue,
		    (int) rs_cfg_long(
		        "RIDESHARE_RPC_POOL", RS_RPC_POOL_DEFAULT, 1, 1024),
		    CONNECT_WAIT_MS, &pool);
	if (rc != RS_OK) {
		rs_error(
		    NULL, "event=rpc_init_failed err=%s", rs_strerror(rc));
		abort();
	}
	timeout_ms = tmo_ms;
	if (!registered) {
		registered = 1;
		rs_metric_register(&m_calls);
		rs_metric_register(&m_timeouts);
		rs_metric_register(&m_unreach);
		rs_metric_register(&m_proto);
		rs_metric_register(&m_retries);
		rs_metric_register(&m_dropped);
		rs_metric_register(&m_published);
		rs_metric_register(&m_batches);
		rs_metric_register(&m_batched);
	}
}

void
rs_gw_rpc_init_from_env(void)
{
	rs_gw_rpc_init(rs_cfg_str("RIDESHARE_AMQP_URL",
	                   "amqp://guest:guest@127.0.0.1:8101"),
	    RS_Q_ORCHESTRATOR,
	    (int) rs_cfg_long("RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000));
	retry_ms = (int) rs_cfg_long(
	    "RIDESHARE_READ_RETRY_MS", RS_GW_READ_RETRY_MS, 0, 3600000);
}

void
rs_gw_rpc_fini(void)
{
	rs_rpc_mux_destroy(mux);
	mux = NULL;
	rs_rpc_pool_destroy(pool);
	pool = NULL;
}

static int
plain_call(Rideshare__DbRequest *req, Rideshare__DbResponse **resp)
{
	if (mux != NULL)
		return rs_rpc_mux_call(mux, req, timeout_ms, resp);
	return rs_rpc_pool_call(pool, req, timeout_ms, resp);
}

static int
resend_call(
    Rideshare__DbRequest *req, rs_rpc_resend *rs, Rideshare__DbResponse **resp)
{
	if (mux != NULL)
		return rs_rpc_mux_call_resend(mux, req, timeout_ms, rs, resp);
	return rs_rpc_pool_call_resend(pool, req, timeout_ms, rs, resp);
}

/* The counters the client keeps, into the metrics. */
static void
note_client_stats(void)
{
	rs_rpc_mux_stats st;

	rs_metric_set(&m_dropped,
	    rs_rpc_dropped_replies() + rs_rpc_mux_dropped_replies());
	if (mux == NULL)
		return;
	rs_rpc_mux_get_stats(mux, &st);
	rs_metric_set(&m_published, st.published);
	rs_metric_set(&m_batches, st.batches);
	rs_metric_set(&m_batched, st.batched_calls);
}

/* What a resend carries: resend, and the slave seen answering since the
 * first send (rs_gw_resend_ready: it waits a little for one). */
struct hint {
	int64_t since_ms;
	int64_t after_ms; /* when it went out, after the first send */
	char to[64];
};

static bool
resend_hint(Rideshare__DbRequest *req, void *arg)
{
	struct hint *h = arg;

	int64_t now = rs_time_now_ms();

	if (!rs_gw_resend_ready(h->since_ms, now, h->to, sizeof(h->to)))
		return false;
	h->after_ms = now - h->since_ms;
	req->resend = true;
	req->resend_to = h->to;
	return true;
}

int
rs_gw_rpc_call(Rideshare__DbRequest *req, const char *http_rid,
    Rideshare__DbResponse **resp)
{
	char fresh[RS_ID_LEN + 1];
	char *given = req->request_id;
	const char *id = given;
	int rc;

	/* Never reuse the client's X-Request-Id: the master dedupes writes
	 * by request_id, so an id must name exactly one logical request.
	 * A caller-set id is one derived from an Idempotency-Key. */
	if (given == NULL || given[0] == '\0') {
		rs_id_new(fresh);
		req->request_id = fresh;
		id = fresh;
	}
	rs_metric_add(&m_calls, 1);
	int after = rs_gw_resend_after_ms(
	    rs_op_is_write(req->op_case), retry_ms, timeout_ms);
	if (mux == NULL && pool == NULL) {
		rc = RS_ESTATE;
	} else if (after == 0) {
		rc = plain_call(req, resp);
	} else {
		/* A read unanswered after retry_ms (most likely held by a
		 * hung slave) goes out once more with the same id, to a
		 * slave seen answering since (resend_hint); whichever
		 * answer comes first wins and the other is dropped by
		 * request_id (common/rs_rpc_mux.c). Reads change nothing,
		 * so a duplicate costs only work. */
		struct hint h = { .since_ms = rs_time_now_ms() };
		rs_rpc_resend rs
		    = { .after_ms = after, .prepare = resend_hint, .arg = &h };
		rc = resend_call(req, &rs, resp);
		if (rs.sent) {
			rs_metric_add(&m_retries, 1);
			rs_info(http_rid,
			    "event=read_retry request_id=%s after_ms=%lld "
			    "resend_to=%s",
			    id, (long long) h.after_ms, h.to[0] ? h.to : "-");
		}
		req->resend = false;
		req->resend_to = (char *) "";
	}
	if (rc == RS_OK && !rs_op_is_write(req->op_case))
		rs_gw_resend_note((*resp)->worker_id, rs_time_now_ms());
	note_client_stats();
	rs_debug(http_rid, "event=rpc_call op=%s request_id=%s rc=%s",
	    rs_op_name(req->op_case), id, rs_strerror(rc));
	if (rc == RS_ETIMEDOUT)
		rs_metric_add(&m_timeouts, 1);
	else if (rc == RS_EPROTO)
		rs_metric_add(&m_proto, 1);
	else if (rc != RS_OK)
		rs_metric_add(&m_unreach, 1);
	if (rc != RS_OK)
		rs_warn(http_rid,
		    "event=rpc_failed op=%s request_id=%s err=%s",
		    rs_op_name(req->op_case), id, rs_strerror(rc));
	req->request_id = given;
	return rc;
}

int
rs_gw_rpc_err_http(int err)
{
	switch (err) {
	case RS_ETIMEDOUT: return 504;
	case RS_EPROTO: return 502;
	default: return 503;
	}
}

int
rs_gw_req_consistency(
    rs_http_req *hreq, uint64_t *min_seq, Rideshare__Consistency *level)
{
	const char *v = rs_http_header(hreq, RS_GW_HDR_MIN_SEQ);
	const char *c = rs_http_header(hreq, RS_GW_HDR_CONSISTENCY);

	*min_seq = 0;
	*level = RIDESHARE__CONSISTENCY__LINEARIZABLE;
	if (v != NULL) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0) {
			rs_http_reply_error(hreq, 400,
			    RS_GW_HDR_MIN_SEQ
			    " must be a decimal seq (the " RS_GW_HDR_SEQ
			    " of an earlier answer)");
			return RS_EINVAL;
		}
		*min_seq = n;
	}
	if (c == NULL || strcasecmp(c, "linearizable") == 0)
		return RS_OK;
	if (strcasecmp(c, "session") == 0) {
		*level = RIDESHARE__CONSISTENCY__SESSION;
	} else if (strcasecmp(c, "any") == 0) {
		*level = RIDESHARE__CONSISTENCY__ANY;
	} else {
		rs_http_reply_error(hreq, 400,
		    RS_GW_HDR_CONSISTENCY
		    " must be linearizable, session or any");
		return RS_EINVAL;
	}
	return RS_OK;
}

/* Idempotency-Key of a write: request_id "idem-<sha256(key)>" (so the
 * master's request_id dedupe, replicated with the write, answers a retry
 * with the stored outcome) and the fingerprint of the operation (so a key
 * reused for another operation gets MISMATCH, 422). 0: no key; 1: set;
 * -1: answered 400. Not inlined: GCC then loses track of rs_gw_call
 * clearing the pointers to its buffers (-Wdangling-pointer). */
static __attribute__((noinline)) int
idempotency(
    rs_http_req *hreq, Rideshare__DbRequest *req, char rid[70], char fp[65])
{
	const char *key = rs_http_header(hreq, RS_GW_HDR_IDEMPOTENCY_KEY);
	size_t n;

	if (key == NULL)
		return 0;
	n = strlen(key);
	for (size_t i = 0; i < n; i++) {
		if (key[i] < 0x20 || key[i] > 0x7e)
			n = 0;
	}
	if (n == 0 || n > RS_GW_IDEMPOTENCY_KEY_MAX) {
		rs_http_reply_error(hreq, 400,
		    RS_GW_HDR_IDEMPOTENCY_KEY
		    " must be 1 to 128 printable ASCII characters");
		return -1;
	}
	char digest[65];
	rs_gw_sha256_hex(key, n, digest);
	snprintf(rid, 70, "idem-%s", digest);
	/* The operation alone: what the write does, not how it travels. */
	req->request_id = (char *) "";
	req->fingerprint = (char *) "";
	size_t len = rideshare__db_request__get_packed_size(req);
	uint8_t *buf = malloc(len + 1);
	if (buf == NULL) {
		rs_http_reply_error(hreq, 503, "out of memory");
		return -1;
	}
	rideshare__db_request__pack(req, buf);
	rs_gw_sha256_hex(buf, len, fp);
	free(buf);
	req->request_id = rid;
	req->fingerprint = fp;
	return 1;
}

int
rs_gw_call(
    rs_http_req *hreq, Rideshare__DbRequest *req, Rideshare__DbResponse **resp)
{
	char rid[70], fp[65];
	uint64_t min_seq;
	Rideshare__Consistency level;
	int keyed = 0, rc;

	if (rs_gw_req_consistency(hreq, &min_seq, &level) != RS_OK)
		return RS_EINVAL;
	if (rs_op_is_write(req->op_case)) {
		if ((keyed = idempotency(hreq, req, rid, fp)) < 0)
			return RS_EINVAL;
	} else {
		req->min_seq = min_seq;
		req->consistency = level;
	}
	rc = rs_gw_rpc_call(req, rs_http_rid(hreq), resp);
	/* rid and fp live on this stack frame only. */
	req->request_id = (char *) "";
	req->fingerprint = (char *) "";
	if (rc == RS_OK) {
		char seq[24];
		snprintf(seq, sizeof(seq), "%" PRIu64, (*resp)->seq);
		rs_http_add_header(hreq, RS_GW_HDR_SEQ, seq);
		return RS_OK;
	}
	switch (rs_gw_rpc_err_http(rc)) {
	case 504:
		if (rs_op_is_write(req->op_case) && !keyed)
			rs_http_reply_error(hreq, 504,
			    "the database did not answer in time; the write "
			    "may still be applied (send an Idempotency-Key "
			    "to retry safely)");
		else
			rs_http_reply_error(
			    hreq, 504, "the database did not answer in time");
		break;
	case 502:
		rs_http_reply_error(
		    hreq, 502, "the database sent an undecodable answer");
		break;
	default:
		rs_http_reply_error(hreq, 503, "the database is unavailable");
		break;
	}
	return rc;
}

int
rs_gw_status_http(int status)
{
	switch (status) {
	case RIDESHARE__STATUS__OK: return 200;
	case RIDESHARE__STATUS__NOT_FOUND: return 404;
	case RIDESHARE__STATUS__ALREADY_EXISTS: return 400;
	case RIDESHARE__STATUS__INVALID: return 400;
	case RIDESHARE__STATUS__UNAVAILABLE: return 503;
	case RIDESHARE__STATUS__MISMATCH: return 422;
	default: return 500;
	}
}

void
rs_gw_reply_db_error(rs_http_req *hreq, const Rideshare__DbResponse *resp)
{
	const char *why = resp->error;

	if (why == NULL || *why == '\0')
		why = rs_status_name(resp->status);
	rs_http_reply_error(hreq, rs_gw_status_http(resp->status), "%s", why);
}
