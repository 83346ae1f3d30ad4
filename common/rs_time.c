/* Monotonic milliseconds, sleeps, deadlines and back-off (see rs_time.h). */
#include "rs_time.h"

#include <errno.h>
#include <time.h>

int64_t
rs_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rs_time_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
rs_time_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t) (ms / 1000);
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	/* nanosleep leaves the remainder in ts when a signal interrupts. */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

int64_t
rs_time_deadline(int64_t timeout_ms)
{
	return timeout_ms < 0 ? -1 : rs_time_now_ms() + timeout_ms;
}

int64_t
rs_time_left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - rs_time_now_ms();
	return left > 0 ? left : 0;
}

int64_t
rs_time_backoff_next(int64_t cur, int64_t first, int64_t max)
{
	int64_t next = cur > 0 ? cur * 2 : first;

	return next > max ? max : next;
}

bool
rs_time_backoff_sleep(int64_t *step_ms, int64_t max_ms, int64_t deadline)
{
	int64_t left = deadline - rs_time_now_ms();

	if (left <= 0)
		return false;
	rs_time_sleep_ms(*step_ms < left ? *step_ms : left);
	*step_ms = rs_time_backoff_next(*step_ms, *step_ms, max_ms);
	return true;
}

struct timespec
rs_time_abs_in(clockid_t clock, int64_t ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t) (ms / 1000);
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
