/* Rides service: each handler validates its input, asks the users service
 * (through the edge) whether a user exists where API.md requires it, and
 * turns the call into one DbRequest. Status codes follow API.md exactly,
 * including its odd parts (204 for "no such ride" on GET and join). */
#include "rides.h"

#include "rs_err.h"
#include "rs_gw.h"
#include "rs_gw_handlers.h"
#include "rs_log.h"
#include "usercheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Asks the users service; answers the HTTP request itself when the user
 * does not exist (with missing_status) or the check fails (503/504).
 * Returns 1 when the user exists and the handler should go on. */
static int
user_exists_or_reply(
    rs_http_req *req, const char *name, size_t len, int missing_status)
{
	int exists = 0;
	uint64_t min_seq;
	Rideshare__Consistency level;

	if (rs_gw_req_consistency(req, &min_seq, &level) != RS_OK)
		return 0;
	int rc = rides_user_exists(
	    rs_http_rid(req), min_seq, level, name, len, &exists);

	if (rc == RS_ETIMEDOUT) {
		rs_http_reply_error(
		    req, 504, "the users service did not answer in time");
		return 0;
	}
	if (rc != RS_OK) {
		rs_http_reply_error(
		    req, 503, "the users service is unavailable");
		return 0;
	}
	if (!exists) {
		if (missing_status == 204)
			rs_http_reply(req, 204, NULL, NULL, 0);
		else
			rs_http_reply_error(
			    req, missing_status, "no such user");
		return 0;
	}
	return 1;
}

/* An area field of a JSON body; answers 400 itself when it is not one. */
static int
body_area(rs_http_req *req, json_t *o, const char *key, int32_t *out)
{
	json_t *v = json_object_get(o, key);
	int rc;

	if (v == NULL) {
		rs_http_reply_error(req, 400, "missing field '%s'", key);
		return RS_EINVAL;
	}
	rc = rs_gw_area_from_json(v, out);
	if (rc == RS_EINVAL)
		rs_http_reply_error(req, 400,
		    "field '%s' must be an area number (integer or numeric "
		    "string)",
		    key);
	else if (rc != RS_OK)
		rs_http_reply_error(req, 400, "unknown %s area", key);
	return rc;
}

/* POST /api/v1/rides -> 201 {} */
static void
create_ride(rs_http_req *req, void *arg)
{
	static const char *const fields[]
	    = { "created_by", "timestamp", "source", "destination", NULL };
	static const rs_gw_answer answers[] = {
		{ RIDESHARE__STATUS__OK, 201, NULL, false },
		/* the user was deleted meanwhile */
		{ RIDESHARE__STATUS__NOT_FOUND, 400, "no such user", false },
		{ 0 },
	};
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__CreateRide op = RIDESHARE__CREATE_RIDE__INIT;
	char why[RS_GW_WHY_LEN];
	const char *by, *ts;
	size_t blen, tlen;
	int32_t src, dst;
	int64_t t;
	json_t *o;

	if (rs_gw_body_object(req, fields, &o) != RS_OK)
		return;
	if (rs_gw_json_string(o, "created_by", &by, &blen, why) != RS_OK
	    || rs_gw_json_string(o, "timestamp", &ts, &tlen, why) != RS_OK) {
		rs_http_reply_error(req, 400, "%s", why);
		goto out;
	}
	if (!rs_gw_username_valid(by, blen)) {
		rs_http_reply_error(req, 400, "created_by must not be empty");
		goto out;
	}
	if (rs_gw_time_parse(ts, tlen, &t) != RS_OK) {
		rs_http_reply_error(req, 400,
		    "timestamp must be a real date and time as "
		    "DD-MM-YYYY:SS-MM-HH");
		goto out;
	}
	if (body_area(req, o, "source", &src) != RS_OK
	    || body_area(req, o, "destination", &dst) != RS_OK)
		goto out;
	if (!user_exists_or_reply(req, by, blen, 400))
		goto out;
	op.created_by = (char *) by;
	op.timestamp = t;
	op.source = src;
	op.destination = dst;
	dr.op_case = RIDESHARE__DB_REQUEST__OP_CREATE_RIDE;
	dr.create_ride = &op;
	rs_gw_call_answer(req, &dr, answers);
out:
	json_decref(o);
}

/* A query-string area; answers 400 itself when it is not one. */
static int
query_area(rs_http_req *req, const char *key, int32_t *out)
{
	const char *v;
	size_t len;
	int rc = rs_http_query(req, key, &v, &len);

	if (rc == RS_ENOTFOUND) {
		rs_http_reply_error(
		    req, 400, "missing query parameter '%s'", key);
		return rc;
	}
	if (rc != RS_OK) {
		rs_http_reply_error(
		    req, 400, "malformed query parameter '%s'", key);
		return rc;
	}
	rc = rs_gw_area_from_text(v, len, out);
	if (rc == RS_EINVAL)
		rs_http_reply_error(req, 400,
		    "query parameter '%s' must be an area number", key);
	else if (rc != RS_OK)
		rs_http_reply_error(req, 400, "unknown %s area", key);
	return rc;
}

static int
ride_order(const void *a, const void *b)
{
	const Rideshare__Ride *x = *(Rideshare__Ride *const *) a;
	const Rideshare__Ride *y = *(Rideshare__Ride *const *) b;

	if (x->timestamp != y->timestamp)
		return x->timestamp < y->timestamp ? -1 : 1;
	if (x->ride_id != y->ride_id)
		return x->ride_id < y->ride_id ? -1 : 1;
	return 0;
}

static json_t *
time_json(int64_t t)
{
	char s[RS_GW_TIME_LEN + 1];

	if (rs_gw_time_format(t, s) != RS_OK)
		return json_null();
	return json_string(s);
}

/* The listing rl as jansson's JSON_COMPACT text of
 * [{"rideId":N,"username":"u","timestamp":"DD-MM-YYYY:SS-MM-HH"|null},...],
 * written directly: the listing is the busiest read, and a jansson object
 * per ride (pack, dump, free) was ~15 % of this service's CPU. NULL (*why
 * RS_EINVAL) when a username is not plain ASCII, which jansson then
 * encodes (or drops, as before), or RS_ENOMEM. Free the text. */
static char *
list_text(const Rideshare__RideList *rl, size_t *len, int *why)
{
	rs_buf b = RS_BUF_INIT;

	*why = RS_ENOMEM;
	(void) rs_buf_append(&b, "[", 1);
	for (size_t i = 0; i < rl->n_rides && b.err == 0; i++) {
		const Rideshare__Ride *r = rl->rides[i];
		char head[64], ts[RS_GW_TIME_LEN + 4];
		int n = snprintf(head, sizeof(head),
		    "%s{\"rideId\":%" PRId64 ",\"username\":",
		    i > 0 ? "," : "", r->ride_id);
		int rc;

		(void) rs_buf_append(&b, head, (size_t) n);
		if ((rc = rs_gw_json_ascii(&b, r->created_by)) != RS_OK) {
			*why = rc;
			rs_buf_fini(&b);
			return NULL;
		}
		(void) rs_buf_append(&b, ",\"timestamp\":", 13);
		ts[0] = '"';
		if (rs_gw_time_format(r->timestamp, ts + 1) == RS_OK) {
			memcpy(ts + 1 + RS_GW_TIME_LEN, "\"}", 3);
			(void) rs_buf_append(&b, ts, RS_GW_TIME_LEN + 3);
		} else {
			(void) rs_buf_append(&b, "null}", 5);
		}
	}
	(void) rs_buf_append(&b, "]", 1);
	if (b.err != 0) {
		rs_buf_fini(&b);
		return NULL;
	}
	*len = b.len;
	return rs_buf_take(&b);
}

/* The same listing through jansson (usernames that are not plain ASCII). */
static void
reply_list_json(rs_http_req *req, const Rideshare__RideList *rl)
{
	json_t *a = json_array();

	for (size_t i = 0; i < rl->n_rides; i++) {
		Rideshare__Ride *r = rl->rides[i];
		json_array_append_new(a,
		    json_pack("{s:I, s:s, s:o}", "rideId",
		        (json_int_t) r->ride_id, "username", r->created_by,
		        "timestamp", time_json(r->timestamp)));
	}
	rs_http_reply_json(req, 200, a);
}

/* GET /api/v1/rides?source=S&destination=D -> upcoming rides; 204 none */
static void
list_rides(rs_http_req *req, void *arg)
{
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__ListRides op = RIDESHARE__LIST_RIDES__INIT;
	Rideshare__DbResponse *resp;
	Rideshare__RideList *rl;
	int32_t src, dst;

	if (query_area(req, "source", &src) != RS_OK
	    || query_area(req, "destination", &dst) != RS_OK)
		return;
	op.source = src;
	op.destination = dst;
	op.after = (int64_t) time(NULL); /* upcoming: strictly later */
	dr.op_case = RIDESHARE__DB_REQUEST__OP_LIST_RIDES;
	dr.list_rides = &op;
	if (rs_gw_call_ok(req, &dr, &resp) != RS_OK)
		return;
	rl = resp->result_case == RIDESHARE__DB_RESPONSE__RESULT_RIDES
	    ? resp->rides
	    : NULL;
	if (rl == NULL || rl->n_rides == 0) {
		rs_http_reply(req, 204, NULL, NULL, 0);
	} else {
		/* API.md: ordered by time, then id (whatever the worker did)
		 */
		size_t len;
		int why;
		char *text;

		qsort(
		    rl->rides, rl->n_rides, sizeof(rl->rides[0]), ride_order);
		text = list_text(rl, &len, &why);
		if (text != NULL)
			rs_http_reply(req, 200, "application/json", text, len);
		else if (why == RS_EINVAL)
			reply_list_json(req, rl);
		else
			rs_http_reply_error(req, 500, "out of memory");
		free(text);
	}
	rideshare__db_response__free_unpacked(resp, NULL);
}

/* The {rideId} path parameter into *id: RS_OK, or RS_ENOTFOUND when it
 * cannot name a ride (each handler answers that its own way). */
static int
ride_id_param(rs_http_req *req, int64_t *id)
{
	size_t len;
	const char *s = rs_http_param(req, "rideId", &len);

	return rs_gw_ride_id_parse(s, len, id);
}

/* GET /api/v1/rides/{rideId} -> ride details; 204 no such ride */
static void
get_ride(rs_http_req *req, void *arg)
{
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__GetRide op = RIDESHARE__GET_RIDE__INIT;
	Rideshare__DbResponse *resp;
	Rideshare__Ride *r;

	if (ride_id_param(req, &op.ride_id) != RS_OK) {
		rs_http_reply(req, 204, NULL, NULL, 0);
		return;
	}
	dr.op_case = RIDESHARE__DB_REQUEST__OP_GET_RIDE;
	dr.get_ride = &op;
	if (rs_gw_call(req, &dr, &resp) != RS_OK)
		return;
	r = resp->result_case == RIDESHARE__DB_RESPONSE__RESULT_RIDE
	    ? resp->ride
	    : NULL;
	if (resp->status == RIDESHARE__STATUS__NOT_FOUND
	    || (resp->status == RIDESHARE__STATUS__OK && r == NULL)) {
		rs_http_reply(req, 204, NULL, NULL, 0);
	} else if (resp->status != RIDESHARE__STATUS__OK) {
		rs_gw_reply_db_error(req, resp);
	} else {
		rs_http_reply_json(req, 200,
		    json_pack("{s:I, s:s, s:o, s:o, s:i, s:i}", "rideId",
		        (json_int_t) r->ride_id, "Created_by", r->created_by,
		        "users", rs_gw_json_strings(r->users, r->n_users),
		        "Timestamp", time_json(r->timestamp), "source",
		        (int) r->source, "destination", (int) r->destination));
	}
	rideshare__db_response__free_unpacked(resp, NULL);
}

/* POST /api/v1/rides/{rideId} {"username": "u2"} -> 200 {} (join);
 * 204 no such ride or user; 400 bad body, already joined, creator. */
static void
join_ride(rs_http_req *req, void *arg)
{
	static const char *const fields[] = { "username", NULL };
	static const rs_gw_answer answers[] = {
		{ RIDESHARE__STATUS__OK, 200, NULL, false },
		{ RIDESHARE__STATUS__NOT_FOUND, 204, NULL, false },
		{ RIDESHARE__STATUS__ALREADY_EXISTS, 400,
		    "user already in this ride", false },
		{ RIDESHARE__STATUS__INVALID, 400,
		    "the creator cannot join their own ride", true },
		{ 0 },
	};
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__JoinRide op = RIDESHARE__JOIN_RIDE__INIT;
	char why[RS_GW_WHY_LEN];
	size_t nlen;
	const char *name;
	json_t *o;

	if (rs_gw_body_object(req, fields, &o) != RS_OK)
		return;
	if (rs_gw_json_string(o, "username", &name, &nlen, why) != RS_OK) {
		rs_http_reply_error(req, 400, "%s", why);
		goto out;
	}
	if (!rs_gw_username_valid(name, nlen)) {
		rs_http_reply_error(req, 400, "username must not be empty");
		goto out;
	}
	if (ride_id_param(req, &op.ride_id) != RS_OK) {
		rs_http_reply(req, 204, NULL, NULL, 0);
		goto out;
	}
	if (!user_exists_or_reply(req, name, nlen, 204))
		goto out;
	op.username = (char *) name;
	dr.op_case = RIDESHARE__DB_REQUEST__OP_JOIN_RIDE;
	dr.join_ride = &op;
	rs_gw_call_answer(req, &dr, answers);
out:
	json_decref(o);
}

/* DELETE /api/v1/rides/{rideId} -> 200 {}; 400 no such ride */
static void
delete_ride(rs_http_req *req, void *arg)
{
	static const rs_gw_answer answers[] = {
		{ RIDESHARE__STATUS__OK, 200, NULL, false },
		{ RIDESHARE__STATUS__NOT_FOUND, 400, "no such ride", false },
		{ 0 },
	};
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DeleteRide op = RIDESHARE__DELETE_RIDE__INIT;

	if (ride_id_param(req, &op.ride_id) != RS_OK) {
		rs_http_reply_error(req, 400, "no such ride");
		return;
	}
	dr.op_case = RIDESHARE__DB_REQUEST__OP_DELETE_RIDE;
	dr.delete_ride = &op;
	rs_gw_call_answer(req, &dr, answers);
}

/* GET /api/v1/rides/count -> 200 [N], the rides that exist now */
static void
count_rides(rs_http_req *req, void *arg)
{
	Rideshare__DbRequest dr = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__CountRides op = RIDESHARE__COUNT_RIDES__INIT;
	Rideshare__DbResponse *resp;

	dr.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	dr.count_rides = &op;
	if (rs_gw_call_ok(req, &dr, &resp) != RS_OK)
		return;
	rs_gw_reply_count(req,
	    resp->result_case == RIDESHARE__DB_RESPONSE__RESULT_COUNT
	        ? (json_int_t) resp->count
	        : 0);
	rideshare__db_response__free_unpacked(resp, NULL);
}

/* "count" outranks "{rideId}" (more literal segments), so POST or DELETE
 * on /api/v1/rides/count is a 405, not an operation on ride "count". */
const rs_http_route rides_routes[] = {
	{ "POST", "/api/v1/rides", create_ride, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/rides", list_rides, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/rides/count", count_rides, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/rides/{rideId}", get_ride, NULL, RS_HTTP_COUNTED },
	{ "POST", "/api/v1/rides/{rideId}", join_ride, NULL, RS_HTTP_COUNTED },
	{ "DELETE", "/api/v1/rides/{rideId}", delete_ride, NULL,
	    RS_HTTP_COUNTED },
	{ "POST", "/api/v1/db/clear", rs_gw_db_clear, NULL, 0 },
	{ "GET", "/api/v1/_count", rs_gw_count_get, NULL, 0 },
	{ "DELETE", "/api/v1/_count", rs_gw_count_reset, NULL, 0 },
};
const size_t rides_nroutes = sizeof(rides_routes) / sizeof(rides_routes[0]);
