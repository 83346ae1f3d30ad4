/* Per-thread database RPC for the gateways. See rs_gw_rpc.h. */
#include "rs_gw_rpc.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_op.h"
#include "rs_rpc.h"
#include "rs_time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_WAIT_MS 1000
/* rs_mq's default AMQP heartbeat (RIDESHARE_AMQP_HEARTBEAT_S). */
#define DEFAULT_HEARTBEAT_S 10

static char *amqp_url;
static char *target_queue;
static int timeout_ms = 5000;
/* Clients idle this long are replaced before use (0: never): 70 % of the
 * heartbeat interval, safely before the broker gives up on them. */
static int64_t idle_recycle_ms = DEFAULT_HEARTBEAT_S * 700;

static pthread_key_t rpc_key;
static pthread_once_t rpc_key_once = PTHREAD_ONCE_INIT;

static rs_metric m_calls = RS_METRIC("rideshare_gw_rpc_calls_total",
    "Database RPC calls made by this gateway.", "counter", NULL);
static rs_metric m_timeouts = RS_METRIC("rideshare_gw_rpc_failures_total",
    "Database RPC calls that failed in transport, by reason.", "counter",
    "reason=\"timeout\"");
static rs_metric m_unreach = RS_METRIC("rideshare_gw_rpc_failures_total",
    "Database RPC calls that failed in transport, by reason.", "counter",
    "reason=\"unavailable\"");
static rs_metric m_proto = RS_METRIC("rideshare_gw_rpc_failures_total",
    "Database RPC calls that failed in transport, by reason.", "counter",
    "reason=\"bad_reply\"");

/* A thread's client and when it was last used. */
struct tl_rpc {
	rs_rpc *rpc;
	int64_t last_ms;
};

static void
rpc_key_destroy(void *p)
{
	struct tl_rpc *t = p;

	rs_rpc_destroy(t->rpc);
	free(t);
}

static void
rpc_key_init(void)
{
	(void) pthread_key_create(&rpc_key, rpc_key_destroy);
}

void
rs_gw_rpc_init(const char *url, const char *queue, int tmo_ms)
{
	static int registered;

	free(amqp_url);
	free(target_queue);
	amqp_url = strdup(url);
	target_queue = strdup(queue);
	if (amqp_url == NULL || target_queue == NULL) {
		rs_error(NULL, "event=oom where=rs_gw_rpc_init");
		abort();
	}
	timeout_ms = tmo_ms;
	pthread_once(&rpc_key_once, rpc_key_init);
	if (!registered) {
		registered = 1;
		rs_metric_register(&m_calls);
		rs_metric_register(&m_timeouts);
		rs_metric_register(&m_unreach);
		rs_metric_register(&m_proto);
	}
}

void
rs_gw_rpc_init_from_env(void)
{
	long hb = rs_cfg_long(
	    "RIDESHARE_AMQP_HEARTBEAT_S", DEFAULT_HEARTBEAT_S, 0, 600);

	rs_gw_rpc_init(rs_cfg_str("RIDESHARE_AMQP_URL",
	                   "amqp://guest:guest@127.0.0.1:8101"),
	    "orchestrator",
	    (int) rs_cfg_long("RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000));
	idle_recycle_ms = (int64_t) hb * 700;
}

/* The calling thread's client, created on first use. An idle client
 * sends no AMQP heartbeats (librabbitmq only does I/O inside calls), so
 * the broker drops it after its heartbeat timeout; rather than find that
 * out by a failed publish, a client idle for idle_recycle_ms is replaced
 * before use. */
static int
thread_rpc(const char *rid, rs_rpc **out)
{
	struct tl_rpc *t;
	int64_t now = rs_time_now_ms();
	int rc;

	pthread_once(&rpc_key_once, rpc_key_init);
	t = pthread_getspecific(rpc_key);
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return RS_ENOMEM;
		if (pthread_setspecific(rpc_key, t) != 0) {
			free(t);
			return RS_ENOMEM;
		}
	}
	if (t->rpc != NULL && idle_recycle_ms > 0
	    && now - t->last_ms >= idle_recycle_ms) {
		rs_debug(rid, "event=rpc_recycle idle_ms=%lld",
		    (long long) (now - t->last_ms));
		rs_rpc_destroy(t->rpc);
		t->rpc = NULL;
	}
	if (t->rpc == NULL) {
		if (amqp_url == NULL)
			return RS_ESTATE;
		rc = rs_rpc_create(amqp_url, target_queue,
		    timeout_ms < CONNECT_WAIT_MS ? timeout_ms
		                                 : CONNECT_WAIT_MS,
		    &t->rpc);
		if (rc != RS_OK) {
			t->rpc = NULL;
			rs_warn(rid, "event=rpc_connect_failed err=%s",
			    rs_strerror(rc));
			return rc;
		}
	}
	t->last_ms = now;
	*out = t->rpc;
	return RS_OK;
}

void
rs_gw_rpc_thread_fini(void)
{
	struct tl_rpc *t;

	pthread_once(&rpc_key_once, rpc_key_init);
	t = pthread_getspecific(rpc_key);
	if (t != NULL) {
		pthread_setspecific(rpc_key, NULL);
		rpc_key_destroy(t);
	}
}

int
rs_gw_rpc_call(Rideshare__DbRequest *req, const char *http_rid,
    Rideshare__DbResponse **resp)
{
	char id[RS_ID_LEN + 1];
	rs_rpc *rpc;
	int rc;

	/* Never reuse the client's X-Request-Id: the master dedupes writes
	 * by request_id, so an id must name exactly one logical request. */
	rs_id_new(id);
	req->request_id = id;
	rs_metric_add(&m_calls, 1);
	rc = thread_rpc(http_rid, &rpc);
	if (rc == RS_OK) {
		struct tl_rpc *t;
		rc = rs_rpc_call(rpc, req, timeout_ms, resp);
		t = pthread_getspecific(rpc_key);
		if (t != NULL)
			t->last_ms = rs_time_now_ms();
	}
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
	req->request_id = NULL;
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
rs_gw_call(
    rs_http_req *hreq, Rideshare__DbRequest *req, Rideshare__DbResponse **resp)
{
	int rc = rs_gw_rpc_call(req, rs_http_rid(hreq), resp);

	if (rc == RS_OK)
		return RS_OK;
	switch (rs_gw_rpc_err_http(rc)) {
	case 504:
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
