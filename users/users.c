/* Users service: each handler validates its input and turns the call into
 * one DbRequest. Status codes follow API.md exactly. */
#include "users.h"

#include "rs_err.h"
#include "rs_gw.h"
#include "rs_gw_handlers.h"
#include "rs_log.h"

#include <ctype.h>
#include <string.h>

/* PUT /api/v1/users {"username": "u", "password": "<40 hex>"} -> 201 {} */
static void
add_user(rs_http_req *req, void *arg)
{
	static const char *const fields[] = { "username", "password", NULL };
	static const rs_gw_answer answers[] = {
		{ RIDESHARE__STATUS__OK, 201, NULL, false },
		{ RIDESHARE__STATUS__ALREADY_EXISTS, 400,
		    "username already taken", false },
		{ 0 },
	};
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__AddUser op = RIDESHARE__ADD_USER__INIT;
	char why[RS_GW_WHY_LEN];
	const char *name, *pw;
	size_t nlen, plen;
	char hex[41];
	json_t *o;

	if (rs_gw_body_object(req, fields, &o) != RS_OK)
		return;
	if (rs_gw_json_string(o, "username", &name, &nlen, why) != RS_OK
	    || rs_gw_json_string(o, "password", &pw, &plen, why) != RS_OK) {
		rs_http_reply_error(req, 400, "%s", why);
		goto out;
	}
	if (!rs_gw_username_valid(name, nlen)) {
		rs_http_reply_error(req, 400, "username must not be empty");
		goto out;
	}
	if (!rs_gw_password_valid(pw, plen)) {
		rs_http_reply_error(req, 400,
		    "password must be a SHA1 hex digest (40 hex digits)");
		goto out;
	}
	/* Case-insensitive: store one canonical spelling. */
	for (size_t i = 0; i < 40; i++)
		hex[i] = (char) tolower((unsigned char) pw[i]);
	hex[40] = '\0';
	op.username = (char *) name;
	op.password = hex;
	dr.op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
	dr.add_user = &op;
	rs_gw_call_answer(req, &dr, answers);
out:
	json_decref(o);
}

/* The {username} path parameter (*len bytes), or NULL after answering
 * invalid_status "no such user" when it cannot name a user. */
static char *
username_param(rs_http_req *req, int invalid_status, size_t *len)
{
	const char *name = rs_http_param(req, "username", len);

	if (!rs_gw_username_valid(name, *len)) {
		rs_http_reply_error(req, invalid_status, "no such user");
		return NULL;
	}
	return (char *) name;
}

/* DELETE /api/v1/users/{username} -> 200 {}; 400 no such user */
static void
remove_user(rs_http_req *req, void *arg)
{
	static const rs_gw_answer answers[] = {
		{ RIDESHARE__STATUS__OK, 200, NULL, false },
		{ RIDESHARE__STATUS__NOT_FOUND, 400, "no such user", false },
		{ 0 },
	};
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__RemoveUser op = RIDESHARE__REMOVE_USER__INIT;
	size_t len;

	if ((op.username = username_param(req, 400, &len)) == NULL)
		return;
	dr.op_case = RIDESHARE__DB_REQUEST__OP_REMOVE_USER;
	dr.remove_user = &op;
	rs_gw_call_answer(req, &dr, answers);
}

/* GET /api/v1/users -> 200 ["u1", ...] in creation order; 204 if none */
static void
list_users(rs_http_req *req, void *arg)
{
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__ListUsers op = RIDESHARE__LIST_USERS__INIT;
	Rideshare__DbResponse *resp;

	dr.op_case = RIDESHARE__DB_REQUEST__OP_LIST_USERS;
	dr.list_users = &op;
	if (rs_gw_call_ok(req, &dr, &resp) != RS_OK)
		return;
	if (resp->result_case != RIDESHARE__DB_RESPONSE__RESULT_USERS
	    || resp->users->n_usernames == 0) {
		rs_http_reply(req, 204, NULL, NULL, 0);
	} else {
		rs_http_reply_json(req, 200,
		    rs_gw_json_strings(
		        resp->users->usernames, resp->users->n_usernames));
	}
	rideshare__db_response__free_unpacked(resp, NULL);
}

/* GET /api/v1/users/{username} -> 200 {"username": "u"}; 404 no such user.
 * The rides service asks this (through the edge) before create/join. */
static void
get_user(rs_http_req *req, void *arg)
{
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__GetUser op = RIDESHARE__GET_USER__INIT;
	Rideshare__DbResponse *resp;
	size_t len;
	const char *name;

	if ((op.username = username_param(req, 404, &len)) == NULL)
		return;
	name = op.username;
	dr.op_case = RIDESHARE__DB_REQUEST__OP_GET_USER;
	dr.get_user = &op;
	if (rs_gw_call(req, &dr, &resp) != RS_OK)
		return;
	if (resp->status == RIDESHARE__STATUS__OK) {
		rs_http_reply_json(
		    req, 200, json_pack("{s:s%}", "username", name, len));
	} else if (resp->status == RIDESHARE__STATUS__NOT_FOUND) {
		rs_http_reply_error(req, 404, "no such user");
	} else {
		rs_gw_reply_db_error(req, resp);
	}
	rideshare__db_response__free_unpacked(resp, NULL);
}

const rs_http_route users_routes[] = {
	{ "PUT", "/api/v1/users", add_user, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/users", list_users, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/users/{username}", get_user, NULL, RS_HTTP_COUNTED },
	{ "DELETE", "/api/v1/users/{username}", remove_user, NULL,
	    RS_HTTP_COUNTED },
	{ "POST", "/api/v1/db/clear", rs_gw_db_clear, NULL, 0 },
	{ "GET", "/api/v1/_count", rs_gw_count_get, NULL, 0 },
	{ "DELETE", "/api/v1/_count", rs_gw_count_reset, NULL, 0 },
};
const size_t users_nroutes = sizeof(users_routes) / sizeof(users_routes[0]);
