/* libFuzzer harness: request bodies of the public API through the same
 * validation steps as the users and rides handlers (users/users.c,
 * rides/rides.c, gateway/rs_gw.c), up to the point where a handler would
 * build its DbRequest (the RPC itself is not fuzzed here). Input: one
 * selector byte (which endpoint), then the body. Checked properties: no
 * crash, leak or undefined behaviour; every refusal has a reason that
 * rs_http_reply_error can turn into a JSON string; accepted values satisfy
 * what the DbRequest relies on (NUL-free UTF-8 usernames, 40 hex digits,
 * areas 1..198, a timestamp that formats back to the same text). */
#include <stdbool.h>
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

/* What each handler does first: the body has no fields but `fields`
 * (NULL-terminated) and the first n of them are strings, which go to
 * s[] / len[]: true. Otherwise the refusal's reason is checked: false. */
static bool
strings_of(json_t *o, const char *const *fields, size_t n, const char **s,
    size_t *len)
{
	char why[RS_GW_WHY_LEN];

	if (rs_gw_json_only(o, fields, why) != RS_OK) {
		check_reason(why);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (rs_gw_json_string(o, fields[i], &s[i], &len[i], why)
		    != RS_OK) {
			check_reason(why);
			return false;
		}
	}
	return true;
}

/* PUT /api/v1/users */
static void
add_user(json_t *o)
{
	static const char *const fields[] = { "username", "password", NULL };
	const char *s[2];
	size_t len[2];

	if (!strings_of(o, fields, 2, s, len))
		return;
	username_ok(s[0], len[0]);
	if (rs_gw_password_valid(s[1], len[1]) && len[1] != 40)
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
	char back[RS_GW_TIME_LEN + 1];
	const char *s[2];
	size_t len[2];
	int64_t t;

	/* created_by, timestamp */
	if (!strings_of(o, fields, 2, s, len))
		return;
	username_ok(s[0], len[0]);
	if (rs_gw_time_parse(s[1], len[1], &t) == RS_OK) {
		/* What is accepted is exactly what the listing prints. */
		if (rs_gw_time_format(t, back) != RS_OK
		    || len[1] != RS_GW_TIME_LEN
		    || memcmp(back, s[1], len[1]) != 0)
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
	const char *name;
	size_t nlen;

	if (strings_of(o, fields, 1, &name, &nlen))
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
