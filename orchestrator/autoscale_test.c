#include "autoscale.h"
#include "capacity.h"

#include <stdint.h>

#include "rs_test.h"

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

/* One step of a window script: n > 0 reads counted from time `at` on,
 * one every `every` ms; or (n == 0) a tick at `at` that decides (fires)
 * or not. A decision is checked against reads, previous, wanted, target
 * (-1: not checked), and the target and wanted then reported by the
 * autoscaler against the decision's. */
typedef struct step {
	int64_t at;
	int n, every;
	bool fires;
	int64_t reads;
	int previous, wanted, target;
} step;

#define READS(at, n, every)                         \
	{                                           \
		at, n, every, false, -1, -1, -1, -1 \
	}
#define QUIET(at)                               \
	{                                       \
		at, 0, 0, false, -1, -1, -1, -1 \
	}
#define FIRES(at, reads, previous, wanted, target)              \
	{                                                       \
		at, 0, 0, true, reads, previous, wanted, target \
	}

#define END                                     \
	{                                       \
		0, -1, 0, false, -1, -1, -1, -1 \
	}

/* A window script: what it shows, the autoscaler it runs on (window_ms,
 * min, max) and its steps up to END. */
typedef struct script {
	const char *what;
	int64_t window_ms;
	int min, max;
	step s[8];
} script;

static const script scripts[] = {
	{ "the window starts at the first read; the next follows at once, "
	  "idle -> back to 1, never 0",
	    5000, 1, 16,
	    { QUIET(1000000), READS(2000000, 45, 1), QUIET(2004999),
	        FIRES(2005000, 45, 1, -1, 3), QUIET(2009999),
	        FIRES(2010000, 0, 3, -1, 1), END } },
	{ "reads after a window's end count in the next", 1000, 1, 16,
	    { READS(10, 1, 0), FIRES(1010, 1, -1, -1, -1), READS(1500, 21, 0),
	        FIRES(2010, 21, -1, -1, 2), END } },
	{ "a long stall restarts the window now: one decision, not nine (the "
	  "next window ends at 11000)",
	    1000, 1, 16,
	    { READS(1, 1, 0), FIRES(10000, -1, -1, -1, -1), QUIET(10999),
	        FIRES(11000, -1, -1, -1, -1), END } },
	{ "a decision reports the wanted and the capped target; below the "
	  "cap the two agree",
	    1000, 1, 2,
	    { READS(10, 45, 0), FIRES(1010, 45, 1, 3, 2), READS(1500, 21, 0),
	        FIRES(2010, 21, 2, 2, 2), END } },
};

/* Runs script c. */
static void
run_script(const script *c)
{
	rs_orch_autoscale a;
	rs_orch_scale_decision d;

	rs_orch_autoscale_init(&a, c->window_ms, c->min, c->max);
	assert_int_equal(rs_orch_autoscale_wanted(&a), c->min);
	for (const step *s = c->s; s->n >= 0; s++) {
		for (int r = 0; r < s->n; r++)
			rs_orch_autoscale_count_read(
			    &a, s->at + (int64_t) r * s->every);
		if (s->n > 0)
			continue;
		assert_int_equal(
		    rs_orch_autoscale_tick(&a, s->at, &d), s->fires);
		if (!s->fires)
			continue;
		if (s->reads >= 0)
			assert_int_equal(d.reads, s->reads);
		if (s->previous >= 0)
			assert_int_equal(d.previous, s->previous);
		if (s->wanted >= 0)
			assert_int_equal(d.wanted, s->wanted);
		if (s->target >= 0)
			assert_int_equal(d.target, s->target);
		assert_int_equal(rs_orch_autoscale_wanted(&a), d.wanted);
		assert_int_equal(rs_orch_autoscale_target(&a), d.target);
	}
}

static void
test_window_scripts(void **state)
{
	(void) state;
	RS_TEST_EACH(script, c, scripts)
	{
		run_script(c);
	}
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
		cmocka_unit_test(test_window_scripts),
		cmocka_unit_test(test_wanted_is_uncapped_target_is_capped),
		cmocka_unit_test(test_cap_from_capacity_unless_max_set),
		cmocka_unit_test(test_cpu_quota_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
