#include "ops.h"
#include "rs_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static Rideshare__DbRequest *
build_ok(const char *cmd, int n, char **args)
{
	Rideshare__DbRequest *req = NULL;
	char err[256] = "";
	int rv = rsctl_build(cmd, n, args, &req, err, sizeof(err));

	if (rv != RS_OK)
		fail_msg("%s: %s", cmd, err);
	return req;
}

/* rsctl_build(cmd, n args) makes a request of that op. */
static void
expect_op(const char *cmd, int n, char **args, Rideshare__DbRequest__OpCase op)
{
	Rideshare__DbRequest *r = build_ok(cmd, n, args);

	assert_int_equal(r->op_case, op);
	rideshare__db_request__free_unpacked(r, NULL);
}

static void
test_add_user_builds_add_user(void **state)
{
	char *a[] = { "alice", "3d725109c7e7c0bfb9d709836735b56d943d263f" };
	Rideshare__DbRequest *r = build_ok("add-user", 2, a);

	(void) state;
	assert_int_equal(r->op_case, RIDESHARE__DB_REQUEST__OP_ADD_USER);
	assert_string_equal(r->add_user->username, "alice");
	assert_string_equal(r->add_user->password, a[1]);
	rideshare__db_request__free_unpacked(r, NULL);
}

static void
test_every_command_maps_to_its_op(void **state)
{
	char *u[] = { "bob" }, *id[] = { "7" }, *join[] = { "7", "bob" };
	char *cr[] = { "alice", "1800000000", "3", "7" };
	char *lr[] = { "3", "7" }, *lr3[] = { "3", "7", "1700000000" };
	Rideshare__DbRequest *r;

	(void) state;
	expect_op("remove-user", 1, u, RIDESHARE__DB_REQUEST__OP_REMOVE_USER);
	expect_op("get-user", 1, u, RIDESHARE__DB_REQUEST__OP_GET_USER);
	expect_op("list-users", 0, NULL, RIDESHARE__DB_REQUEST__OP_LIST_USERS);
	r = build_ok("create-ride", 4, cr);
	assert_int_equal(r->op_case, RIDESHARE__DB_REQUEST__OP_CREATE_RIDE);
	assert_int_equal(r->create_ride->timestamp, 1800000000);
	assert_int_equal(r->create_ride->source, 3);
	assert_int_equal(r->create_ride->destination, 7);
	rideshare__db_request__free_unpacked(r, NULL);
	/* "after" is optional: 0 unless given */
	const struct {
		int n;
		char **args;
		int64_t after;
	} lists[] = { { 2, lr, 0 }, { 3, lr3, 1700000000 } };
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		r = build_ok("list-rides", lists[i].n, lists[i].args);
		assert_int_equal(r->list_rides->source, 3);
		assert_int_equal(r->list_rides->destination, 7);
		assert_int_equal(r->list_rides->after, lists[i].after);
		rideshare__db_request__free_unpacked(r, NULL);
	}
	r = build_ok("get-ride", 1, id);
	assert_int_equal(r->get_ride->ride_id, 7);
	rideshare__db_request__free_unpacked(r, NULL);
	r = build_ok("join-ride", 2, join);
	assert_int_equal(r->join_ride->ride_id, 7);
	assert_string_equal(r->join_ride->username, "bob");
	rideshare__db_request__free_unpacked(r, NULL);
	expect_op("delete-ride", 1, id, RIDESHARE__DB_REQUEST__OP_DELETE_RIDE);
	expect_op(
	    "count-rides", 0, NULL, RIDESHARE__DB_REQUEST__OP_COUNT_RIDES);
	expect_op("clear", 0, NULL, RIDESHARE__DB_REQUEST__OP_CLEAR);
}

static void
test_raw_takes_any_json_request(void **state)
{
	char *a[]
	    = { "{\"requestId\":\"x1\",\"getRide\":{\"rideId\":\"3\"}}" };
	Rideshare__DbRequest *r = build_ok("raw", 1, a);

	(void) state;
	assert_string_equal(r->request_id, "x1");
	assert_int_equal(r->get_ride->ride_id, 3);
	rideshare__db_request__free_unpacked(r, NULL);
}

static void
test_bad_arguments_are_usage_errors(void **state)
{
	Rideshare__DbRequest *r = NULL;
	char err[256];
	char *one[] = { "x" }, *cr[] = { "alice", "soon", "3", "7" };
	char *raw[] = { "[1]" }, *id[] = { "12abc" };

	(void) state;
	assert_int_equal(
	    rsctl_build("frobnicate", 0, NULL, &r, err, sizeof(err)),
	    RS_ENOTFOUND);
	assert_int_equal(
	    rsctl_build("add-user", 1, one, &r, err, sizeof(err)), RS_EINVAL);
	assert_non_null(strstr(err, "2 arguments"));
	assert_int_equal(
	    rsctl_build("create-ride", 4, cr, &r, err, sizeof(err)),
	    RS_EINVAL);
	assert_non_null(strstr(err, "timestamp"));
	assert_int_equal(
	    rsctl_build("raw", 1, raw, &r, err, sizeof(err)), RS_EINVAL);
	assert_int_equal(
	    rsctl_build("get-ride", 1, id, &r, err, sizeof(err)), RS_EINVAL);
	assert_int_equal(
	    rsctl_build("count-rides", 1, one, &r, err, sizeof(err)),
	    RS_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_user_builds_add_user),
		cmocka_unit_test(test_every_command_maps_to_its_op),
		cmocka_unit_test(test_raw_takes_any_json_request),
		cmocka_unit_test(test_bad_arguments_are_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
