/* rs_orch_retire_plan: which orphan copies may be dropped. */
#include "retire.h"

#include <stdint.h>
#include <string.h>

#include "rs_test.h"

#define NOW  1000000
#define LONG (NOW - RS_ORCH_RETIRE_AFTER_MS)

static rs_orch_copy
copy(uint64_t epoch, uint64_t seq, bool live, bool serving, int64_t orphan)
{
	rs_orch_copy c;

	memset(&c, 0, sizeof(c));
	c.epoch = epoch;
	c.seq = seq;
	c.live = live;
	c.serving = serving;
	c.orphan_ms = orphan;
	return c;
}

static void
test_orphan_behind_a_serving_copy_is_dropped(void **state)
{
	rs_orch_copy c[]
	    = { copy(2, 100, true, true, 0), copy(2, 90, false, false, LONG),
		      copy(2, 100, false, false, LONG) };
	bool drop[3];

	(void) state;
	assert_int_equal(rs_orch_retire_plan(c, 3, NOW, drop), 2);
	assert_false(drop[0]);
	assert_true(drop[1]);
	assert_true(drop[2]); /* a tie: the serving copy holds as much */
}

static void
test_most_advanced_orphan_is_kept(void **state)
{
	rs_orch_copy c[] = { copy(2, 100, true, true, 0),
		copy(2, 101, false, false, LONG) };
	bool drop[2];

	(void) state;
	assert_int_equal(rs_orch_retire_plan(c, 2, NOW, drop), 0);
	assert_false(drop[1]);
}

static void
test_later_term_beats_longer_history(void **state)
{
	/* A fenced master's copy (term 2, seq 105, never acknowledged
	 * beyond 100) loses to the new term's copy at seq 101. */
	rs_orch_copy c[]
	    = { copy(3, 101, true, true, 0), copy(2, 105, false, false, LONG),
		      copy(4, 1, false, false, LONG) };
	bool drop[3];

	(void) state;
	assert_int_equal(rs_orch_retire_plan(c, 3, NOW, drop), 1);
	assert_true(drop[1]);
	assert_false(drop[2]); /* a later term than anything serving */
}

static void
test_nothing_dropped_without_a_serving_copy(void **state)
{
	rs_orch_copy c[]
	    = { copy(2, 100, true, false, 0), copy(1, 1, false, false, LONG) };
	bool drop[2];

	(void) state;
	assert_int_equal(rs_orch_retire_plan(c, 2, NOW, drop), 0);
}

static void
test_live_or_recent_orphans_are_kept(void **state)
{
	rs_orch_copy c[]
	    = { copy(2, 100, true, true, 0), copy(2, 10, true, false, 0),
		      copy(2, 10, false, false, NOW - 1),
		      copy(2, 10, false, false, 0) };
	bool drop[4];

	(void) state;
	assert_int_equal(rs_orch_retire_plan(c, 4, NOW, drop), 0);
}

RS_TEST_MAIN(cmocka_unit_test(test_orphan_behind_a_serving_copy_is_dropped),
    cmocka_unit_test(test_most_advanced_orphan_is_kept),
    cmocka_unit_test(test_later_term_beats_longer_history),
    cmocka_unit_test(test_nothing_dropped_without_a_serving_copy),
    cmocka_unit_test(test_live_or_recent_orphans_are_kept))
