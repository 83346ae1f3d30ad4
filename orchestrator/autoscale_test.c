#include "autoscale.h"
#include "capacity.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* rs_orch_scale_target(reads, min, max) is want for each row. */
typedef struct target_case {
	uint64_t reads;
	int min, max, want;
} target_case;

static void
check_targets(const target_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
		    rs_orch_scale_target(c[i].reads, c[i].min, c[i].max),
		    c[i].want);
}

static void
test_target_follows_reads_per_twenty(void **state)
{
	static const target_case c[]
	    = { { 21, 1, 16, 2 }, { 40, 1, 16, 2 }, { 41, 1, 16, 3 },
		      { 45, 1, 16, 3 }, { 60, 1, 16, 3 }, { 61, 1, 16, 4 } };

	(void) state;
	for (uint64_t r = 0; r <= 20; r++)
		assert_int_equal(rs_orch_scale_target(r, 1, 16), 1);
	check_targets(c, sizeof(c) / sizeof(c[0]));
}

static void
test_target_is_never_zero_and_clamped(void **state)
{
	static const target_case c[] = { { 0, 0, 0, 1 }, { 0, 3, 16, 3 },
		{ 100000, 1, 5, 5 }, { UINT64_MAX, 1, 16, 16 } };

	(void) state;
	check_targets(c, sizeof(c) / sizeof(c[0]));
}

static void
test_window_starts_at_first_read(void **state)
{
	rs_orch_autoscale a;
	rs_orch_scale_decision d;

	(void) state;
	rs_orch_autoscale_init(&a, 5000, 1, 16);
	/* No read yet: no window, however long we wait. */
	assert_false(rs_orch_autoscale_tick(&a, 1000000, &d));
	for (int i = 0; i < 45; i++)
		rs_orch_autoscale_count_read(&a, 2000000 + i);
	assert_false(rs_orch_autoscale_tick(&a, 2004999, &d));
	assert_true(rs_orch_autoscale_tick(&a, 2005000, &d));
	assert_int_equal(d.reads, 45);
	assert_int_equal(d.previous, 1);
	assert_int_equal(d.target, 3);
	assert_int_equal(rs_orch_autoscale_target(&a), 3);
	/* The next window follows at once; idle -> back to 1, never 0. */
	assert_false(rs_orch_autoscale_tick(&a, 2009999, &d));
	assert_true(rs_orch_autoscale_tick(&a, 2010000, &d));
	assert_int_equal(d.reads, 0);
	assert_int_equal(d.previous, 3);
	assert_int_equal(d.target, 1);
}

static void
test_reads_after_window_end_count_in_next(void **state)
{
	rs_orch_autoscale a;
	rs_orch_scale_decision d;

	(void) state;
	rs_orch_autoscale_init(&a, 1000, 1, 16);
	rs_orch_autoscale_count_read(&a, 10);
	assert_true(rs_orch_autoscale_tick(&a, 1010, &d));
	assert_int_equal(d.reads, 1);
	for (int i = 0; i < 21; i++)
		rs_orch_autoscale_count_read(&a, 1500);
	assert_true(rs_orch_autoscale_tick(&a, 2010, &d));
	assert_int_equal(d.reads, 21);
	assert_int_equal(d.target, 2);
}

static void
test_long_stall_restarts_window_now(void **state)
{
	rs_orch_autoscale a;
	rs_orch_scale_decision d;

	(void) state;
	rs_orch_autoscale_init(&a, 1000, 1, 16);
	rs_orch_autoscale_count_read(&a, 1);
	assert_true(rs_orch_autoscale_tick(&a, 10000, &d));
	/* One decision, not nine: the next window ends at 11000. */
	assert_false(rs_orch_autoscale_tick(&a, 10999, &d));
	assert_true(rs_orch_autoscale_tick(&a, 11000, &d));
}

/* The course rule stays the demand signal; the cap only limits what is
 * run, and an explicit floor beats it. */
static void
test_wanted_is_uncapped_target_is_capped(void **state)
{
	/* wanted: the course rule with its floor, no cap */
	static const target_case w[] = { { 0, 1, 0, 1 }, { 45, 1, 0, 3 },
		{ 320, 1, 0, 16 }, { 45, 5, 0, 5 }, { 0, 0, 0, 1 } };
	/* beyond the cap: the cap; a floor above it wins */
	static const target_case c[]
	    = { { 41, 1, 2, 2 }, { 20000, 1, 2, 2 }, { 0, 3, 2, 3 } };

	(void) state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		assert_int_equal(
		    rs_orch_scale_wanted(w[i].reads, w[i].min), w[i].want);
	assert_true(rs_orch_scale_wanted(UINT64_MAX, 1) > 32);
	/* Up to the cap the target is the course rule, then the cap. */
	for (uint64_t r = 0; r <= 40; r++)
		assert_int_equal(
		    rs_orch_scale_target(r, 1, 2), rs_orch_scale_wanted(r, 1));
	check_targets(c, sizeof(c) / sizeof(c[0]));
}

static void
test_decision_reports_wanted_and_capped_target(void **state)
{
	rs_orch_autoscale a;
	rs_orch_scale_decision d;

	(void) state;
	rs_orch_autoscale_init(&a, 1000, 1, 2);
	assert_int_equal(rs_orch_autoscale_wanted(&a), 1);
	for (int i = 0; i < 45; i++)
		rs_orch_autoscale_count_read(&a, 10);
	assert_true(rs_orch_autoscale_tick(&a, 1010, &d));
	assert_int_equal(d.wanted, 3);
	assert_int_equal(d.target, 2);
	assert_int_equal(rs_orch_autoscale_wanted(&a), 3);
	assert_int_equal(rs_orch_autoscale_target(&a), 2);
	/* Below the cap the two agree. */
	for (int i = 0; i < 21; i++)
		rs_orch_autoscale_count_read(&a, 1500);
	assert_true(rs_orch_autoscale_tick(&a, 2010, &d));
	assert_int_equal(d.wanted, 2);
	assert_int_equal(d.target, 2);
}

static void
test_cap_from_capacity_unless_max_set(void **state)
{
	/* { cpus, min, max (0: unset), cap } */
	static const int c[][4] = {
		/* Derived: one slave per CPU the hosts have, up to the
		 * ceiling. */
		{ 2, 1, 0, 2 },
		{ 1, 1, 0, 1 },
		{ 0, 1, 0, 1 },
		{ -3, 1, 0, 1 },
		{ 64, 1, 0, RS_ORCH_SLAVE_CAP_CEIL },
		/* RIDESHARE_MAX_SLAVES set: it wins over the capacity, both
		 * ways. */
		{ 2, 1, 16, 16 },
		{ 64, 1, 4, 4 },
		{ 64, 1, 32, 32 },
		/* An explicit floor above the capacity wins. */
		{ 2, 4, 0, 4 },
		{ 2, 0, 0, 2 },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_int_equal(
		    rs_orch_slave_cap(c[i][0], c[i][1], c[i][2]), c[i][3]);
}

static void
test_cpu_quota_parsing(void **state)
{
	/* cgroup v2 cpu.max: "quota period" -> whole CPUs (0: no limit) */
	static const struct {
		const char *max;
		int cpus;
	} c[] = { { "max 100000\n", 0 }, { "200000 100000\n", 2 },
		{ "150000 100000", 2 }, { "50000 100000", 1 }, { "", 0 },
		{ "garbage", 0 }, { "0 100000", 0 }, { NULL, 0 } };

	(void) state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_int_equal(rs_orch_cpu_quota(c[i].max), c[i].cpus);
	assert_true(rs_orch_local_cpus() >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_follows_reads_per_twenty),
		cmocka_unit_test(test_target_is_never_zero_and_clamped),
		cmocka_unit_test(test_window_starts_at_first_read),
		cmocka_unit_test(test_reads_after_window_end_count_in_next),
		cmocka_unit_test(test_long_stall_restarts_window_now),
		cmocka_unit_test(test_wanted_is_uncapped_target_is_capped),
		cmocka_unit_test(
		    test_decision_reports_wanted_and_capped_target),
		cmocka_unit_test(test_cap_from_capacity_unless_max_set),
		cmocka_unit_test(test_cpu_quota_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
