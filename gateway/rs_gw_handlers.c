/* Shared handler shape of the REST services. See rs_gw_handlers.h. */
#include "rs_gw_handlers.h"

#include "rs_err.h"
#include "rs_gw_rpc.h"

static void
reply_row(rs_http_req *req, const rs_gw_answer *row,
    const Rideshare__DbResponse *resp)
{
	if (row->error == NULL) {
		if (row->http == 204)
			rs_http_reply(req, 204, NULL, NULL, 0);
		else
			rs_http_reply_empty_object(req, row->http);
		return;
	}
	if (row->db_text && resp->error != NULL && resp->error[0] != '\0')
		rs_http_reply_error(req, row->http, "%s", resp->error);
	else
		rs_http_reply_error(req, row->http, "%s", row->error);
}

void
rs_gw_call_answer(
    rs_http_req *req, Rideshare__DbRequest *dr, const rs_gw_answer *answers)
{
	Rideshare__DbResponse *resp;
	const rs_gw_answer *row;

	if (rs_gw_call(req, dr, &resp) != RS_OK)
		return;
	for (row = answers; row->http != 0; row++) {
		if (row->status == resp->status)
			break;
	}
	if (row->http != 0)
		reply_row(req, row, resp);
	else
		rs_gw_reply_db_error(req, resp);
	rideshare__db_response__free_unpacked(resp, NULL);
}

int
rs_gw_call_ok(
    rs_http_req *req, Rideshare__DbRequest *dr, Rideshare__DbResponse **resp)
{
	int rc = rs_gw_call(req, dr, resp);

	if (rc != RS_OK)
		return rc;
	if ((*resp)->status == RIDESHARE__STATUS__OK)
		return RS_OK;
	rs_gw_reply_db_error(req, *resp);
	rideshare__db_response__free_unpacked(*resp, NULL);
	*resp = NULL;
	return RS_EDB;
}

json_t *
rs_gw_json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

void
rs_gw_reply_count(rs_http_req *req, json_int_t n)
{
	json_t *a = json_array();

	json_array_append_new(a, json_integer(n));
	rs_http_reply_json(req, 200, a);
}
