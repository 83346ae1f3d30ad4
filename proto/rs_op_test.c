/* rs_op: what is a write, and which requests are dead-lettered. */
#include "rs_op.h"

#include <stdint.h>

#include "rs_test.h"

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

static void
test_sync_event_problems_are_named(void **state)
{
	Rideshare__SyncEvent ev = RIDESHARE__SYNC_EVENT__INIT;
	Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse ok = RIDESHARE__DB_RESPONSE__INIT;
	Rideshare__AddUser au = RIDESHARE__ADD_USER__INIT;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;

	(void) state;
	assert_string_equal(rs_op_sync_event_problem(NULL), "undecodable");
	assert_string_equal(rs_op_sync_event_problem(&ev), "incomplete");
	ev.request = &r;
	ev.result = &ok;
	assert_string_equal(rs_op_sync_event_problem(&ev), "no_seq");
	ev.seq = 7;
	assert_string_equal(rs_op_sync_event_problem(&ev), "no_request_id");
	r.request_id = "rid-7";
	r.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	r.count_rides = &c;
	assert_string_equal(rs_op_sync_event_problem(&ev), "not_a_write");
	r.op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
	r.add_user = &au;
	assert_null(rs_op_sync_event_problem(&ev));
}

static void
test_decode_gives_the_message_or_the_problem(void **state)
{
	Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT, *back = NULL;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	uint8_t buf[128];
	size_t n;

	(void) state;
	assert_string_equal(
	    rs_op_request_decode(junk, sizeof(junk), &back), "undecodable");
	r.request_id = "rid-9";
	n = rideshare__db_request__pack(&r, buf);
	assert_string_equal(rs_op_request_decode(buf, n, &back), "no_op");
	assert_null(back);
	r.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	r.count_rides = &c;
	n = rideshare__db_request__pack(&r, buf);
	assert_null(rs_op_request_decode(buf, n, &back));
	assert_non_null(back);
	assert_string_equal(back->request_id, "rid-9");
	rideshare__db_request__free_unpacked(back, NULL);
}

RS_TEST_MAIN(cmocka_unit_test(test_decode_gives_the_message_or_the_problem),
    cmocka_unit_test(test_request_problems_are_named),
    cmocka_unit_test(test_sync_event_problems_are_named))
