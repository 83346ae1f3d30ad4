/* Unit tests of the read resend decision (rs_gw_resend.h): when a call is
 * resent and which slave the resend names. */
#include <stdio.h>
#include <string.h>

#include "rs_test.h"

#include "rs_gw_resend.h"

static void
test_only_reads_within_the_timeout_are_resent(void **state)
{
	(void) state;
	assert_int_equal(rs_gw_resend_after_ms(false, 200, 5000), 200);
	assert_int_equal(rs_gw_resend_after_ms(false, 25, 1500), 25);
	/* writes never: a second copy waits behind the same master */
	assert_int_equal(rs_gw_resend_after_ms(true, 200, 5000), 0);
	/* off */
	assert_int_equal(rs_gw_resend_after_ms(false, 0, 5000), 0);
	assert_int_equal(rs_gw_resend_after_ms(false, -1, 5000), 0);
	/* the timeout would come first: nothing to gain */
	assert_int_equal(rs_gw_resend_after_ms(false, 5000, 5000), 0);
	assert_int_equal(rs_gw_resend_after_ms(false, 6000, 5000), 0);
}

/* rs_gw_resend_pick(since) names want, or (want NULL) nobody. */
static void
assert_picks(int64_t since, const char *want)
{
	char to[64];

	assert_int_equal(
	    rs_gw_resend_pick(since, to, sizeof(to)), want != NULL);
	assert_string_equal(to, want != NULL ? want : "");
}

static void
test_pick_the_latest_answer_since_the_send(void **state)
{
	(void) state;
	rs_gw_resend_reset();
	assert_picks(0, NULL);
	rs_gw_resend_note("w1-aaaaaa", 1000);
	rs_gw_resend_note("w2-bbbbbb", 1010);
	rs_gw_resend_note("w3-cccccc", 1005);
	assert_picks(1000, "w2-bbbbbb");
	/* w2 falls silent (hung): the others keep answering */
	rs_gw_resend_note("w1-aaaaaa", 1100);
	rs_gw_resend_note("w3-cccccc", 1120);
	assert_picks(1050, "w3-cccccc");
	/* a slave that answered only before the read went out may be the
	 * one holding it: not named */
	assert_picks(1121, NULL);
	/* an answer at the very send time counts */
	assert_picks(1120, "w3-cccccc");
}

static void
test_resend_waits_a_little_for_a_slave_to_name(void **state)
{
	char to[64];

	(void) state;
	rs_gw_resend_reset();
	rs_gw_resend_note("w1-aaaaaa", 900); /* before the send: not named */
	/* due at 1025, nobody answered since the send at 1000: wait */
	assert_false(rs_gw_resend_ready(1000, 1025, to, sizeof(to)));
	assert_false(rs_gw_resend_ready(
	    1000, 1000 + RS_GW_RESEND_HINT_WAIT_MS - 1, to, sizeof(to)));
	/* a slave answered meanwhile: named at once */
	rs_gw_resend_note("w2-bbbbbb", 1040);
	assert_true(rs_gw_resend_ready(1000, 1050, to, sizeof(to)));
	assert_string_equal(to, "w2-bbbbbb");
	/* none for a whole status period and more: sent without a name */
	rs_gw_resend_reset();
	assert_true(rs_gw_resend_ready(
	    1000, 1000 + RS_GW_RESEND_HINT_WAIT_MS, to, sizeof(to)));
	assert_string_equal(to, "");
	/* longer than the workers' status period (500 ms) */
	assert_true(RS_GW_RESEND_HINT_WAIT_MS > 500);
}

static void
test_note_ignores_empty_and_keeps_latest(void **state)
{
	(void) state;
	rs_gw_resend_reset();
	rs_gw_resend_note("", 500);
	rs_gw_resend_note(NULL, 500);
	assert_picks(0, NULL);
	rs_gw_resend_note("w1-aaaaaa", 900);
	/* a late, older answer does not move a worker back in time */
	rs_gw_resend_note("w1-aaaaaa", 800);
	assert_picks(900, "w1-aaaaaa");
	/* too long for an id: ignored, not truncated into another id */
	char longid[100];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	rs_gw_resend_note(longid, 1000);
	assert_picks(0, "w1-aaaaaa");
}

static void
test_full_table_forgets_the_oldest(void **state)
{
	char id[16];

	(void) state;
	rs_gw_resend_reset();
	for (int i = 0; i < RS_GW_RESEND_SLOTS; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		rs_gw_resend_note(id, 100 + i);
	}
	rs_gw_resend_note("w0", 500); /* present: refreshed, not added */
	rs_gw_resend_note("new", 400); /* replaces w1, the oldest */
	assert_picks(450, "w0");
	rs_gw_resend_note("w1", 600);
	rs_gw_resend_note("w2", 550);
	assert_picks(0, "w1");
	/* still one slot each: "new" kept, w2 is there */
	assert_picks(540, "w1");
}

RS_TEST_MAIN(cmocka_unit_test(test_only_reads_within_the_timeout_are_resent),
    cmocka_unit_test(test_pick_the_latest_answer_since_the_send),
    cmocka_unit_test(test_resend_waits_a_little_for_a_slave_to_name),
    cmocka_unit_test(test_note_ignores_empty_and_keeps_latest),
    cmocka_unit_test(test_full_table_forgets_the_oldest))
