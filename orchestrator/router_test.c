/* router.c's pure decisions: which write replies may move commit_seq, and
 * how a ResponseBatch's replies are grouped per caller address. */
#include "router.h"
#include "rs_contract.h"

#include <stdint.h>
#include "rs_test.h"

static void
test_reply_from_older_epoch_is_dropped(void **state)
{
	uint64_t epoch = 3, commit = 10;

	(void) state;
	assert_false(rs_orch_accept_reply(2, 50, &epoch, &commit));
	assert_int_equal(commit, 10);
	assert_true(rs_orch_accept_reply(3, 11, &epoch, &commit));
	assert_int_equal(commit, 11);
	/* Out-of-order replies never move commit_seq back. */
	assert_true(rs_orch_accept_reply(3, 9, &epoch, &commit));
	assert_int_equal(commit, 11);
	/* A newer epoch is learnt from the reply itself. */
	assert_true(rs_orch_accept_reply(4, 12, &epoch, &commit));
	assert_int_equal(epoch, 4);
	assert_false(rs_orch_accept_reply(3, 13, &epoch, &commit));
}

static void
test_batch_replies_are_grouped_by_destination_in_first_seen_order(void **state)
{
	const char *dest[]
	    = { "gw-a", "gw-b", "gw-a", "", "gw-c", NULL, "gw-b", "gw-a" };
	size_t order[8], glen[8];

	(void) state;
	assert_int_equal(rs_orch_reply_groups(dest, 8, order, glen), 3);
	/* gw-a: entries 0, 2, 7; gw-b: 1, 6; gw-c: 4. No address: left out. */
	assert_int_equal(glen[0], 3);
	assert_int_equal(glen[1], 2);
	assert_int_equal(glen[2], 1);
	const size_t want[] = { 0, 2, 7, 1, 6, 4 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(order[i], want[i]);
}

static void
test_batch_replies_to_one_caller_make_one_group(void **state)
{
	const char *dest[] = { "gw", "gw", "gw" };
	size_t order[3], glen[3];

	(void) state;
	assert_int_equal(rs_orch_reply_groups(dest, 3, order, glen), 1);
	assert_int_equal(glen[0], 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[2], 2);
}

static void
test_batch_replies_to_distinct_callers_go_alone(void **state)
{
	const char *dest[] = { "a", "b", "c", "d" };
	size_t order[4], glen[4];

	(void) state;
	assert_int_equal(rs_orch_reply_groups(dest, 4, order, glen), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(glen[i], 1);
		assert_int_equal(order[i], i);
	}
}

static void
test_batch_without_addresses_or_too_large_has_no_group(void **state)
{
	const char *dest[RS_RESPONSE_BATCH_MAX + 1] = { NULL };
	size_t order[RS_RESPONSE_BATCH_MAX + 1],
	    glen[RS_RESPONSE_BATCH_MAX + 1];

	(void) state;
	assert_int_equal(rs_orch_reply_groups(dest, 2, order, glen), 0);
	for (size_t i = 0; i < RS_RESPONSE_BATCH_MAX + 1; i++)
		dest[i] = "gw";
	assert_int_equal(
	    rs_orch_reply_groups(dest, RS_RESPONSE_BATCH_MAX, order, glen), 1);
	assert_int_equal(glen[0], RS_RESPONSE_BATCH_MAX);
	assert_int_equal(
	    rs_orch_reply_groups(dest, RS_RESPONSE_BATCH_MAX + 1, order, glen),
	    0);
}

RS_TEST_MAIN(cmocka_unit_test(test_reply_from_older_epoch_is_dropped),
    cmocka_unit_test(
        test_batch_replies_are_grouped_by_destination_in_first_seen_order),
    cmocka_unit_test(test_batch_replies_to_one_caller_make_one_group),
    cmocka_unit_test(test_batch_replies_to_distinct_callers_go_alone),
    cmocka_unit_test(test_batch_without_addresses_or_too_large_has_no_group))
