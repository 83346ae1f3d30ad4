#include "admin.h"
#include "backup.h"
#include "changes.h"
#include "restore.h"
#include "events.h"
#include "rs_contract.h"
#include "status.h"
#include "orch_metrics.h"
#include "rs_buf.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_http.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_op.h"
#include "rs_pbjson.h"
#include "rs_rpc_pool.h"
#include "rs_time.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROTOBUF_TYPE "application/x-protobuf"

struct rs_orch_admin {
	const rs_orch_cfg *cfg;
	rs_orch_workers *w;
	rs_orch_supervisor *s;
	rs_orch_router *r;
	rs_http *http;
	rs_rpc_pool *rpc; /* clients shared by the HTTP threads */
	pthread_mutex_t mq_lock; /* inspect connection: queue depths */
	rs_mq *mq;
	rs_orch_backup *backup; /* GET /api/v1/backup, scheduled backups */
	rs_orch_changes *changes; /* GET /api/v1/changes (changes.c) */
	rs_orch_restore *restore; /* POST /api/v1/restore (restore.c) */
};

/* ---- pure helpers ------------------------------------------------------*/

json_t *
rs_orch_admin_list_json(const rs_orch_worker *w, size_t n)
{
	int64_t pids[RS_ORCH_MAX_WORKERS];
	size_t k = rs_orch_roster_pids(w, n, pids, RS_ORCH_MAX_WORKERS);
	json_t *arr = json_array();

	for (size_t i = 0; i < k; i++)
		json_array_append_new(arr, json_integer(pids[i]));
	return arr;
}

json_t *
rs_orch_admin_crash_json(int64_t pid)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, pid);
	return json_pack("[s]", s);
}

const char *
rs_orch_admin_check_op(const Rideshare__DbRequest *req, bool want_write)
{
	if (!rs_op_is_known(req->op_case))
		return "the request has no operation";
	if (want_write && !rs_op_is_write(req->op_case))
		return "not a write operation: use /api/v1/db/read";
	if (!want_write && rs_op_is_write(req->op_case))
		return "not a read operation: use /api/v1/db/write";
	return NULL;
}

int
rs_orch_admin_decode(const char *body, size_t len, bool is_protobuf,
    Rideshare__DbRequest **out, char *err, size_t errlen)
{
	if (is_protobuf) {
		*out = rideshare__db_request__unpack(
		    NULL, len, (const uint8_t *) body);
		if (*out == NULL) {
			snprintf(
			    err, errlen, "body is not a protobuf DbRequest");
			return RS_EINVAL;
		}
		return RS_OK;
	}
	if (rs_pbjson_decode_request(body, len, out, err, errlen) != 0)
		return RS_EINVAL;
	return RS_OK;
}

/* ---- RPC through the orchestrator queue --------------------------------*/

static int
transport_status(int rv)
{
	return rv == RS_ETIMEDOUT ? 504 : rv == RS_EPROTO ? 502 : 503;
}

/* Sends req through the orchestrator queue (keeping a valid request_id
 * the caller chose, so retried writes stay deduplicated). On failure it
 * answers hreq itself and returns the error. */
static int
call(rs_orch_admin *a, rs_http_req *hreq, Rideshare__DbRequest *req,
    Rideshare__DbResponse **resp)
{
	char rid[RS_ID_LEN + 1];
	char *caller_rid = req->request_id;
	int rv;

	if (req->request_id == NULL || !rs_id_valid(req->request_id)) {
		rs_id_new(rid);
		req->request_id = rid;
	}
	rv = rs_rpc_pool_call(a->rpc, req, a->cfg->rpc_timeout_ms, resp);
	if (rv == RS_OK) {
		/* The commit token of the answer (docs/gateway.md). */
		char seq[24];
		snprintf(seq, sizeof(seq), "%" PRIu64, (*resp)->seq);
		rs_http_add_header(hreq, "X-RideShare-Seq", seq);
	} else {
		rs_warn(rs_http_rid(hreq),
		    "event=admin_rpc_failed request_id=%s "
		    "op=%s err=%s",
		    req->request_id, rs_op_name(req->op_case),
		    rs_strerror(rv));
		rs_http_reply_error(hreq, transport_status(rv),
		    "database tier did not answer: %s", rs_strerror(rv));
	}
	req->request_id = caller_rid;
	return rv;
}

/* ---- handlers -----------------------------------------------------------*/

static bool
wants_protobuf(rs_http_req *req)
{
	const char *ct = rs_http_header(req, "Content-Type");

	return ct != NULL
	    && strncasecmp(ct, PROTOBUF_TYPE, strlen(PROTOBUF_TYPE)) == 0;
}

static void
reply_response(
    rs_http_req *hreq, const Rideshare__DbResponse *resp, bool protobuf)
{
	json_t *j = NULL;

	if (protobuf) {
		size_t len = rideshare__db_response__get_packed_size(resp);
		uint8_t *b = malloc(len ? len : 1);

		if (b == NULL) {
			rs_http_reply_error(hreq, 500, "out of memory");
			return;
		}
		rideshare__db_response__pack(resp, b);
		rs_http_reply(hreq, 200, PROTOBUF_TYPE, b, len);
		free(b);
		return;
	}
	if (rs_pbjson_encode(&resp->base, &j) != RS_OK) {
		rs_http_reply_error(hreq, 500, "cannot encode the DbResponse");
		return;
	}
	rs_http_reply_json(hreq, 200, j);
}

static void
db_op(rs_http_req *hreq, rs_orch_admin *a, bool want_write)
{
	Rideshare__DbRequest *req = NULL;
	Rideshare__DbResponse *resp = NULL;
	bool protobuf = wants_protobuf(hreq);
	const char *why, *body;
	char err[256];
	size_t len;

	body = rs_http_body(hreq, &len);
	if (rs_orch_admin_decode(body, len, protobuf, &req, err, sizeof(err))
	    != RS_OK) {
		rs_http_reply_error(hreq, 400, "%s", err);
		return;
	}
	why = rs_orch_admin_check_op(req, want_write);
	if (why != NULL) {
		rs_http_reply_error(hreq, 400, "%s", why);
	} else if (call(a, hreq, req, &resp) == RS_OK) {
		reply_response(hreq, resp, protobuf);
		rideshare__db_response__free_unpacked(resp, NULL);
	}
	rideshare__db_request__free_unpacked(req, NULL);
}

static void
h_read(rs_http_req *hreq, void *arg)
{
	db_op(hreq, arg, false);
}

static void
h_write(rs_http_req *hreq, void *arg)
{
	db_op(hreq, arg, true);
}

static void
h_clear(rs_http_req *hreq, void *arg)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__Clear clear = RIDESHARE__CLEAR__INIT;
	Rideshare__DbResponse *resp;

	req.op_case = RIDESHARE__DB_REQUEST__OP_CLEAR;
	req.clear = &clear;
	if (call(arg, hreq, &req, &resp) != RS_OK)
		return;
	if (resp->status == RIDESHARE__STATUS__OK)
		rs_http_reply_empty_object(hreq, 200);
	else
		rs_http_reply_error(hreq, 500, "clear failed: %s %s",
		    rs_status_name(resp->status),
		    resp->error ? resp->error : "");
	rideshare__db_response__free_unpacked(resp, NULL);
}

static void
crash(rs_http_req *hreq, rs_orch_admin *a, bool master)
{
	int64_t pid = 0;
	int rv = rs_orch_supervisor_crash(a->s, master, &pid);

	if (rv == RS_ENOTFOUND) {
		rs_http_reply_error(hreq, 409, "no %s to crash",
		    master ? RS_ROLE_MASTER : RS_ROLE_SLAVE);
		return;
	}
	if (rv != RS_OK) {
		rs_http_reply_error(
		    hreq, 500, "crash failed: %s", rs_strerror(rv));
		return;
	}
	rs_http_reply_json(hreq, 200, rs_orch_admin_crash_json(pid));
}

static void
h_crash_master(rs_http_req *hreq, void *arg)
{
	crash(hreq, arg, true);
}

static void
h_crash_slave(rs_http_req *hreq, void *arg)
{
	crash(hreq, arg, false);
}

/* POST /api/v1/recover {"accept_loss": true}: the operator's consent to
 * start from the most advanced surviving copy although it misses
 * acknowledged writes (docs/failover.md "When a copy is missing"). */
static void
h_recover(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	char why[512];
	size_t len;
	const char *body = rs_http_body(hreq, &len);
	json_error_t jerr;
	json_t *j = body != NULL && len > 0
	    ? rs_pbjson_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)
	    : NULL;
	bool accept = json_is_object(j)
	    && json_is_true(json_object_get(j, "accept_loss"))
	    && json_object_size(j) == 1;

	json_decref(j);
	if (!accept) {
		rs_http_reply_error(hreq, 400,
		    "expected the body {\"accept_loss\": true}: recovering "
		    "without the missing copy loses acknowledged writes");
		return;
	}
	if (!rs_orch_workers_recovery_blocked(a->w, why, sizeof(why))) {
		rs_http_reply_error(hreq, 409,
		    "nothing to accept: no recovery is refusing writes");
		return;
	}
	if (rs_orch_workers_accept_loss(a->w) != RS_OK) {
		rs_http_reply_error(hreq, 409,
		    "nothing to accept: no recovery is refusing writes");
		return;
	}
	rs_http_reply_json(hreq, 202,
	    json_pack(
	        "{s:s, s:s}", "status", "loss accepted", "recovery", why));
}

static void
h_list(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	size_t n
	    = rs_orch_workers_snapshot(a->w, t, RS_ORCH_MAX_WORKERS, NULL);

	rs_http_reply_json(hreq, 200, rs_orch_admin_list_json(t, n));
}

static uint64_t
lag_of(const rs_orch_worker *e, uint64_t head)
{
	if (e->role == RS_ORCH_ROLE_MASTER || head <= e->applied_seq)
		return 0;
	return head - e->applied_seq;
}

/* GET /api/v1/worker/details: everything the table knows (ours). */
static void
h_details(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX];
	size_t n
	    = rs_orch_workers_snapshot(a->w, t, RS_ORCH_MAX_WORKERS, master);
	uint64_t head = rs_orch_workers_head(a->w);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr,
		    json_pack("{s:s, s:I, s:s, s:s, s:b, s:b, s:I, s:I, s:s, "
		              "s:I, s:I}",
		        "id", t[i].id, "pid", (json_int_t) t[i].pid, "role",
		        rs_orch_role_name(t[i].role), "state",
		        rs_orch_state_name(t[i].state), "registered",
		        t[i].registered, "ours", t[i].ours, "applied_seq",
		        (json_int_t) t[i].applied_seq, "lag",
		        (json_int_t) lag_of(&t[i], head), "nng_url",
		        t[i].nng_url, "reads_held",
		        (json_int_t) t[i].reads.held, "read_hold_timeouts",
		        (json_int_t) t[i].reads.hold_timeouts));
	}
	rs_http_reply_json(hreq, 200,
	    json_pack("{s:s, s:I, s:I, s:I, s:o}", RS_ROLE_MASTER, master,
	        "epoch", (json_int_t) rs_orch_workers_epoch(a->w),
	        "commit_seq", (json_int_t) rs_orch_router_commit_seq(a->r),
	        "head_seq", (json_int_t) head, "workers", arr));
}

/* GET /api/v1/workers: replication lag and read routing per worker
 * (docs/replication.md "Lag and read routing"). */
static void
h_workers(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX];
	size_t n
	    = rs_orch_workers_snapshot(a->w, t, RS_ORCH_MAX_WORKERS, master);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		if (!rs_orch_worker_alive(&t[i]))
			continue;
		json_array_append_new(arr,
		    json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:b}", "id",
		        t[i].id, "pid", (json_int_t) t[i].pid, "role",
		        rs_orch_role_name(t[i].role), "state",
		        t[i].role == RS_ORCH_ROLE_MASTER
		            ? RS_ROLE_MASTER
		            : rs_orch_lag_state_name(t[i].lag_state),
		        "applied_seq", (json_int_t) t[i].applied_seq,
		        "lag_seqs", (json_int_t) t[i].lag_seqs, "lag_ms",
		        (json_int_t) t[i].lag_ms, "takes_reads",
		        t[i].role == RS_ORCH_ROLE_SLAVE && !t[i].read_paused));
	}
	rs_http_reply_json(hreq, 200,
	    json_pack("{s:s, s:I, s:I, s:I, s:o}", RS_ROLE_MASTER, master,
	        "head_seq", (json_int_t) rs_orch_workers_head(a->w),
	        "commit_seq", (json_int_t) rs_orch_router_commit_seq(a->r),
	        "max_lag_ms",
	        (json_int_t) rs_cfg_long(
	            "RIDESHARE_MAX_LAG_MS", RS_ORCH_MAX_LAG_MS, 1, 3600000),
	        "workers", arr));
}

static void
h_readyz(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX];
	size_t n
	    = rs_orch_workers_snapshot(a->w, t, RS_ORCH_MAX_WORKERS, master);
	int m = rs_orch_roster_master(t, n, master, true);
	int slaves = 0;

	for (size_t i = 0; i < n; i++) {
		slaves += rs_orch_worker_alive(&t[i]) && t[i].registered
		    && t[i].role == RS_ORCH_ROLE_SLAVE;
	}
	char why[512], reason[256];
	bool paused
	    = rs_orch_supervisor_paused(a->s, reason, sizeof(reason), NULL);

	if (paused && m < 0)
		rs_http_reply_error(hreq, 503,
		    "not ready: no master, and paused (%s): automatic "
		    "failover waits for POST /api/v1/resume",
		    reason);
	else if (rs_orch_workers_recovery_blocked(a->w, why, sizeof(why)))
		rs_http_reply_error(hreq, 503,
		    "not ready: writes refused until the missing copy "
		    "returns or an operator accepts the loss: %s",
		    why);
	else if (!rs_orch_router_connected(a->r))
		rs_http_reply_error(
		    hreq, 503, "not ready: RabbitMQ unreachable");
	else if (!rs_orch_workers_zk_connected(a->w))
		rs_http_reply_error(
		    hreq, 503, "not ready: ZooKeeper unreachable");
	else if (m < 0)
		rs_http_reply_error(hreq, 503, "not ready: no master elected");
	else if (slaves == 0)
		rs_http_reply_error(hreq, 503, "not ready: no slave serving");
	else {
		json_t *j = json_pack("{s:s, s:I, s:i, s:b}", "status",
		    "ready", RS_ROLE_MASTER, (json_int_t) t[m].pid, "slaves",
		    slaves, "paused", paused);

		/* Paused is still ready (reads and writes are served);
		 * the reason tells a person why nothing heals. */
		if (paused)
			json_object_set_new(j, "pause_reason",
			    json_sprintf("paused: no autoscaling, no worker "
			                 "replacement, no automatic failover "
			                 "(%s)",
			        reason));
		rs_http_reply_json(hreq, 200, j);
	}
}

/* ---- status, maintenance ------------------------------------------------*/

static const char *const queues[RS_ORCH_STATUS_QUEUES]
    = { RS_Q_ORCHESTRATOR, RS_Q_WRITE, RS_Q_READ, RS_Q_RESPONSE, RS_Q_DEAD };

/* Depths of the orchestrator's queues (passive declares on a connection
 * of its own, reopened when it broke); ok[i] false when unknown. */
static void
queue_depths(rs_orch_admin *a, uint32_t *msgs, uint32_t *cons, bool *ok)
{
	pthread_mutex_lock(&a->mq_lock);
	if (a->mq == NULL
	    && rs_mq_connect_retry(a->cfg->amqp_url,
	           "rideshare-orchestrator-inspect", 500, &a->mq)
	        != RS_OK)
		a->mq = NULL;
	for (size_t i = 0; a->mq != NULL && i < 5; i++) {
		int rv
		    = rs_mq_queue_depth(a->mq, queues[i], &msgs[i], &cons[i]);

		ok[i] = rv == RS_OK;
		if (rv == RS_ECONN) {
			rs_mq_destroy(a->mq);
			a->mq = NULL;
		}
	}
	pthread_mutex_unlock(&a->mq_lock);
}

/* GET /api/v1/status: the cluster at a glance (status.h). */
static void
h_status(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX], reason[256], why[512];
	uint32_t msgs[RS_ORCH_STATUS_QUEUES], cons[RS_ORCH_STATUS_QUEUES];
	bool ok[RS_ORCH_STATUS_QUEUES] = { false };
	rs_orch_autoscale *as = rs_orch_supervisor_autoscale(a->s);
	rs_orch_status_in in;
	int64_t start;

	memset(&in, 0, sizeof(in));
	in.n = rs_orch_workers_snapshot(a->w, t, RS_ORCH_MAX_WORKERS, master);
	in.w = t;
	in.master_id = master;
	in.epoch = rs_orch_workers_epoch(a->w);
	in.head_seq = rs_orch_workers_head(a->w);
	in.commit_seq = rs_orch_router_commit_seq(a->r);
	in.now_ms = rs_time_now_ms();
	in.window_reads = atomic_load(&as->reads);
	in.window_ms = as->window_ms;
	start = atomic_load(&as->window_start_ms);
	in.window_elapsed_ms = start == 0 ? -1 : in.now_ms - start;
	in.target_slaves = rs_orch_autoscale_target(as);
	in.paused = rs_orch_supervisor_paused(
	    a->s, reason, sizeof(reason), &in.paused_since_ms);
	in.pause_reason = reason;
	in.refusing_writes
	    = rs_orch_workers_recovery_blocked(a->w, why, sizeof(why));
	in.refusing_why = why;
	queue_depths(a, msgs, cons, ok);
	in.queues = queues;
	in.messages = msgs;
	in.consumers = cons;
	in.ok = ok;
	in.nqueues = RS_ORCH_STATUS_QUEUES;
	in.events = rs_orch_events_json(50);
	rs_http_reply_json(hreq, 200, rs_orch_status_json(&in));
}

/* GET /: the status page (it polls /api/v1/status). */
static void
h_page(rs_http_req *hreq, void *arg)
{
	(void) arg;
	rs_http_add_header(hreq, "Cache-Control", "no-store");
	rs_http_reply(hreq, 200, "text/html; charset=utf-8",
	    rs_orch_status_page, strlen(rs_orch_status_page));
}

/* The optional {"reason": "..."} of POST /api/v1/pause. */
static int
pause_reason(rs_http_req *hreq, char *reason, size_t len)
{
	size_t blen;
	const char *body = rs_http_body(hreq, &blen);
	json_error_t jerr;
	json_t *j, *r;

	snprintf(reason, len, "maintenance");
	if (body == NULL || blen == 0)
		return RS_OK;
	j = rs_pbjson_loadb(body, blen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return RS_EINVAL;
	}
	r = json_object_get(j, "reason");
	if (r != NULL && !json_is_string(r)) {
		json_decref(j);
		return RS_EINVAL;
	}
	if (r != NULL) {
		/* One printable line: it goes to logs and a znode. */
		size_t k = 0;
		for (const char *p = json_string_value(r);
		     *p != '\0' && k + 1 < len; p++)
			reason[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
		reason[k] = '\0';
	}
	json_decref(j);
	return RS_OK;
}

static void
pause_or_resume(rs_http_req *hreq, rs_orch_admin *a, bool pause)
{
	char reason[200];
	int rv;

	if (pause && pause_reason(hreq, reason, sizeof(reason)) != RS_OK) {
		rs_http_reply_error(
		    hreq, 400, "expected no body or {\"reason\": \"<text>\"}");
		return;
	}
	rv = rs_orch_supervisor_pause(
	    a->s, pause, pause ? reason : NULL, 5000);
	rs_http_reply_json(hreq, 200,
	    json_pack("{s:b, s:s, s:b}", "paused", pause, "reason",
	        pause ? reason : "", "zookeeper", rv == RS_OK));
}

/* POST /api/v1/pause [{"reason": "..."}]: maintenance mode. */
static void
h_pause(rs_http_req *hreq, void *arg)
{
	pause_or_resume(hreq, arg, true);
}

/* POST /api/v1/resume: back to autoscaling, replacement and failover. */
static void
h_resume(rs_http_req *hreq, void *arg)
{
	pause_or_resume(hreq, arg, false);
}

/* POST /api/v1/switchover [{candidate: pid}]: planned master move. */
static void
h_switchover(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	size_t len;
	const char *body = rs_http_body(hreq, &len);
	json_error_t jerr;
	json_t *j = NULL, *c = NULL;
	int64_t pid = 0;
	rs_orch_switchover r;
	int rv;

	if (body != NULL && len > 0) {
		j = rs_pbjson_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		c = json_is_object(j) ? json_object_get(j, RS_ROLE_CANDIDATE)
		                      : NULL;
		if (!json_is_object(j) || (c != NULL && !json_is_integer(c))
		    || json_object_size(j) > (c != NULL ? 1u : 0u)) {
			json_decref(j);
			rs_http_reply_error(hreq, 400,
			    "expected no body or {\"candidate\": <pid>}");
			return;
		}
		pid = c != NULL ? (int64_t) json_integer_value(c) : 0;
		json_decref(j);
	}
	rv = rs_orch_supervisor_switchover(a->s, pid,
	    (int) rs_cfg_long(
	        "RIDESHARE_SWITCHOVER_TIMEOUT_MS", 15000, 100, 600000),
	    &r);
	if (rv == RS_ENOTFOUND) {
		if (pid != 0)
			rs_http_reply_error(hreq, 409,
			    "no serving master, or pid %lld is not a "
			    "serving slave",
			    (long long) pid);
		else
			rs_http_reply_error(hreq, 409,
			    "no serving master or no serving slave");
		return;
	}
	if (rv == RS_ESTATE) {
		rs_http_reply_error(hreq, 409,
		    "paused (POST /api/v1/resume first) or another "
		    "switchover is running");
		return;
	}
	if (rv != RS_OK && rv != RS_ETIMEDOUT) {
		rs_http_reply_error(
		    hreq, 500, "switchover failed: %s", rs_strerror(rv));
		return;
	}
	rs_http_reply_json(hreq, rv == RS_OK ? 200 : 504,
	    json_pack("{s:s, s:{s:s, s:I}, s:{s:s, s:I}, s:I, s:I, s:I}",
	        "status", rv == RS_OK ? "done" : "candidate did not take over",
	        "previous", "id", r.old_id, "pid", (json_int_t) r.old_pid,
	        RS_ROLE_MASTER, "id", r.new_id, "pid", (json_int_t) r.new_pid,
	        "epoch", (json_int_t) r.epoch, "write_pause_ms",
	        (json_int_t) r.pause_ms, "total_ms", (json_int_t) r.total_ms));
}

/* POST /api/v1/workers/{pid}/drain: stop one slave gracefully. */
static void
h_drain(rs_http_req *hreq, void *arg)
{
	rs_orch_admin *a = arg;
	const char *p = rs_http_param(hreq, "pid", NULL);
	char *end = NULL;
	long long pid;
	int rv;

	errno = 0;
	pid = p != NULL ? strtoll(p, &end, 10) : 0;
	if (p == NULL || *p == '\0' || *end != '\0' || errno != 0
	    || pid <= 0) {
		rs_http_reply_error(
		    hreq, 400, "pid must be a positive integer");
		return;
	}
	rv = rs_orch_supervisor_drain(a->s, (int64_t) pid);
	if (rv == RS_ENOTFOUND) {
		rs_http_reply_error(
		    hreq, 404, "no live worker with pid %lld", pid);
		return;
	}
	if (rv == RS_ESTATE) {
		rs_http_reply_error(hreq, 409,
		    "pid %lld is not a slave: move the master role away "
		    "first (POST /api/v1/switchover)",
		    pid);
		return;
	}
	if (rv != RS_OK) {
		rs_http_reply_error(
		    hreq, 500, "drain failed: %s", rs_strerror(rv));
		return;
	}
	rs_http_reply_json(hreq, 202,
	    json_pack("{s:I, s:s, s:b}", "pid", (json_int_t) pid, "status",
	        "draining", "replaced",
	        !rs_orch_supervisor_paused(a->s, NULL, 0, NULL)));
}

/* ---- /metrics extras ----------------------------------------------------*/

static void
queue_lines(rs_orch_admin *a, rs_buf *out)
{
	uint32_t msgs[5], cons[5];
	bool ok[5] = { false };
	char labels[96];

	queue_depths(a, msgs, cons, ok);
	rs_metrics_help(out, "rideshare_orch_queue_messages", "gauge",
	    "Ready messages per queue (passive declare).");
	for (size_t i = 0; i < 5; i++) {
		snprintf(labels, sizeof(labels), "queue=\"%s\"", queues[i]);
		if (ok[i])
			rs_metrics_line(out, "rideshare_orch_queue_messages",
			    labels, msgs[i]);
	}
	rs_metrics_help(out, "rideshare_orch_queue_consumers", "gauge",
	    "Consumers per queue (passive declare).");
	for (size_t i = 0; i < 5; i++) {
		snprintf(labels, sizeof(labels), "queue=\"%s\"", queues[i]);
		if (ok[i])
			rs_metrics_line(out, "rideshare_orch_queue_consumers",
			    labels, cons[i]);
	}
}

/* The per-worker series of /metrics: one row each, rendered by one loop. */
typedef struct worker_series {
	const char *name, *type, *help;
	double (*value)(const rs_orch_worker *w, uint64_t head);
	bool master_only; /* rendered for the master only */
} worker_series;

static double
v_applied(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->applied_seq;
}

static double
v_lag(const rs_orch_worker *w, uint64_t head)
{
	return (double) lag_of(w, head);
}

static double
v_held(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->reads.held;
}

static double
v_hold_timeouts(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->reads.hold_timeouts;
}

static double
v_park_timeouts(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->reads.park_timeouts;
}

static double
v_rejected(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->reads.rejected;
}

static double
v_reply_messages(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->reads.reply_messages;
}

static double
v_batched_replies(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->reads.batched_replies;
}

/* The master's group-commit totals ("commits" notice), seconds from
 * microseconds. */
static double
v_groups(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.groups;
}

static double
v_group_writes(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.writes;
}

static double
v_statements_s(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.statements_us / 1e6;
}

static double
v_commit_s(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.commit_us / 1e6;
}

static double
v_fence_s(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.fence_us / 1e6;
}

static double
v_confirm_s(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.confirm_us / 1e6;
}

static double
v_reply_s(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->commits.reply_us / 1e6;
}

static double
v_lag_ms(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->lag_ms;
}

static double
v_lag_seqs(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->lag_seqs;
}

static double
v_lag_state(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return (double) w->lag_state;
}

static double
v_takes_reads(const rs_orch_worker *w, uint64_t head)
{
	(void) head;
	return w->role == RS_ORCH_ROLE_SLAVE && !w->read_paused ? 1 : 0;
}

static const worker_series series[] = {
	{ "rideshare_orch_worker_lag_seqs", "gauge",
	    "Replica lag in seqs (head minus applied seq; 0 for the master).",
	    v_lag_seqs, false },
	{ "rideshare_orch_worker_lag_ms", "gauge",
	    "Replica lag in ms: age of its oldest unapplied write, or its "
	    "silence.",
	    v_lag_ms, false },
	{ "rideshare_orch_worker_lag_state", "gauge",
	    "0 none (master), 1 snapshotting, 2 catching up, 3 serving, 4 "
	    "lagging.",
	    v_lag_state, false },
	{ "rideshare_orch_worker_takes_reads", "gauge",
	    "1 when the slave takes new reads (within RIDESHARE_MAX_LAG_MS).",
	    v_takes_reads, false },
	{ "rideshare_orch_worker_applied_seq", "gauge",
	    "Last seq applied by each worker (status notices).", v_applied,
	    false },
	{ "rideshare_orch_worker_lag", "gauge",
	    "Master head seq minus the worker's applied seq.", v_lag, false },
	{ "rideshare_orch_worker_reads_held_total", "counter",
	    "Read replies a slave held until commit_seq covered them.", v_held,
	    false },
	{ "rideshare_orch_worker_read_hold_timeouts_total", "counter",
	    "Held read replies sent after RIDESHARE_READ_HOLD_MS instead.",
	    v_hold_timeouts, false },
	{ "rideshare_orch_worker_read_park_timeouts_total", "counter",
	    "Reads answered UNAVAILABLE: min_seq not reached within "
	    "RIDESHARE_READ_PARK_MS.",
	    v_park_timeouts, false },
	{ "rideshare_orch_worker_messages_rejected_total", "counter",
	    "Internal messages a slave dead-lettered (out-of-range reads and "
	    "sync events).",
	    v_rejected, false },
	{ "rideshare_orch_worker_read_reply_messages_total", "counter",
	    "Messages a slave sent with read replies (one per reply address "
	    "and step).",
	    v_reply_messages, false },
	{ "rideshare_orch_worker_read_replies_batched_total", "counter",
	    "Read replies a slave sent inside a ResponseBatch (2 or more to "
	    "one reply address).",
	    v_batched_replies, false },
	/* Where a durable write's time goes (the master's "commits" notice,
	 * totals of its current term; docs/performance.md). */
	{ "rideshare_orch_worker_group_commits_total", "counter",
	    "Group commits of the master (one transaction each).", v_groups,
	    true },
	{ "rideshare_orch_worker_group_commit_writes_total", "counter",
	    "Write requests in the master's group commits.", v_group_writes,
	    true },
	{ "rideshare_orch_worker_group_statements_seconds_total", "counter",
	    "Master: time in BEGIN, dedupe look-ups and the writes' "
	    "statements.",
	    v_statements_s, true },
	{ "rideshare_orch_worker_group_commit_seconds_total", "counter",
	    "Master: time in the bookkeeping rows and COMMIT (WAL sync).",
	    v_commit_s, true },
	{ "rideshare_orch_worker_group_fence_seconds_total", "counter",
	    "Master: time re-reading its ZooKeeper znode before publishing "
	    "(fencing).",
	    v_fence_s, true },
	{ "rideshare_orch_worker_group_confirm_seconds_total", "counter",
	    "Master: time publishing SyncEvents until the broker confirmed.",
	    v_confirm_s, true },
	{ "rideshare_orch_worker_group_reply_seconds_total", "counter",
	    "Master: time sending notices, replies and acks.", v_reply_s,
	    true },
};

static void
paused_line(rs_buf *out, rs_orch_admin *a)
{
	rs_metrics_line(out, "rideshare_orch_paused", NULL,
	    rs_orch_supervisor_paused(a->s, NULL, 0, NULL) ? 1.0 : 0.0);
}

static void
metrics_extra(rs_buf *out, void *arg)
{
	rs_orch_admin *a = arg;
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	size_t n
	    = rs_orch_workers_snapshot(a->w, t, RS_ORCH_MAX_WORKERS, NULL);
	uint64_t head = rs_orch_workers_head(a->w);
	int masters = 0, slaves = 0;
	char labels[256];

	for (size_t k = 0; k < sizeof(series) / sizeof(series[0]); k++) {
		rs_metrics_help(
		    out, series[k].name, series[k].type, series[k].help);
		for (size_t i = 0; i < n; i++) {
			if (!rs_orch_worker_alive(&t[i])
			    || (series[k].master_only
			        && t[i].role != RS_ORCH_ROLE_MASTER))
				continue;
			snprintf(labels, sizeof(labels),
			    "id=\"%.63s\",pid=\"%" PRId64 "\",role=\"%s\"",
			    t[i].id, t[i].pid, rs_orch_role_name(t[i].role));
			rs_metrics_line(out, series[k].name, labels,
			    series[k].value(&t[i], head));
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!rs_orch_worker_alive(&t[i]) || !t[i].registered)
			continue;
		masters += t[i].role == RS_ORCH_ROLE_MASTER;
		slaves += t[i].role == RS_ORCH_ROLE_SLAVE;
	}
	rs_metrics_help(out, "rideshare_orch_workers", "gauge",
	    "Serving workers by role.");
	rs_metrics_line(
	    out, "rideshare_orch_workers", "role=\"master\"", masters);
	rs_metrics_line(
	    out, "rideshare_orch_workers", "role=\"slave\"", slaves);
	rs_metrics_one(out, "rideshare_admin_auth_enabled", "gauge",
	    "1 when state-changing admin calls need the bearer token.",
	    a->cfg->admin_token[0] != '\0' ? 1.0 : 0.0);
	rs_metrics_help(out, "rideshare_orch_paused", "gauge",
	    "1 while in maintenance mode (POST /api/v1/pause).");
	paused_line(out, a);
	rs_metrics_one(out, "rideshare_orch_head_seq", "gauge",
	    "Master head seq from its notices.", (double) head);
	queue_lines(a, out);
	rs_orch_backup_metrics(a->backup, out);
	rs_orch_changes_metrics(a->changes, out);
}

/* ---- lifecycle ----------------------------------------------------------*/

/* Also rs_orch_admin_start's one unwind: every part it has not made yet
 * is NULL, and each destroy below takes NULL. */
void
rs_orch_admin_stop(rs_orch_admin *a)
{
	if (a == NULL)
		return;
	/* Open change streams end first: rs_http_stop waits for them. */
	rs_orch_changes_stop(a->changes);
	if (a->http != NULL)
		rs_http_stop(a->http);
	rs_orch_backup_destroy(a->backup);
	rs_orch_changes_destroy(a->changes);
	rs_orch_restore_destroy(a->restore);
	rs_mq_destroy(a->mq);
	pthread_mutex_destroy(&a->mq_lock);
	/* CivetWeb's threads are gone: no call is in flight. */
	rs_rpc_pool_destroy(a->rpc);
	free(a);
}

int
rs_orch_admin_start(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_supervisor *s, rs_orch_router *r, rs_orch_admin **out)
{
	rs_orch_admin *a = calloc(1, sizeof(*a));
	rs_http_cfg hc;
	int rv;

	if (a == NULL)
		return RS_ENOMEM;
	a->cfg = cfg;
	a->w = w;
	a->s = s;
	a->r = r;
	pthread_mutex_init(&a->mq_lock, NULL);
	if (rs_rpc_pool_create(cfg->amqp_url, RS_Q_ORCHESTRATOR,
	        (int) rs_cfg_long(
	            "RIDESHARE_RPC_POOL", RS_RPC_POOL_DEFAULT, 1, 1024),
	        2000, &a->rpc)
	    != RS_OK) {
		rs_orch_admin_stop(a);
		return RS_ENOMEM;
	}
	if ((rv = rs_orch_backup_create(cfg, w, r, &a->backup)) != RS_OK) {
		rs_orch_admin_stop(a);
		return rv;
	}
	if (rs_orch_changes_create(cfg, w, r, &a->changes) != RS_OK
	    || rs_orch_restore_create(cfg, w, s, r, &a->restore) != RS_OK) {
		rs_orch_admin_stop(a);
		return RS_ENOMEM;
	}
	{
		const rs_http_route routes[] = {
			{ "POST", "/api/v1/db/read", h_read, a, 0 },
			{ "POST", "/api/v1/db/write", h_write, a, 0 },
			{ "POST", "/api/v1/db/clear", h_clear, a, 0 },
			{ "POST", "/api/v1/crash/master", h_crash_master, a,
			    0 },
			{ "POST", "/api/v1/crash/slave", h_crash_slave, a, 0 },
			{ "POST", "/api/v1/recover", h_recover, a, 0 },
			{ "GET", "/api/v1/worker/list", h_list, a, 0 },
			{ "GET", "/api/v1/worker/details", h_details, a, 0 },
			{ "GET", "/api/v1/workers", h_workers, a, 0 },
			{ "GET", "/readyz", h_readyz, a, 0 },
			{ "GET", "/", h_page, a, 0 },
			{ "GET", "/api/v1/status", h_status, a, 0 },
			{ "POST", "/api/v1/pause", h_pause, a, 0 },
			{ "POST", "/api/v1/resume", h_resume, a, 0 },
			{ "POST", "/api/v1/switchover", h_switchover, a, 0 },
			{ "POST", "/api/v1/workers/{pid}/drain", h_drain, a,
			    0 },
			/* GETs that need the token: every user's data. */
			{ "GET", "/api/v1/backup", rs_orch_backup_http,
			    a->backup, RS_HTTP_PRIVATE },
			{ "GET", "/api/v1/changes", rs_orch_changes_handle,
			    a->changes, RS_HTTP_PRIVATE },
			/* The body is a whole backup file: streamed to disk,
			 * not held in memory under the body limit. */
			{ "POST", "/api/v1/restore", rs_orch_restore_http,
			    a->restore, RS_HTTP_RAW_BODY },
		};

		memset(&hc, 0, sizeof(hc));
		hc.name = "orchestrator";
		hc.addr = cfg->http_addr;
		hc.port = cfg->http_port;
		hc.threads = cfg->http_threads;
		hc.body_limit = (size_t) cfg->body_limit;
		hc.request_timeout_ms = cfg->http_request_timeout_ms;
		/* Every route that is not GET needs it: db/read too (it is
		 * counted for autoscaling, so a flood of them spawns workers,
		 * and it reads every user's data past the gateways). */
		hc.auth_token
		    = cfg->admin_token[0] != '\0' ? cfg->admin_token : NULL;
		hc.metrics_extra = metrics_extra;
		hc.metrics_arg = a;
		rv = rs_http_start(
		    &hc, routes, sizeof(routes) / sizeof(routes[0]), &a->http);
	}
	if (rv != RS_OK) {
		rs_error(NULL,
		    "event=admin_listen_failed addr=%s port=%d err=%s",
		    cfg->http_addr, cfg->http_port, rs_strerror(rv));
		rs_orch_admin_stop(a);
		return rv;
	}
	rs_info(NULL, "event=admin_listening addr=%s port=%d", cfg->http_addr,
	    rs_http_port(a->http));
	if (cfg->admin_token[0] != '\0')
		rs_info(NULL, "event=admin_auth state=enabled source=%s",
		    cfg->admin_token_src);
	else
		rs_warn(NULL,
		    "event=admin_auth state=disabled msg=\"no "
		    "RIDESHARE_ADMIN_TOKEN(_FILE): crash, db/write, db/clear "
		    "and every other non-GET admin call are open to anyone "
		    "who reaches %s:%d\"",
		    cfg->http_addr, rs_http_port(a->http));
	*out = a;
	return RS_OK;
}
