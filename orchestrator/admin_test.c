#include "admin.h"
#include "orch_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void
assert_json(json_t *j, const char *want)
{
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
	json_decref(j);
}

static void
test_worker_list_is_ascending_json_integers(void **state)
{
	rs_orch_worker t[] = {
		orch_test_worker(4330, RS_ORCH_ROLE_SLAVE, RS_ORCH_RUNNING),
		orch_test_worker(1000, RS_ORCH_ROLE_MASTER, RS_ORCH_RUNNING),
		orch_test_worker(2112, RS_ORCH_ROLE_SLAVE, RS_ORCH_RUNNING),
		orch_test_worker(3000, RS_ORCH_ROLE_SLAVE, RS_ORCH_DEAD),
	};

	(void) state;
	assert_json(rs_orch_admin_list_json(t, 4), "[1000,2112,4330]");
	assert_json(rs_orch_admin_list_json(t, 0), "[]");
}

static void
test_crash_answer_is_pid_string_in_array(void **state)
{
	(void) state;
	assert_json(rs_orch_admin_crash_json(4242), "[\"4242\"]");
}

/* A JSON body that must decode: the request (free_unpacked). */
static Rideshare__DbRequest *
decode_json(const char *body)
{
	Rideshare__DbRequest *req = NULL;
	char err[256];

	assert_int_equal(rs_orch_admin_decode(body, strlen(body), false, &req,
	                     err, sizeof(err)),
	    0);
	assert_non_null(req);
	return req;
}

static void
test_decode_json_request(void **state)
{
	const char *body
	    = "{\"requestId\":\"r1\",\"addUser\":{\"username\":\"alice\","
	      "\"password\":\"3d725109c7e7c0bfb9d709836735b56d943d263f\"}}";
	Rideshare__DbRequest *req = decode_json(body);

	(void) state;
	assert_int_equal(req->op_case, RIDESHARE__DB_REQUEST__OP_ADD_USER);
	assert_string_equal(req->add_user->username, "alice");
	assert_string_equal(req->request_id, "r1");
	assert_null(rs_orch_admin_check_op(req, true));
	assert_non_null(rs_orch_admin_check_op(req, false));
	rideshare__db_request__free_unpacked(req, NULL);
}

static void
test_decode_snake_case_read(void **state)
{
	const char *body = "{\"list_rides\":{\"source\":3,\"destination\":7}}";
	Rideshare__DbRequest *req = decode_json(body);

	(void) state;
	assert_int_equal(req->op_case, RIDESHARE__DB_REQUEST__OP_LIST_RIDES);
	assert_int_equal(req->list_rides->destination, 7);
	assert_null(rs_orch_admin_check_op(req, false));
	assert_non_null(rs_orch_admin_check_op(req, true));
	rideshare__db_request__free_unpacked(req, NULL);
}

static void
test_decode_protobuf_request(void **state)
{
	Rideshare__DbRequest in = RIDESHARE__DB_REQUEST__INIT, *req = NULL;
	Rideshare__CountRides cr = RIDESHARE__COUNT_RIDES__INIT;
	uint8_t buf[64];
	size_t len;
	char err[256];

	(void) state;
	in.request_id = (char *) "abc";
	in.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	in.count_rides = &cr;
	len = rideshare__db_request__pack(&in, buf);
	assert_int_equal(rs_orch_admin_decode((const char *) buf, len, true,
	                     &req, err, sizeof(err)),
	    0);
	assert_int_equal(req->op_case, RIDESHARE__DB_REQUEST__OP_COUNT_RIDES);
	rideshare__db_request__free_unpacked(req, NULL);
}

static void
test_bad_bodies_are_rejected_with_reason(void **state)
{
	const char *bad[] = { "", "not json", "[1,2]", "{\"noSuchOp\":{}}",
		"{\"addUser\":{\"username\":5}}" };
	Rideshare__DbRequest *req = NULL;
	char err[256];

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(
		    rs_orch_admin_decode(
		        bad[i], strlen(bad[i]), false, &req, err, sizeof(err)),
		    0);
		assert_true(err[0] != '\0');
	}
	assert_int_not_equal(rs_orch_admin_decode("\xff\xff\xff", 3, true,
	                         &req, err, sizeof(err)),
	    0);
}

static void
test_empty_op_is_rejected(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;

	(void) state;
	assert_non_null(rs_orch_admin_check_op(&req, false));
	assert_non_null(rs_orch_admin_check_op(&req, true));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_list_is_ascending_json_integers),
		cmocka_unit_test(test_crash_answer_is_pid_string_in_array),
		cmocka_unit_test(test_decode_json_request),
		cmocka_unit_test(test_decode_snake_case_read),
		cmocka_unit_test(test_decode_protobuf_request),
		cmocka_unit_test(test_bad_bodies_are_rejected_with_reason),
		cmocka_unit_test(test_empty_op_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
