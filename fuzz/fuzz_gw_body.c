/* libFuzzer harness: request bodies of the public API through the same
 * validation steps as the users and rides handlers (users/users.c,
 * rides/rides.c, gateway/rs_gw.c), up to the point where a handler would
 * build its DbRequest (the RPC itself is not fuzzed here). Input: one
 * selector byte (which endpoint), then the body. Checked properties: no
 * crash, leak or undefined behaviour; every refusal has a reason that
 * rs_http_reply_error can turn into a JSON string; accepted values satisfy
 * what the DbRequest relies on (NUL-free UTF-8 usernames, 40 hex digits,
 * areas 1..198, a timestamp that formats back to the same text). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_gw_json.h"
#include "rs_gw_val.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	rs_gw_time_init(); /* TZ=UTC unless set, as the services do */
	return 0;
}

static void
check_reason(const char *why)
{
	/* rs_http_reply_error: the reason (possibly quoting input) must be
	 * a non-empty NUL-terminated string of bounded length. */
	size_t n = strnlen(why, RS_GW_WHY_LEN);

	if (n == 0 || n >= RS_GW_WHY_LEN)
		abort();
}

static void
username_ok(const char *s, size_t len)
{
	if (!rs_gw_username_valid(s, len))
		return;
	if (len == 0 || memchr(s, '\0', len) != NULL)
		abort();
}

/* PUT /api/v1/users */
static void
add_user(json_t *o)
{
	static const char *const fields[] = { "username", "password", NULL };
	char why[RS_GW_WHY_LEN];
	const char *name, *pw;
	size_t nlen, plen;

	if (rs_gw_json_only(o, fields, why) != RS_OK) {
		check_reason(why);
		return;
	}
	if (rs_gw_json_string(o, "username", &name, &nlen, why) != RS_OK
	    || rs_gw_json_string(o, "password", &pw, &plen, why) != RS_OK) {
		check_reason(why);
		return;
	}
	username_ok(name, nlen);
	if (rs_gw_password_valid(pw, plen) && plen != 40)
		abort();
}

static void
area(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	int32_t a = 0;

	if (v != NULL && rs_gw_area_from_json(v, &a) == RS_OK
	    && (a < 1 || a > 198))
		abort();
}

/* POST /api/v1/rides */
static void
create_ride(json_t *o)
{
	static const char *const fields[]
	    = { "created_by", "timestamp", "source", "destination", NULL };
	char why[RS_GW_WHY_LEN], back[RS_GW_TIME_LEN + 1];
	const char *by, *ts;
	size_t blen, tlen;
	int64_t t;

	if (rs_gw_json_only(o, fields, why) != RS_OK) {
		check_reason(why);
		return;
	}
	if (rs_gw_json_string(o, "created_by", &by, &blen, why) != RS_OK
	    || rs_gw_json_string(o, "timestamp", &ts, &tlen, why) != RS_OK) {
		check_reason(why);
		return;
	}
	username_ok(by, blen);
	if (rs_gw_time_parse(ts, tlen, &t) == RS_OK) {
		/* What is accepted is exactly what the listing prints. */
		if (rs_gw_time_format(t, back) != RS_OK
		    || tlen != RS_GW_TIME_LEN || memcmp(back, ts, tlen) != 0)
			abort();
	}
	area(o, "source");
	area(o, "destination");
}

/* POST /api/v1/rides/{rideId} */
static void
join_ride(json_t *o)
{
	static const char *const fields[] = { "username", NULL };
	char why[RS_GW_WHY_LEN];
	const char *name;
	size_t nlen;

	if (rs_gw_json_only(o, fields, why) != RS_OK
	    || rs_gw_json_string(o, "username", &name, &nlen, why) != RS_OK) {
		check_reason(why);
		return;
	}
	username_ok(name, nlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[RS_GW_WHY_LEN];
	const char *body;
	json_t *o;
	int64_t id;

	if (size < 1)
		return 0;
	body = (const char *) data + 1;
	switch (data[0] % 5) {
	case 0:
		/* POST /api/v1/db/clear: no body or {} */
		if (rs_gw_json_empty(body, size - 1, why) != RS_OK)
			check_reason(why);
		return 0;
	case 1:
		/* path pieces: ride ids and areas in query strings */
		if (rs_gw_ride_id_parse(body, size - 1, &id) == RS_OK
		    && id <= 0)
			abort();
		{
			int32_t a;
			if (rs_gw_area_from_text(body, size - 1, &a) == RS_OK
			    && (a < 1 || a > 198))
				abort();
		}
		return 0;
	default: break;
	}
	if (rs_gw_json_object(body, size - 1, &o, why) != RS_OK) {
		check_reason(why);
		return 0;
	}
	if (!json_is_object(o))
		abort();
	switch (data[0] % 5) {
	case 2: add_user(o); break;
	case 3: create_ride(o); break;
	default: join_ride(o); break;
	}
	json_decref(o);
	return 0;
}
