#include "roster.h"
#include "workers.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "rs_test.h"

static rs_orch_worker
mk(const char *id, int64_t pid, int role, enum rs_orch_wstate st)
{
	rs_orch_worker w;

	memset(&w, 0, sizeof(w));
	snprintf(w.id, sizeof(w.id), "%s", id);
	w.pid = pid;
	w.role = role;
	w.state = st;
	w.registered = role != RS_ORCH_ROLE_NONE;
	w.seen_registered = w.registered;
	w.ours = true;
	return w;
}

#define M RS_ORCH_ROLE_MASTER
#define S RS_ORCH_ROLE_SLAVE
#define C RS_ORCH_ROLE_CANDIDATE
#define N RS_ORCH_ROLE_NONE

static void
test_list_is_sorted_and_only_serving(void **state)
{
	rs_orch_worker t[] = {
		mk("a", 4330, S, RS_ORCH_RUNNING),
		mk("b", 1000, M, RS_ORCH_RUNNING),
		mk("c", 2112, S, RS_ORCH_RUNNING),
		mk("d", 9000, C, RS_ORCH_STARTING), /* not serving yet */
		mk("e", 50, S, RS_ORCH_DEAD), /* crashed, znode lingers */
		mk("f", 7000, S, RS_ORCH_STOPPING), /* scale-in under way */
		mk("g", 0, N, RS_ORCH_STARTING), /* spawned, no znode */
	};
	int64_t pids[8];
	size_t n;

	(void) state;
	n = rs_orch_roster_pids(t, 7, pids, 8);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 1000);
	assert_int_equal(pids[1], 2112);
	assert_int_equal(pids[2], 4330);
}

static void
test_crash_slave_picks_highest_pid(void **state)
{
	rs_orch_worker t[] = {
		mk("m", 9999, M, RS_ORCH_RUNNING),
		mk("s1", 300, S, RS_ORCH_RUNNING),
		mk("s2", 800, S, RS_ORCH_RUNNING),
		mk("s3", 900, S, RS_ORCH_DEAD),
		mk("s4", 950, C, RS_ORCH_STARTING),
	};

	(void) state;
	assert_int_equal(rs_orch_roster_top_slave(t, 5), 2);
	assert_int_equal(rs_orch_roster_top_slave(t, 1), -1);
}

static void
test_master_is_the_znode_holder(void **state)
{
	rs_orch_worker t[] = {
		mk("s1", 300, S, RS_ORCH_RUNNING),
		mk("m", 100, M, RS_ORCH_RUNNING),
	};

	(void) state;
	assert_int_equal(rs_orch_roster_master(t, 2, "m", true), 1);
	assert_int_equal(rs_orch_roster_master(t, 2, "", true), -1);
	/* Promotion under way: holds the znode, role still SLAVE. */
	assert_int_equal(rs_orch_roster_master(t, 2, "s1", true), -1);
	assert_int_equal(rs_orch_roster_master(t, 2, "s1", false), 0);
	t[1].state = RS_ORCH_DEAD;
	assert_int_equal(rs_orch_roster_master(t, 2, "m", false), -1);
}

/* One planning situation: the workers (at most 5; gone: the znode of a
 * dead one has expired), the master znode holder, the slaves wanted, and
 * the plan expected (stops: indexes, highest pid first). */
typedef struct plan_case {
	const char *what;
	struct {
		const char *id;
		int64_t pid;
		int role;
		enum rs_orch_wstate st;
		bool gone;
	} w[5];
	size_t n;
	const char *master;
	int slaves;
	int spawn;
	bool bootstrap;
	int nstop;
	int stop[2];
} plan_case;

static const plan_case plan_cases[] = {
	{ "an empty system bootstraps one worker", .master = "", .slaves = 1,
	    .spawn = 1, .bootstrap = true },
	{ "nothing while the first worker starts",
	    .w = { { "w1", 10, N, RS_ORCH_STARTING, false } }, .n = 1,
	    .master = "", .slaves = 3 },
	{ "a slave once the master is up",
	    .w = { { "w1", 10, M, RS_ORCH_RUNNING, false } }, .n = 1,
	    .master = "w1", .slaves = 1, .spawn = 1 },
	{ "three slaves once the master is up",
	    .w = { { "w1", 10, M, RS_ORCH_RUNNING, false } }, .n = 1,
	    .master = "w1", .slaves = 3, .spawn = 3 },
	{ "a starting slave counts",
	    .w = { { "w1", 10, M, RS_ORCH_RUNNING, false },
	        { "w2", 11, S, RS_ORCH_RUNNING, false },
	        { "w3", 12, N, RS_ORCH_STARTING, false } },
	    .n = 3, .master = "w1", .slaves = 2 },
	{ "dead master, its znode still there: wait for the election",
	    .w = { { "w1", 10, M, RS_ORCH_DEAD, false },
	        { "w2", 11, S, RS_ORCH_RUNNING, false } },
	    .n = 2, .master = "w1", .slaves = 1 },
	{ "dead master, its znode gone: wait for the election",
	    .w = { { "w1", 10, M, RS_ORCH_DEAD, false },
	        { "w2", 11, S, RS_ORCH_RUNNING, false } },
	    .n = 2, .master = "", .slaves = 1 },
	{ "w2 promoted: now a replacement slave",
	    .w = { { "w1", 10, M, RS_ORCH_DEAD, false },
	        { "w2", 11, M, RS_ORCH_RUNNING, false } },
	    .n = 2, .master = "w2", .slaves = 1, .spawn = 1 },
	{ "no bootstrap while an old MASTER znode lingers",
	    .w = { { "w1", 10, M, RS_ORCH_DEAD, false } }, .n = 1,
	    .master = "", .slaves = 1 },
	{ "bootstrap once the old znodes are gone",
	    .w = { { "w1", 10, M, RS_ORCH_DEAD, true } }, .n = 1, .master = "",
	    .slaves = 1, .spawn = 1, .bootstrap = true },
	{ "scale-in stops the highest-pid serving slaves",
	    .w = { { "m", 5000, M, RS_ORCH_RUNNING, false },
	        { "a", 100, S, RS_ORCH_RUNNING, false },
	        { "b", 400, S, RS_ORCH_RUNNING, false },
	        { "c", 300, S, RS_ORCH_RUNNING, false },
	        { "d", 200, S, RS_ORCH_STOPPING, false } },
	    .n = 5, .master = "m", .slaves = 1, .nstop = 2, .stop = { 2, 3 } },
};

static void
test_plan_spawns_and_stops_as_each_situation_needs(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]);
	     i++) {
		const plan_case *c = &plan_cases[i];
		rs_orch_worker t[5];
		rs_orch_plan p;
		bool ok;

		for (size_t k = 0; k < c->n; k++) {
			t[k] = mk(
			    c->w[k].id, c->w[k].pid, c->w[k].role, c->w[k].st);
			if (c->w[k].gone)
				t[k].registered = false;
		}
		rs_orch_roster_plan(
		    c->n ? t : NULL, c->n, c->master, c->slaves, &p);
		ok = p.spawn == c->spawn && p.bootstrap == c->bootstrap
		    && p.nstop == c->nstop;
		for (int k = 0; ok && k < c->nstop; k++)
			ok = p.stop[k] == c->stop[k];
		if (!ok)
			fail_msg("%s: spawn %d bootstrap %d nstop %d", c->what,
			    p.spawn, p.bootstrap, p.nstop);
	}
}

static void
test_role_names_are_the_admin_api_spelling(void **state)
{
	(void) state;
	assert_string_equal(rs_orch_role_name(RS_ORCH_ROLE_MASTER), "master");
	assert_string_equal(rs_orch_role_name(RS_ORCH_ROLE_SLAVE), "slave");
	assert_string_equal(
	    rs_orch_role_name(RS_ORCH_ROLE_CANDIDATE), "candidate");
	assert_string_equal(rs_orch_role_name(RS_ORCH_ROLE_NONE), "none");
	assert_string_equal(rs_orch_role_name(42), "none");
}

static void
test_only_spawner_ids_are_adopted(void **state)
{
	char id[RS_ORCH_ID_MAX];

	(void) state;
	snprintf(id, sizeof(id), RS_ORCH_ID_FORMAT, 12u, "0a1b2c3d4e");
	assert_string_equal(id, "w12-0a1b2c");
	assert_true(rs_orch_worker_id_spawned(id));
	assert_false(rs_orch_worker_id_spawned("w-0a1b2c"));
	assert_false(rs_orch_worker_id_spawned("w1-0a1b2"));
	assert_false(rs_orch_worker_id_spawned("w1-0a1b2c3"));
	assert_false(rs_orch_worker_id_spawned("w1-0A1B2C"));
	assert_false(rs_orch_worker_id_spawned("cu-s-84143059"));
	assert_false(rs_orch_worker_id_spawned(""));
	assert_false(rs_orch_worker_id_spawned(NULL));
}

/* Beyond the limit: no new reads; back at half of it (hysteresis); the
 * least lagging always reads; candidates and masters are not readers. */
static void
test_read_pauses_hysteresis_and_last_reader(void **state)
{
	rs_orch_worker t[3];

	(void) state;
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 3; i++)
		t[i].lag_state = RS_ORCH_LAG_SERVING;
	t[0].lag_ms = 1500;
	t[1].lag_ms = 10;
	t[2].lag_state = RS_ORCH_LAG_SNAPSHOTTING;
	t[2].lag_ms = 9000;
	rs_orch_roster_read_pauses(t, 3, 1000);
	assert_true(t[0].read_paused);
	assert_int_equal(t[0].lag_state, RS_ORCH_LAG_LAGGING);
	assert_false(t[1].read_paused);
	assert_false(t[2].read_paused);
	assert_int_equal(t[2].lag_state, RS_ORCH_LAG_SNAPSHOTTING);
	t[0].lag_ms = 700; /* within the limit, not yet within half */
	rs_orch_roster_read_pauses(t, 3, 1000);
	assert_true(t[0].read_paused);
	t[0].lag_ms = 400;
	rs_orch_roster_read_pauses(t, 3, 1000);
	assert_false(t[0].read_paused);
	assert_int_equal(t[0].lag_state, RS_ORCH_LAG_SERVING);
	t[0].lag_ms = 5000;
	t[1].lag_ms = 3000; /* both beyond: the least lagging reads */
	rs_orch_roster_read_pauses(t, 2, 1000);
	assert_true(t[0].read_paused);
	assert_false(t[1].read_paused);
	assert_string_equal(
	    rs_orch_lag_state_name(RS_ORCH_LAG_CATCHING_UP), "catching_up");
}

/* A resent read goes to the gateway's hint when it takes reads, else to
 * the reader heard from last; to readQ when none takes reads. */
static void
test_resend_goes_to_a_reading_slave(void **state)
{
	rs_orch_worker t[4];
	char to[RS_ORCH_ID_MAX];

	(void) state;
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 4; i++) {
		snprintf(t[i].id, sizeof(t[i].id), "w%d", i);
		t[i].role = RS_ORCH_ROLE_SLAVE;
		t[i].status_ms = 1000 + i;
	}
	t[0].role = RS_ORCH_ROLE_MASTER; /* newest status, not a reader */
	t[0].status_ms = 2000;
	t[3].read_paused = true; /* lagging or silent: no new reads */
	t[3].status_ms = 1900;
	/* the gateway's hint when it takes reads */
	assert_true(rs_orch_roster_resend_target(t, 4, "w1", to, sizeof(to)));
	assert_string_equal(to, "w1");
	/* else the reader heard from last */
	assert_true(rs_orch_roster_resend_target(t, 4, "w3", to, sizeof(to)));
	assert_string_equal(to, "w2");
	assert_true(rs_orch_roster_resend_target(t, 4, "w0", to, sizeof(to)));
	assert_string_equal(to, "w2");
	assert_true(rs_orch_roster_resend_target(t, 4, "", to, sizeof(to)));
	assert_string_equal(to, "w2");
	assert_true(
	    rs_orch_roster_resend_target(t, 4, "gone", to, sizeof(to)));
	assert_string_equal(to, "w2");
	/* no slave takes reads: readQ */
	t[1].read_paused = t[2].read_paused = true;
	assert_false(rs_orch_roster_resend_target(t, 4, "w1", to, sizeof(to)));
	assert_string_equal(to, "");
}

RS_TEST_MAIN(cmocka_unit_test(test_list_is_sorted_and_only_serving),
    cmocka_unit_test(test_crash_slave_picks_highest_pid),
    cmocka_unit_test(test_master_is_the_znode_holder),
    cmocka_unit_test(test_plan_spawns_and_stops_as_each_situation_needs),
    cmocka_unit_test(test_role_names_are_the_admin_api_spelling),
    cmocka_unit_test(test_only_spawner_ids_are_adopted),
    cmocka_unit_test(test_read_pauses_hysteresis_and_last_reader),
    cmocka_unit_test(test_resend_goes_to_a_reading_slave))
