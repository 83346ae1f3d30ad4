/* rs_http against real sockets: a server on an ephemeral port, driven with
 * libcurl. Checks what the route table alone cannot: bodies and the limit,
 * JSON errors (ours and CivetWeb's), Allow, request ids, the counter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "rs_err.h"
#include "rs_http.h"
#include "rs_log.h"
#include "rs_test_http.h"

static rs_http *srv;
static char base[64];

static void
nothing(rs_http_req *req, void *arg)
{
	rs_http_reply(req, 204, "application/json", "ignored", 7);
}

static void
silent(rs_http_req *req, void *arg)
{
	/* forgets to answer: the server must answer 500 for it */
}

/* RS_HTTP_RAW_BODY: reads the body itself, answers its length and the
 * sum of its bytes (so a lost or repeated block shows). */
static void
upload(rs_http_req *req, void *arg)
{
	char buf[4096];
	long long n = 0, sum = 0;
	long got;

	(void) arg;
	while ((got = rs_http_body_read(req, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < got; i++)
			sum += (unsigned char) buf[i];
		n += got;
	}
	if (got < 0) {
		rs_http_reply_error(req, 400, "cut");
		return;
	}
	rs_http_reply_json(req, 200,
	    json_pack("{s:I, s:I, s:I}", "n", (json_int_t) n, "sum",
	        (json_int_t) sum, "announced",
	        (json_int_t) rs_http_body_length(req)));
}

static const rs_http_route routes[] = {
	{ "POST", "/upload", upload, NULL, RS_HTTP_RAW_BODY },
	{ "GET", "/things/{name}", rs_test_echo, NULL, RS_HTTP_COUNTED },
	{ "POST", "/things/{name}", rs_test_echo, NULL, RS_HTTP_COUNTED },
	{ "GET", "/empty", nothing, NULL, 0 },
	{ "GET", "/silent", silent, NULL, 0 },
};

struct resp {
	long status;
	char body[65536];
	size_t len;
	char allow[128];
	char rid[160];
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct resp *r = arg;
	size_t n = size * nmemb, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, p, n < room ? n : room);
	r->len += n < room ? n : room;
	r->body[r->len] = '\0';
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct resp *r = arg;
	size_t n = size * nmemb;

	if (n > 7 && strncasecmp(p, "Allow: ", 7) == 0)
		snprintf(
		    r->allow, sizeof(r->allow), "%.*s", (int) (n - 9), p + 7);
	if (n > 14 && strncasecmp(p, "X-Request-Id: ", 14) == 0)
		snprintf(
		    r->rid, sizeof(r->rid), "%.*s", (int) (n - 16), p + 14);
	return n;
}

static void
do_req(const char *method, const char *path, const char *body, long blen,
    const char *hdr, int chunked, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512];

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		if (!chunked)
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, blen);
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
assert_json_error(struct resp *r, long status)
{
	json_error_t e;
	json_t *j;

	assert_int_equal(r->status, status);
	j = json_loads(r->body, 0, &e);
	assert_non_null(j);
	assert_true(json_is_string(json_object_get(j, "error")));
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
}

/* method path (no body, no headers) answers a JSON error with status. */
static void
expect_error(const char *method, const char *path, long status)
{
	struct resp r;

	do_req(method, path, NULL, 0, NULL, 0, &r);
	assert_json_error(&r, status);
}

static int
setup(void **state)
{
	rs_http_cfg cfg = rs_test_http_cfg("test");

	rs_log_set_level(RS_LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	assert_int_equal(rs_http_start(&cfg, routes,
	                     sizeof(routes) / sizeof(routes[0]), &srv),
	    RS_OK);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", rs_http_port(srv));
	return 0;
}

static int
teardown(void **state)
{
	rs_http_stop(srv);
	curl_global_cleanup();
	return 0;
}

static void
test_param_is_percent_decoded_and_query_read(void **state)
{
	struct resp r;
	do_req("GET", "/things/a%2Fb%20%C3%A9?x=1&q=hello+w%21", NULL, 0, NULL,
	    0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body,
	    "{\"name\":\"a/b \xc3\xa9\",\"body_len\":0,\"q\":\"hello w!\"}");
}

static void
test_unknown_path_is_404_json(void **state)
{
	expect_error("GET", "/things", 404);
	expect_error("GET", "/things/a/b", 404);
	expect_error("GET", "/things/", 404);
}

static void
test_wrong_method_is_405_with_allow(void **state)
{
	struct resp r;
	do_req("DELETE", "/things/x", NULL, 0, NULL, 0, &r);
	assert_json_error(&r, 405);
	assert_string_equal(r.allow, "GET, POST");
	do_req("POST", "/metrics", "", 0, NULL, 0, &r);
	assert_json_error(&r, 405);
	assert_string_equal(r.allow, "GET");
}

static void
test_malformed_escape_is_400(void **state)
{
	expect_error("GET", "/things/%zz", 400);
}

static void
test_body_up_to_the_limit_is_read(void **state)
{
	struct resp r;
	char body[1001];
	memset(body, 'b', sizeof(body));
	body[1000] = '\0';
	do_req("POST", "/things/x", body, 1000, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"body_len\":1000"));
	do_req("POST", "/things/x", body, 1000, NULL, 1, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"body_len\":1000"));
}

static void
test_body_over_the_limit_is_413(void **state)
{
	struct resp r;
	static char body[100000];
	memset(body, 'b', sizeof(body));
	do_req("POST", "/things/x", body, 1001, NULL, 0, &r);
	assert_json_error(&r, 413);
	do_req("POST", "/things/x", body, sizeof(body), NULL, 0, &r);
	assert_json_error(&r, 413);
	body[sizeof(body) - 1] = '\0';
	do_req("POST", "/things/x", body, 0, NULL, 1, &r);
	assert_json_error(&r, 413);
	/* and the server goes on */
	do_req("GET", "/things/y", NULL, 0, NULL, 0, &r);
	assert_int_equal(r.status, 200);
}

static void
test_raw_body_route_reads_past_the_limit(void **state)
{
	struct resp r;
	static char body[100001];
	char want[128];
	long long sum = 0;

	for (size_t i = 0; i < sizeof(body) - 1; i++) {
		body[i] = (char) ('a' + i % 26);
		sum += (unsigned char) body[i];
	}
	body[sizeof(body) - 1] = '\0';
	do_req("POST", "/upload", body, 100000, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	snprintf(want, sizeof(want),
	    "{\"n\":100000,\"sum\":%lld,\"announced\":100000}", sum);
	assert_string_equal(r.body, want);
	do_req("POST", "/upload", body, 0, NULL, 1, &r);
	assert_int_equal(r.status, 200);
	snprintf(want, sizeof(want),
	    "{\"n\":100000,\"sum\":%lld,\"announced\":-1}", sum);
	assert_string_equal(r.body, want);
	/* The other routes still have the limit. */
	do_req("POST", "/things/x", body, 100000, NULL, 0, &r);
	assert_json_error(&r, 413);
}

static void
test_request_id_echoed_or_generated(void **state)
{
	struct resp r;
	do_req("GET", "/things/x", NULL, 0, "X-Request-Id: abc-123", 0, &r);
	assert_string_equal(r.rid, "abc-123");
	do_req("GET", "/things/x", NULL, 0, "X-Request-Id: bad id!", 0, &r);
	assert_int_equal(strlen(r.rid), 32);
	do_req("GET", "/things/x", NULL, 0, NULL, 0, &r);
	assert_int_equal(strlen(r.rid), 32);
}

static void
test_204_has_no_body(void **state)
{
	struct resp r;
	do_req("GET", "/empty", NULL, 0, NULL, 0, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
}

static void
test_handler_without_answer_gets_500(void **state)
{
	expect_error("GET", "/silent", 500);
}

static void
test_unknown_method_is_json_error(void **state)
{
	struct resp r;
	do_req("BREW", "/things/x", NULL, 0, NULL, 0, &r);
	assert_true(r.status >= 400 && r.status < 500);
	assert_json_error(&r, r.status);
}

static void
test_counter_counts_counted_routes_and_their_405s(void **state)
{
	struct resp r;
	rs_http_count_reset(srv);
	do_req("GET", "/things/x", NULL, 0, NULL, 0, &r); /* counted */
	do_req("PUT", "/things/x", NULL, 0, NULL, 0, &r); /* 405, counted */
	do_req("GET", "/things/%zz", NULL, 0, NULL, 0, &r); /* 400, counted */
	do_req("GET", "/empty", NULL, 0, NULL, 0, &r); /* not counted */
	do_req("GET", "/healthz", NULL, 0, NULL, 0, &r); /* not counted */
	do_req("GET", "/nowhere", NULL, 0, NULL, 0, &r); /* not counted */
	do_req("POST", "/empty", "", 0, NULL, 0, &r); /* 405, not */
	assert_int_equal(rs_http_count_get(srv), 3);
	rs_http_count_reset(srv);
	assert_int_equal(rs_http_count_get(srv), 0);
}

static void
test_metrics_page(void **state)
{
	struct resp r;
	do_req("GET", "/metrics", NULL, 0, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(
	    strstr(r.body, "rideshare_http_requests_total{service=\"test\""));
	do_req("GET", "/healthz", NULL, 0, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	/* The histogram by route and status code counts that 200. */
	do_req("GET", "/metrics", NULL, 0, NULL, 0, &r);
	assert_non_null(
	    strstr(r.body, "# TYPE http_request_duration_seconds histogram"));
	assert_non_null(strstr(r.body,
	    "route=\"/healthz\",code=\"200\","
	    "le=\"+Inf\"} "));
}

/* A second server (name, routes r2) whose non-GET and private routes need the
 * bearer token "0123456789abcdef-token"; do_req goes to it (the first server's
 * base is kept in saved, sizeof(base) bytes) until token_server_stop. */
static rs_http *
token_server_start(
    const char *name, const rs_http_route *r2, size_t n, char *saved)
{
	rs_http_cfg cfg = rs_test_http_cfg(name);
	rs_http *s2;

	cfg.auth_token = "0123456789abcdef-token";
	assert_int_equal(rs_http_start(&cfg, r2, n, &s2), RS_OK);
	snprintf(saved, sizeof(base), "%s", base);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", rs_http_port(s2));
	return s2;
}

static void
token_server_stop(rs_http *s2, const char *saved)
{
	snprintf(base, sizeof(base), "%s", saved);
	rs_http_stop(s2);
}

static void
test_token_guards_every_method_but_get_and_private_gets(void **state)
{
	static const rs_http_route r2[] = {
		{ "GET", "/things/{name}", rs_test_echo, NULL, 0 },
		{ "POST", "/things/{name}", rs_test_echo, NULL, 0 },
		{ "DELETE", "/things/{name}", rs_test_echo, NULL, 0 },
		{ "GET", "/secret", nothing, NULL, RS_HTTP_PRIVATE },
	};
	char saved[64];
	rs_http *s2 = token_server_start("auth", r2, 4, saved);
	struct resp r;

	do_req("POST", "/things/x", "{}", 2, NULL, 0, &r);
	assert_json_error(&r, 401);
	expect_error("DELETE", "/things/x", 401);
	do_req("POST", "/things/x", "{}", 2,
	    "Authorization: Bearer 0123456789abcdef-toke", 0, &r);
	assert_json_error(&r, 401);
	do_req("POST", "/things/x", "{}", 2,
	    "Authorization: Bearer 0123456789abcdef-token", 0, &r);
	assert_int_equal(r.status, 200);
	do_req("GET", "/things/x", NULL, 0, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	/* A GET route marked private needs it too (a backup). */
	expect_error("GET", "/secret", 401);
	do_req("GET", "/secret", NULL, 0,
	    "Authorization: Bearer 0123456789abcdef-token", 0, &r);
	assert_int_not_equal(r.status, 401);
	do_req("GET", "/metrics", NULL, 0, NULL, 0, &r);
	assert_non_null(strstr(
	    r.body, "rideshare_http_unauthorized_total{service=\"auth\"} 4"));
	assert_non_null(
	    strstr(r.body, "rideshare_http_auth_enabled{service=\"auth\"} 1"));
	token_server_stop(s2, saved);
}

/* Streams three lines, then ends (the connection closes). */
static void
streamer(rs_http_req *req, void *arg)
{
	(void) arg;
	assert_int_equal(
	    rs_http_stream_start(req, 200, "application/x-ndjson"), RS_OK);
	for (int i = 1; i <= 3; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
		assert_int_equal(
		    rs_http_stream_write(req, line, (size_t) n), RS_OK);
	}
	/* Answered: a second reply is refused, not sent. */
	assert_int_equal(
	    rs_http_stream_start(req, 200, "text/plain"), RS_ESTATE);
}

static void
test_auth_get_route_and_stream(void **state)
{
	static const rs_http_route r2[] = {
		{ "GET", "/feed", streamer, NULL, RS_HTTP_PRIVATE },
		{ "GET", "/open", rs_test_echo, NULL, 0 },
	};
	char saved[64];
	rs_http *s2 = token_server_start("feed", r2, 2, saved);
	struct resp r;

	(void) state;
	expect_error("GET", "/feed", 401);
	do_req("GET", "/feed", NULL, 0, "Authorization: Bearer wrong-token-x",
	    0, &r);
	assert_json_error(&r, 401);
	do_req("GET", "/open", NULL, 0, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	do_req("GET", "/feed", NULL, 0,
	    "Authorization: Bearer 0123456789abcdef-token", 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
	assert_true(r.rid[0] != '\0');
	token_server_stop(s2, saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_param_is_percent_decoded_and_query_read),
		cmocka_unit_test(test_unknown_path_is_404_json),
		cmocka_unit_test(test_wrong_method_is_405_with_allow),
		cmocka_unit_test(test_malformed_escape_is_400),
		cmocka_unit_test(test_body_up_to_the_limit_is_read),
		cmocka_unit_test(test_body_over_the_limit_is_413),
		cmocka_unit_test(test_raw_body_route_reads_past_the_limit),
		cmocka_unit_test(test_request_id_echoed_or_generated),
		cmocka_unit_test(test_204_has_no_body),
		cmocka_unit_test(test_handler_without_answer_gets_500),
		cmocka_unit_test(test_unknown_method_is_json_error),
		cmocka_unit_test(
		    test_counter_counts_counted_routes_and_their_405s),
		cmocka_unit_test(test_metrics_page),
		cmocka_unit_test(
		    test_token_guards_every_method_but_get_and_private_gets),
		cmocka_unit_test(test_auth_get_route_and_stream),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
