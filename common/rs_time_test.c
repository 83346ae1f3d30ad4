/* Monotonic clock, sleeps, deadlines and back-off steps. */

#include "rs_test.h"

#include "rs_time.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void) sig;
	alarms++;
}

static void
test_sleep_waits_at_least_the_time_asked(void **state)
{
	int64_t t0;

	(void) state;
	t0 = rs_time_now_ms();
	rs_time_sleep_ms(60);
	assert_true(rs_time_now_ms() - t0 >= 60);
	assert_true(rs_time_now_ms() - t0 < 3000);
}

static void
test_sleep_of_zero_or_less_returns_at_once(void **state)
{
	int64_t t0;

	(void) state;
	t0 = rs_time_now_ms();
	rs_time_sleep_ms(0);
	rs_time_sleep_ms(-5);
	assert_true(rs_time_now_ms() - t0 < 50);
}

static void
test_sleep_resumes_after_a_signal(void **state)
{
	struct sigaction sa, old;
	struct itimerval it = { { 0, 0 }, { 0, 20 * 1000 } };
	int64_t t0;

	(void) state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: nanosleep sees EINTR */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	t0 = rs_time_now_ms();
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	rs_time_sleep_ms(150);
	assert_int_equal(alarms, 1);
	assert_true(rs_time_now_ms() - t0 >= 150);
	sigaction(SIGALRM, &old, NULL);
}

static void
test_deadline_and_left_ms(void **state)
{
	int64_t d;

	(void) state;
	assert_int_equal(rs_time_deadline(-1), -1);
	assert_int_equal(rs_time_left_ms(-1), -1);
	d = rs_time_deadline(10000);
	assert_true(rs_time_left_ms(d) > 9000);
	assert_true(rs_time_left_ms(d) <= 10000);
	/* A deadline in the past leaves 0, never a negative wait. */
	assert_int_equal(rs_time_left_ms(rs_time_now_ms() - 500), 0);
}

static void
test_backoff_starts_at_first_doubles_and_stops_at_max(void **state)
{
	(void) state;
	assert_int_equal(rs_time_backoff_next(0, 500, 10000), 500);
	assert_int_equal(rs_time_backoff_next(500, 500, 10000), 1000);
	assert_int_equal(rs_time_backoff_next(8000, 500, 10000), 10000);
	assert_int_equal(rs_time_backoff_next(10000, 500, 10000), 10000);
}

static void
test_backoff_sleep_is_cut_at_the_deadline(void **state)
{
	int64_t step = 50, t0, deadline;
	int waits = 0;

	(void) state;
	t0 = rs_time_now_ms();
	deadline = t0 + 300;
	/* 50 + 100 + 150 (cut from 200): three waits, then false. */
	while (rs_time_backoff_sleep(&step, 1000, deadline))
		waits++;
	assert_int_equal(waits, 3);
	assert_int_equal(step, 400);
	assert_true(rs_time_now_ms() - t0 >= 300);
	assert_true(rs_time_now_ms() - t0 < 3000);
}

static void
test_backoff_sleep_after_the_deadline_does_not_sleep(void **state)
{
	int64_t step = 1000;

	(void) state;
	assert_false(rs_time_backoff_sleep(&step, 1000, rs_time_now_ms() - 1));
	assert_int_equal(step, 1000);
}

static void
test_abs_in_is_ms_ahead_with_nanoseconds_normalised(void **state)
{
	struct timespec now, at;

	(void) state;
	for (int64_t ms = 0; ms <= 2999; ms += 7) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		at = rs_time_abs_in(CLOCK_MONOTONIC, ms);
		assert_true(at.tv_nsec >= 0 && at.tv_nsec < 1000000000L);
		int64_t ahead = (int64_t) (at.tv_sec - now.tv_sec) * 1000
		    + (at.tv_nsec - now.tv_nsec) / 1000000;
		/* ms ahead of a reading taken just before (slack: a slow
		 * machine between the two readings) */
		assert_true(ahead >= ms - 1 && ahead < ms + 1000);
	}
}

RS_TEST_MAIN(cmocka_unit_test(test_sleep_waits_at_least_the_time_asked),
    cmocka_unit_test(test_abs_in_is_ms_ahead_with_nanoseconds_normalised),
    cmocka_unit_test(test_sleep_of_zero_or_less_returns_at_once),
    cmocka_unit_test(test_sleep_resumes_after_a_signal),
    cmocka_unit_test(test_deadline_and_left_ms),
    cmocka_unit_test(test_backoff_starts_at_first_doubles_and_stops_at_max),
    cmocka_unit_test(test_backoff_sleep_is_cut_at_the_deadline),
    cmocka_unit_test(test_backoff_sleep_after_the_deadline_does_not_sleep))
