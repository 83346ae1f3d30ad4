#include "changes.h"

#include "rs_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rs_test_ops.h"

static void
test_since_accepts_decimal_seqs(void **state)
{
	uint64_t v = 99;

	(void) state;
	assert_int_equal(rs_orch_changes_parse_since("0", &v), RS_OK);
	assert_int_equal(v, 0);
	assert_int_equal(rs_orch_changes_parse_since("1234", &v), RS_OK);
	assert_int_equal(v, 1234);
	assert_int_equal(
	    rs_orch_changes_parse_since("9223372036854775807", &v), RS_OK);
	assert_int_equal(v, INT64_MAX);
}

static void
test_since_rejects_anything_else(void **state)
{
	const char *bad[] = { "", "-1", "+1", "1.5", "abc", "12a", " 1",
		"9223372036854775808", "99999999999999999999", "0x10" };
	uint64_t v = 7;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    rs_orch_changes_parse_since(bad[i], &v), RS_EINVAL);
	assert_int_equal(rs_orch_changes_parse_since(NULL, &v), RS_EINVAL);
	assert_int_equal(v, 7);
}

/* Packs a SyncEvent as the worker's change log stores it. */
static uint8_t *
pack(uint64_t seq, Rideshare__DbRequest *req, Rideshare__DbResponse *resp,
    size_t *len)
{
	Rideshare__SyncEvent ev = RIDESHARE__SYNC_EVENT__INIT;

	ev.epoch = 3;
	ev.seq = seq;
	ev.request = req;
	ev.result = resp;
	*len = rideshare__sync_event__get_packed_size(&ev);
	uint8_t *b = malloc(*len + 1);
	assert_non_null(b);
	rideshare__sync_event__pack(&ev, b);
	return b;
}

/* The feed line of the change (seq, epoch) that req answered by resp
 * stands for, parsed (the caller json_decref's it); the raw line stays in
 * out, which the caller finishes. */
static json_t *
line_of(uint64_t seq, uint64_t epoch, Rideshare__DbRequest *req,
    Rideshare__DbResponse *resp, rs_buf *out)
{
	size_t len;
	uint8_t *b = pack(seq, req, resp, &len);

	assert_int_equal(rs_orch_changes_line(seq, epoch, b, len, out), RS_OK);
	free(b);
	assert_non_null(out->data);
	assert_int_equal(out->data[out->len - 1], '\n');
	json_t *j = json_loadb(out->data, out->len, 0, NULL);
	assert_non_null(j);
	return j;
}

/* The string member key of j (NULL if it is not one). */
static const char *
str_of(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* What each feed-line test works on: a request with the sample ops, its
 * response, the line (out) and its parse (j), freed by feed_teardown. */
typedef struct feed {
	Rideshare__DbRequest req;
	Rideshare__DbResponse resp;
	rs_test_ops o;
	rs_buf out;
	json_t *j;
} feed;

static int
feed_setup(void **state)
{
	feed *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rideshare__db_request__init(&f->req);
	rideshare__db_response__init(&f->resp);
	rs_test_ops_init(&f->o);
	f->out = (rs_buf) RS_BUF_INIT;
	*state = f;
	return 0;
}

static int
feed_teardown(void **state)
{
	feed *f = *state;

	json_decref(f->j);
	rs_buf_fini(&f->out);
	free(f);
	return 0;
}

static void
test_line_of_a_create_ride(void **state)
{
	feed *f = *state;
	Rideshare__Ride ride = RIDESHARE__RIDE__INIT;

	f->req.request_id = "r1";
	f->req.reply_to = "amq.gen-x";
	rs_test_set_op(
	    &f->req, RIDESHARE__DB_REQUEST__OP_CREATE_RIDE, &f->o.cr.base);
	f->resp.request_id = "r1";
	f->resp.status = RIDESHARE__STATUS__OK;
	f->resp.seq = 42;
	f->resp.worker_id = "w1";
	f->resp.result_case = RIDESHARE__DB_RESPONSE__RESULT_RIDE;
	f->resp.ride = &ride;
	ride.ride_id = 5;
	json_t *j = f->j = line_of(42, 3, &f->req, &f->resp, &f->out);

	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 3);
	assert_string_equal(str_of(j, "op"), "create_ride");
	assert_string_equal(str_of(j, "request_id"), "r1");
	assert_string_equal(str_of(j, "status"), "OK");
	assert_string_equal(
	    str_of(json_object_get(j, "request"), "createdBy"), "alice");
	/* Internal routing fields never reach the feed. */
	assert_null(strstr(f->out.data, "amq.gen-x"));
	assert_null(strstr(f->out.data, "\"w1\""));
	assert_non_null(json_object_get(json_object_get(j, "result"), "ride"));
	assert_null(json_object_get(j, "error"));
}

static void
test_line_of_a_refused_write_has_its_error(void **state)
{
	feed *f = *state;

	f->req.request_id = "r2";
	rs_test_set_op(
	    &f->req, RIDESHARE__DB_REQUEST__OP_ADD_USER, &f->o.au.base);
	f->resp.status = RIDESHARE__STATUS__ALREADY_EXISTS;
	f->resp.error = "taken";
	json_t *j = f->j = line_of(7, 1, &f->req, &f->resp, &f->out);

	assert_string_equal(str_of(j, "status"), "ALREADY_EXISTS");
	assert_string_equal(str_of(j, "error"), "taken");
	assert_null(json_object_get(j, "result"));
}

static void
test_line_of_a_non_utf8_write_still_has_its_seq(void **state)
{
	feed *f = *state;

	f->o.ru.username = "bad\xff\xfe";
	f->req.request_id = "r4";
	rs_test_set_op(
	    &f->req, RIDESHARE__DB_REQUEST__OP_REMOVE_USER, &f->o.ru.base);
	f->resp.status = RIDESHARE__STATUS__NOT_FOUND;
	json_t *j = f->j = line_of(8, 2, &f->req, &f->resp, &f->out);

	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 8);
	assert_true(json_is_null(json_object_get(j, "request")));
	assert_non_null(json_object_get(j, "not_json"));
	assert_string_equal(str_of(j, "status"), "NOT_FOUND");
}

static void
test_line_refuses_garbage_and_a_wrong_seq(void **state)
{
	feed *f = *state;
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x01 };
	size_t len;

	f->req.request_id = "r3";
	rs_test_set_op(
	    &f->req, RIDESHARE__DB_REQUEST__OP_CLEAR, &f->o.cl.base);
	uint8_t *b = pack(9, &f->req, &f->resp, &len);
	assert_int_equal(
	    rs_orch_changes_line(10, 1, b, len, &f->out), RS_EPROTO);
	free(b);
	assert_int_equal(
	    rs_orch_changes_line(1, 1, junk, sizeof(junk), &f->out),
	    RS_EPROTO);
	assert_int_equal(f->out.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since_accepts_decimal_seqs),
		cmocka_unit_test(test_since_rejects_anything_else),
		cmocka_unit_test_setup_teardown(
		    test_line_of_a_create_ride, feed_setup, feed_teardown),
		cmocka_unit_test_setup_teardown(
		    test_line_of_a_refused_write_has_its_error, feed_setup,
		    feed_teardown),
		cmocka_unit_test_setup_teardown(
		    test_line_of_a_non_utf8_write_still_has_its_seq,
		    feed_setup, feed_teardown),
		cmocka_unit_test_setup_teardown(
		    test_line_refuses_garbage_and_a_wrong_seq, feed_setup,
		    feed_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
