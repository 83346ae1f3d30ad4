/* The text of nng notices (docs/conventions.md "nng notices"). */
#include "rs_notice.h"

#include "rideshare.pb-c.h"

#include <stdint.h>

#include "rs_test.h"

static void
test_status_line_round_trips(void **state)
{
	char buf[128];
	rs_notice n;

	(void) state;
	assert_int_equal(
	    rs_notice_format_status(buf, sizeof(buf), "w1-ab", "slave", 42, 3),
	    0);
	assert_string_equal(buf, "status w1-ab slave 42 3");
	assert_int_equal(rs_notice_parse(buf, &n), RS_NOTICE_STATUS);
	assert_string_equal(n.id, "w1-ab");
	assert_int_equal(n.role, RIDESHARE__ROLE__SLAVE);
	assert_int_equal(n.seq, 42);
	assert_int_equal(n.epoch, 3);
	assert_int_equal(
	    rs_notice_parse("status w3 MASTER 1 2", &n), RS_NOTICE_STATUS);
	assert_int_equal(n.role, RIDESHARE__ROLE__MASTER);
	assert_int_equal(
	    rs_notice_parse("status w3 0 1 2", &n), RS_NOTICE_STATUS);
	assert_int_equal(n.role, RIDESHARE__ROLE__CANDIDATE);
}

static void
test_too_long_lines_are_refused(void **state)
{
	char buf[16];
	rs_notice_reads r = { 1200, 3, 0, 0, 0, 0 };

	(void) state;
	assert_int_not_equal(rs_notice_format_status(buf, sizeof(buf),
	                         "a-very-long-worker-id", "master", 1, 1),
	    0);
	assert_int_not_equal(rs_notice_format_reads(buf, 12, "w2-cd", &r), 0);
	assert_int_not_equal(rs_notice_format_head(buf, 8, 7, 123456), 0);
}

static void
test_head_line_round_trips(void **state)
{
	char buf[64];
	rs_notice n;

	(void) state;
	assert_int_equal(
	    rs_notice_format_head(buf, sizeof(buf), 7, 123456), 0);
	assert_string_equal(buf, "head 7 123456");
	assert_int_equal(rs_notice_parse(buf, &n), RS_NOTICE_HEAD);
	assert_int_equal(n.epoch, 7);
	assert_int_equal(n.seq, 123456);
}

static void
test_reads_line_round_trips_and_accepts_the_old_forms(void **state)
{
	char buf[128];
	rs_notice_reads r = { 1200, 3, 4, 5, 900, 640 };
	rs_notice n;

	(void) state;
	assert_int_equal(
	    rs_notice_format_reads(buf, sizeof(buf), "w2-cd", &r), 0);
	assert_string_equal(buf, "reads w2-cd 1200 3 4 5 900 640");
	assert_int_equal(rs_notice_parse(buf, &n), RS_NOTICE_READS);
	assert_string_equal(n.id, "w2-cd");
	assert_memory_equal(&n.reads, &r, sizeof(r));
	/* the older forms: the missing counters read 0 */
	assert_int_equal(
	    rs_notice_parse("reads w2-cd 7 8", &n), RS_NOTICE_READS);
	r = (rs_notice_reads) { .held = 7, .hold_timeouts = 8 };
	assert_memory_equal(&n.reads, &r, sizeof(r));
	assert_int_equal(
	    rs_notice_parse("reads w2-cd 7 8 9 10", &n), RS_NOTICE_READS);
	r.park_timeouts = 9;
	r.rejected = 10;
	assert_memory_equal(&n.reads, &r, sizeof(r));
}

static void
test_commits_line_round_trips(void **state)
{
	char buf[256];
	rs_notice_commits c
	    = { 500, 4100, 2350000, 1050000, 700000, 1000000, 200000 };
	rs_notice n;

	(void) state;
	assert_int_equal(
	    rs_notice_format_commits(buf, sizeof(buf), "w1-ab", &c), 0);
	assert_string_equal(buf,
	    "commits w1-ab 500 4100 2350000 1050000 700000 1000000 200000");
	assert_int_equal(rs_notice_parse(buf, &n), RS_NOTICE_COMMITS);
	assert_string_equal(n.id, "w1-ab");
	assert_memory_equal(&n.commits, &c, sizeof(c));
	assert_int_not_equal(
	    rs_notice_format_commits(buf, 20, "w1-ab", &c), 0);
}

static void
test_other_lines_are_not_notices(void **state)
{
	const char *bad[] = { "", "status w1 BOSS 1 2", "status w1 master 1",
		"status w1 master 1 2 x", "head 7", "head 7 8 junk",
		"reads w2-cd 1200", "reads w2-cd 1 2 x", "reads w2-cd 1 2 3",
		"reads w2-cd 1 2 3 4 5", "reads w2-cd 1 2 3 4 5 6 7",
		"reads w2-cd 1 2 3 4 5 x", "hello", "head -1 2", "head +1 2",
		"status w1 slave -4 1", "reads w2 1 2 -3 4",
		"commits w1 1 2 3 4 5 6", "commits w1 1 2 3 4 5 6 7 8",
		"commits w1 1 2 3 4 5 6 -7", "commits w1 1 2 3 4 5 6 7x" };
	rs_notice n;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rs_notice_parse(bad[i], &n), RS_NOTICE_NONE);
	}
}

RS_TEST_MAIN(cmocka_unit_test(test_status_line_round_trips),
    cmocka_unit_test(test_too_long_lines_are_refused),
    cmocka_unit_test(test_head_line_round_trips),
    cmocka_unit_test(test_reads_line_round_trips_and_accepts_the_old_forms),
    cmocka_unit_test(test_commits_line_round_trips),
    cmocka_unit_test(test_other_lines_are_not_notices))
