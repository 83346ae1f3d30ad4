/* rs_stop: a full sleep when nobody stops, an immediate wake when someone
 * does, and no sleep at all once stopped. */

#include "rs_test.h"

#include "rs_stop.h"
#include "rs_time.h"

static void *
stop_later(void *arg)
{
	rs_time_sleep_ms(50);
	rs_stop_signal(arg);
	return NULL;
}

static void
test_sleep_is_full_when_not_stopped(void **state)
{
	rs_stop s;
	int64_t t0;

	(void) state;
	rs_stop_init(&s);
	assert_false(rs_stop_signalled(&s));
	t0 = rs_time_now_ms();
	assert_true(rs_stop_sleep_ms(&s, 60));
	assert_true(rs_time_now_ms() - t0 >= 60);
	rs_stop_fini(&s);
}

static void
test_signal_wakes_a_sleeper_at_once(void **state)
{
	rs_stop s;
	pthread_t t;
	int64_t t0;

	(void) state;
	rs_stop_init(&s);
	assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
	t0 = rs_time_now_ms();
	assert_false(rs_stop_sleep_ms(&s, 60000));
	/* woken by the signal (after ~50 ms), not by the minute passing */
	assert_true(rs_time_now_ms() - t0 < 30000);
	pthread_join(t, NULL);
	assert_true(rs_stop_signalled(&s));
	rs_stop_fini(&s);
}

static void
test_once_stopped_sleeps_return_at_once(void **state)
{
	rs_stop s;
	int64_t t0;

	(void) state;
	rs_stop_init(&s);
	rs_stop_signal(&s);
	t0 = rs_time_now_ms();
	assert_false(rs_stop_sleep_ms(&s, 60000));
	assert_false(rs_stop_sleep_ms(&s, 0));
	assert_true(rs_time_now_ms() - t0 < 30000);
	rs_stop_fini(&s);
}

RS_TEST_MAIN(cmocka_unit_test(test_sleep_is_full_when_not_stopped),
    cmocka_unit_test(test_signal_wakes_a_sleeper_at_once),
    cmocka_unit_test(test_once_stopped_sleeps_return_at_once))
