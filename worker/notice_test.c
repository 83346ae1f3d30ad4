/* The text of nng notices (docs/conventions.md "nng notices"). */
#include "notice.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void
test_status_line_has_id_role_seq_epoch(void **state)
{
	char buf[128];

	(void) state;
	assert_int_equal(rs_worker_notice_format_status(
	                     buf, sizeof(buf), "w1-ab", "slave", 42, 3),
	    0);
	assert_string_equal(buf, "status w1-ab slave 42 3");
}

static void
test_status_line_too_long_is_refused(void **state)
{
	char buf[16];

	(void) state;
	assert_int_not_equal(rs_worker_notice_format_status(buf, sizeof(buf),
	                         "a-very-long-worker-id", "master", 1, 1),
	    0);
}

static void
test_head_line_parses(void **state)
{
	uint64_t e = 0, s = 0;

	(void) state;
	assert_int_equal(
	    rs_worker_notice_parse_head("head 7 123456", &e, &s), 0);
	assert_int_equal(e, 7);
	assert_int_equal(s, 123456);
}

static void
test_other_lines_are_not_heads(void **state)
{
	uint64_t e = 0, s = 0;

	(void) state;
	assert_int_not_equal(
	    rs_worker_notice_parse_head("status w1 master 5 1", &e, &s), 0);
	assert_int_not_equal(rs_worker_notice_parse_head("head 7", &e, &s), 0);
	assert_int_not_equal(
	    rs_worker_notice_parse_head("head 7 8 junk", &e, &s), 0);
	assert_int_equal(e, 0);
	assert_int_equal(s, 0);
}

static void
test_reads_line_has_id_and_counters(void **state)
{
	char buf[64];

	(void) state;
	assert_int_equal(
	    rs_worker_notice_format_reads(buf, sizeof(buf), "w2-cd", 1200, 3),
	    0);
	assert_string_equal(buf, "reads w2-cd 1200 3");
	assert_int_not_equal(
	    rs_worker_notice_format_reads(buf, 12, "w2-cd", 1200, 3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_line_has_id_role_seq_epoch),
		cmocka_unit_test(test_status_line_too_long_is_refused),
		cmocka_unit_test(test_head_line_parses),
		cmocka_unit_test(test_other_lines_are_not_heads),
		cmocka_unit_test(test_reads_line_has_id_and_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
