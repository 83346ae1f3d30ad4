/* rs_op: what is a write, and which requests are dead-lettered. */
#include "rs_op.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void
test_request_problems_are_named(void **state)
{
	Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;

	(void) state;
	assert_string_equal(rs_op_request_problem(NULL), "undecodable");
	assert_string_equal(rs_op_request_problem(&r), "no_request_id");
	r.request_id = "has space";
	assert_string_equal(rs_op_request_problem(&r), "bad_request_id");
	r.request_id = "rid-1";
	assert_string_equal(rs_op_request_problem(&r), "no_op");
	r.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	r.count_rides = &c;
	assert_null(rs_op_request_problem(&r));
	assert_false(rs_op_is_write(r.op_case));
	assert_true(rs_op_is_write(RIDESHARE__DB_REQUEST__OP_ADD_USER));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_problems_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
