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

static void
test_line_of_a_create_ride(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	Rideshare__Ride ride = RIDESHARE__RIDE__INIT;
	rs_buf out = RS_BUF_INIT;
	rs_test_ops o;

	(void) state;
	rs_test_ops_init(&o);
	req.request_id = "r1";
	req.reply_to = "amq.gen-x";
	rs_test_set_op(
	    &req, RIDESHARE__DB_REQUEST__OP_CREATE_RIDE, &o.cr.base);
	resp.request_id = "r1";
	resp.status = RIDESHARE__STATUS__OK;
	resp.seq = 42;
	resp.worker_id = "w1";
	resp.result_case = RIDESHARE__DB_RESPONSE__RESULT_RIDE;
	resp.ride = &ride;
	ride.ride_id = 5;
	json_t *j = line_of(42, 3, &req, &resp, &out);

	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 3);
	assert_string_equal(str_of(j, "op"), "create_ride");
	assert_string_equal(str_of(j, "request_id"), "r1");
	assert_string_equal(str_of(j, "status"), "OK");
	assert_string_equal(
	    str_of(json_object_get(j, "request"), "createdBy"), "alice");
	/* Internal routing fields never reach the feed. */
	assert_null(strstr(out.data, "amq.gen-x"));
	assert_null(strstr(out.data, "\"w1\""));
	assert_non_null(json_object_get(json_object_get(j, "result"), "ride"));
	assert_null(json_object_get(j, "error"));
	json_decref(j);
	rs_buf_fini(&out);
}

static void
test_line_of_a_refused_write_has_its_error(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	rs_buf out = RS_BUF_INIT;
	rs_test_ops o;

	(void) state;
	rs_test_ops_init(&o);
	req.request_id = "r2";
	rs_test_set_op(&req, RIDESHARE__DB_REQUEST__OP_ADD_USER, &o.au.base);
	resp.status = RIDESHARE__STATUS__ALREADY_EXISTS;
	resp.error = "taken";
	json_t *j = line_of(7, 1, &req, &resp, &out);

	assert_string_equal(str_of(j, "status"), "ALREADY_EXISTS");
	assert_string_equal(str_of(j, "error"), "taken");
	assert_null(json_object_get(j, "result"));
	json_decref(j);
	rs_buf_fini(&out);
}

static void
test_line_of_a_non_utf8_write_still_has_its_seq(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	rs_buf out = RS_BUF_INIT;
	rs_test_ops o;

	(void) state;
	rs_test_ops_init(&o);
	o.ru.username = "bad\xff\xfe";
	req.request_id = "r4";
	rs_test_set_op(
	    &req, RIDESHARE__DB_REQUEST__OP_REMOVE_USER, &o.ru.base);
	resp.status = RIDESHARE__STATUS__NOT_FOUND;
	json_t *j = line_of(8, 2, &req, &resp, &out);

	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 8);
	assert_true(json_is_null(json_object_get(j, "request")));
	assert_non_null(json_object_get(j, "not_json"));
	assert_string_equal(str_of(j, "status"), "NOT_FOUND");
	json_decref(j);
	rs_buf_fini(&out);
}

static void
test_line_refuses_garbage_and_a_wrong_seq(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	rs_buf out = RS_BUF_INIT;
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x01 };
	rs_test_ops o;
	size_t len;

	(void) state;
	rs_test_ops_init(&o);
	req.request_id = "r3";
	rs_test_set_op(&req, RIDESHARE__DB_REQUEST__OP_CLEAR, &o.cl.base);
	uint8_t *b = pack(9, &req, &resp, &len);
	assert_int_equal(rs_orch_changes_line(10, 1, b, len, &out), RS_EPROTO);
	assert_int_equal(
	    rs_orch_changes_line(1, 1, junk, sizeof(junk), &out), RS_EPROTO);
	assert_int_equal(out.len, 0);
	rs_buf_fini(&out);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since_accepts_decimal_seqs),
		cmocka_unit_test(test_since_rejects_anything_else),
		cmocka_unit_test(test_line_of_a_create_ride),
		cmocka_unit_test(test_line_of_a_refused_write_has_its_error),
		cmocka_unit_test(
		    test_line_of_a_non_utf8_write_still_has_its_seq),
		cmocka_unit_test(test_line_refuses_garbage_and_a_wrong_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
