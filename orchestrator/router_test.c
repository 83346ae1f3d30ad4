/* router.c's pure decisions: which write replies may move commit_seq. */
#include "router.h"

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

RS_TEST_MAIN(cmocka_unit_test(test_reply_from_older_epoch_is_dropped))
