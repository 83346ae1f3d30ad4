/* rs_thread: the loop runs until asked to stop, join waits for it, and
 * stopping a thread that never started is a no-op. */

#include "rs_test.h"

#include "rs_err.h"
#include "rs_thread.h"
#include "rs_time.h"

typedef struct loop {
	rs_thread thr;
	atomic_int turns;
	atomic_bool ended;
} loop;

static void *
spin(void *arg)
{
	loop *l = arg;

	while (!rs_thread_stopping(&l->thr)) {
		atomic_fetch_add(&l->turns, 1);
		rs_time_sleep_ms(1);
	}
	atomic_store(&l->ended, true);
	return NULL;
}

static void
test_loop_runs_until_stopped_and_stop_joins_it(void **state)
{
	loop l = { 0 };

	(void) state;
	assert_int_equal(rs_thread_start(&l.thr, spin, &l), RS_OK);
	assert_true(l.thr.started);
	while (atomic_load(&l.turns) < 3)
		rs_time_sleep_ms(1);
	assert_false(atomic_load(&l.ended));
	rs_thread_stop(&l.thr);
	/* joined: the loop has returned, and it is no longer started */
	assert_true(atomic_load(&l.ended));
	assert_false(l.thr.started);
	assert_true(rs_thread_stopping(&l.thr));
	/* a second stop (destroy after an explicit stop) is harmless */
	rs_thread_stop(&l.thr);
}

static void
test_ask_stop_then_join_is_a_stop(void **state)
{
	loop l = { 0 };

	(void) state;
	assert_int_equal(rs_thread_start(&l.thr, spin, &l), RS_OK);
	rs_thread_ask_stop(&l.thr);
	assert_true(rs_thread_stopping(&l.thr));
	rs_thread_join(&l.thr);
	assert_true(atomic_load(&l.ended));
	assert_false(l.thr.started);
}

static void
test_never_started_thread_stops_without_joining(void **state)
{
	rs_thread t = { 0 };

	(void) state;
	assert_false(rs_thread_stopping(&t));
	rs_thread_join(&t); /* not started: must not join a garbage id */
	rs_thread_stop(&t);
	assert_true(rs_thread_stopping(&t));
	assert_false(t.started);
}

RS_TEST_MAIN(cmocka_unit_test(test_loop_runs_until_stopped_and_stop_joins_it),
    cmocka_unit_test(test_ask_stop_then_join_is_a_stop),
    cmocka_unit_test(test_never_started_thread_stops_without_joining))
