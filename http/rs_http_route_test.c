/* Unit tests of the routing table and percent-coding (no sockets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"

#include "rs_err.h"
#include "rs_http.h"

static void
h(rs_http_req *req, void *arg)
{
}

static const rs_http_route routes[] = {
	{ "PUT", "/api/v1/users", h, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/users", h, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/users/{username}", h, NULL, RS_HTTP_COUNTED },
	{ "DELETE", "/api/v1/users/{username}", h, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/rides/count", h, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/rides/{rideId}", h, NULL, RS_HTTP_COUNTED },
	{ "POST", "/api/v1/rides/{rideId}", h, NULL, RS_HTTP_COUNTED },
	{ "GET", "/api/v1/_count", h, NULL, 0 },
	{ "DELETE", "/api/v1/_count", h, NULL, 0 },
};
#define NR (sizeof(routes) / sizeof(routes[0]))

/* The Allow list of the last match() that found the path but not the
 * method. */
static char allow[64];

/* rs_http_match on routes: the route's index, -1 no path, -2 no method. */
static int
match(const char *method, const char *path)
{
	return rs_http_match(routes, NR, method, path, allow, sizeof(allow));
}

/* Exact literals, a {param} segment (one segment, escapes and all), and a
 * literal listed before a param that could also match it. */
static void
test_route_literals_params_and_literal_before_param(void **state)
{
	static const struct {
		const char *method, *path;
		int route;
	} c[] = {
		{ "PUT", "/api/v1/users", 0 },
		{ "GET", "/api/v1/users", 1 },
		{ "GET", "/api/v1/users/alice", 2 },
		{ "DELETE", "/api/v1/users/a%2Fb", 3 },
		/* "count" is listed before "{rideId}" and wins. */
		{ "GET", "/api/v1/rides/count", 4 },
		{ "GET", "/api/v1/rides/12", 5 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_int_equal(match(c[i].method, c[i].path), c[i].route);
}

static void
test_route_wrong_method_gives_allow(void **state)
{
	assert_int_equal(match("POST", "/api/v1/users"), -2);
	assert_string_equal(allow, "PUT, GET");
	assert_int_equal(match("PATCH", "/api/v1/_count"), -2);
	assert_string_equal(allow, "GET, DELETE");
	/* count matches both the literal and {rideId}: GET once. */
	assert_int_equal(match("DELETE", "/api/v1/rides/count"), -2);
	assert_string_equal(allow, "GET");
	/* ... and POST on it is not a join of ride "count". */
	assert_int_equal(match("POST", "/api/v1/rides/count"), -2);
	assert_string_equal(allow, "GET");
}

static void
test_route_unknown_paths_are_404(void **state)
{
	const char *bad[] = { "/", "/api", "/api/v1/usersX", "/api/v1/users/",
		"/api/v1//users", "/api/v1/users/a/b", "api/v1/users",
		"/api/v1/users/../users", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = match("GET", bad[i]);
		if (strcmp(bad[i], "/api/v1/users/../users") == 0) {
			/* ".." is just a segment: a username "..", then an
			 * extra segment -> no pattern. */
			assert_int_equal(rv, -1);
			continue;
		}
		assert_int_equal(rv, -1);
	}
}

static void
test_pct_decode_valid(void **state)
{
	char *out;
	size_t n;
	assert_int_equal(
	    rs_http_pct_decode("a%2Fb%20c+d", 11, 0, &out, &n), RS_OK);
	assert_string_equal(out, "a/b c+d");
	assert_int_equal(n, 7);
	free(out);
	assert_int_equal(rs_http_pct_decode("a+b%2b", 6, 1, &out, &n), RS_OK);
	assert_string_equal(out, "a b+");
	free(out);
	assert_int_equal(rs_http_pct_decode("x%00y", 5, 0, &out, &n), RS_OK);
	assert_int_equal(n, 3);
	assert_int_equal(out[1], 0);
	free(out);
	assert_int_equal(rs_http_pct_decode("%c3%A9", 6, 0, &out, &n), RS_OK);
	assert_string_equal(out, "\xc3\xa9");
	free(out);
}

static void
test_pct_decode_malformed(void **state)
{
	char *out = NULL;
	size_t n;
	const char *bad[] = { "%", "a%", "%4", "%zz", "%4g", "ab%G1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    rs_http_pct_decode(bad[i], strlen(bad[i]), 0, &out, &n),
		    RS_EINVAL);
	}
}

static void
test_pct_encode_round_trip(void **state)
{
	const char *in = "a/b c?d%e\xc3\xa9~._-";
	char *enc = rs_http_pct_encode(in, strlen(in));
	char *dec;
	size_t n;

	assert_non_null(enc);
	assert_null(strchr(enc, '/'));
	assert_null(strchr(enc, ' '));
	assert_int_equal(
	    rs_http_pct_decode(enc, strlen(enc), 0, &dec, &n), RS_OK);
	assert_string_equal(dec, in);
	free(enc);
	free(dec);
	enc = rs_http_pct_encode("..", 2);
	assert_string_equal(enc, "%2E%2E");
	free(enc);
}

static void
test_bearer_token_must_match_exactly(void **state)
{
	const char *tok = "s3cr3t-token-0123456789";

	assert_true(rs_http_bearer_ok("Bearer s3cr3t-token-0123456789", tok));
	assert_true(
	    rs_http_bearer_ok("bearer  s3cr3t-token-0123456789 ", tok));
	assert_false(rs_http_bearer_ok(NULL, tok));
	assert_false(rs_http_bearer_ok("", tok));
	assert_false(rs_http_bearer_ok("Bearer ", tok));
	assert_false(rs_http_bearer_ok("Basic s3cr3t-token-0123456789", tok));
	assert_false(rs_http_bearer_ok("s3cr3t-token-0123456789", tok));
	assert_false(rs_http_bearer_ok("Bearer s3cr3t-token-012345678", tok));
	assert_false(
	    rs_http_bearer_ok("Bearer s3cr3t-token-01234567890", tok));
	assert_false(rs_http_bearer_ok("Bearer S3cr3t-token-0123456789", tok));
	assert_false(rs_http_bearer_ok("Bearer x", ""));
}

RS_TEST_MAIN(
    cmocka_unit_test(test_route_literals_params_and_literal_before_param),
    cmocka_unit_test(test_route_wrong_method_gives_allow),
    cmocka_unit_test(test_route_unknown_paths_are_404),
    cmocka_unit_test(test_pct_decode_valid),
    cmocka_unit_test(test_pct_decode_malformed),
    cmocka_unit_test(test_pct_encode_round_trip),
    cmocka_unit_test(test_bearer_token_must_match_exactly))
