/* Shared pieces of the REST services. See rs_gw.h. */
#include "rs_gw.h"
#include "rs_gw_handlers.h"

#include "rs_err.h"
#include "rs_log.h"

#include <signal.h>
#include <pthread.h>

static sigset_t
stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return set;
}

void
rs_gw_signals_block(void)
{
	sigset_t set = stop_signals();

	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int
rs_gw_signals_wait(void)
{
	sigset_t set = stop_signals();
	int sig = 0;

	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}

void
rs_gw_count_get(rs_http_req *req, void *arg)
{
	rs_gw_reply_count(
	    req, (json_int_t) rs_http_count_get(rs_http_req_server(req)));
}

void
rs_gw_count_reset(rs_http_req *req, void *arg)
{
	rs_http_count_reset(rs_http_req_server(req));
	rs_http_reply_empty_object(req, 200);
}

int
rs_gw_body_object(rs_http_req *req, const char *const *allowed, json_t **out)
{
	char why[RS_GW_WHY_LEN];
	const char *body;
	size_t len;
	json_t *o;

	body = rs_http_body(req, &len);
	if (rs_gw_json_object(body, len, &o, why) != RS_OK) {
		rs_http_reply_error(req, 400, "%s", why);
		return RS_EINVAL;
	}
	if (allowed != NULL && rs_gw_json_only(o, allowed, why) != RS_OK) {
		json_decref(o);
		rs_http_reply_error(req, 400, "%s", why);
		return RS_EINVAL;
	}
	*out = o;
	return RS_OK;
}

void
rs_gw_db_clear(rs_http_req *req, void *arg)
{
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__Clear op = RIDESHARE__CLEAR__INIT;
	Rideshare__DbResponse *resp;
	char why[RS_GW_WHY_LEN];
	const char *body;
	size_t len;

	body = rs_http_body(req, &len);
	if (rs_gw_json_empty(body, len, why) != RS_OK) {
		rs_http_reply_error(req, 400, "%s", why);
		return;
	}
	dr.op_case = RIDESHARE__DB_REQUEST__OP_CLEAR;
	dr.clear = &op;
	if (rs_gw_call_ok(req, &dr, &resp) != RS_OK)
		return;
	rs_info(rs_http_rid(req), "event=db_cleared");
	rs_http_reply_empty_object(req, 200);
	rideshare__db_response__free_unpacked(resp, NULL);
}
