/* The gateways' database RPC over a shared client pool. See rs_gw_rpc.h. */
#include "rs_gw_rpc.h"
#include "rs_contract.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_op.h"
#include "rs_rpc_pool.h"
#include "rs_time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_WAIT_MS 1000

static rs_rpc_pool *pool;
static int timeout_ms = 5000;

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

void
rs_gw_rpc_init(const char *url, const char *queue, int tmo_ms)
{
	static int registered;

	rs_rpc_pool_destroy(pool);
	if (rs_rpc_pool_create(url, queue,
	        (int) rs_cfg_long("RIDESHARE_RPC_POOL", RS_RPC_POOL_DEFAULT, 1,
	            1024),
	        CONNECT_WAIT_MS, &pool)
	    != RS_OK) {
		rs_error(NULL, "event=oom where=rs_gw_rpc_init");
		abort();
	}
	timeout_ms = tmo_ms;
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
	rs_gw_rpc_init(rs_cfg_str("RIDESHARE_AMQP_URL",
	                   "amqp://guest:guest@127.0.0.1:8101"),
	    RS_Q_ORCHESTRATOR,
	    (int) rs_cfg_long("RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000));
}

void
rs_gw_rpc_fini(void)
{
	rs_rpc_pool_destroy(pool);
	pool = NULL;
}

int
rs_gw_rpc_call(Rideshare__DbRequest *req, const char *http_rid,
    Rideshare__DbResponse **resp)
{
	char id[RS_ID_LEN + 1];
	int rc;

	/* Never reuse the client's X-Request-Id: the master dedupes writes
	 * by request_id, so an id must name exactly one logical request. */
	rs_id_new(id);
	req->request_id = id;
	rs_metric_add(&m_calls, 1);
	rc = pool != NULL ? rs_rpc_pool_call(pool, req, timeout_ms, resp)
	                  : RS_ESTATE;
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
