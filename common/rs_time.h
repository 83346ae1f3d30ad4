/* Monotonic milliseconds: the clock, sleeps, deadlines and back-off that
 * every retry and timeout loop in the tree measures with. */
#ifndef RS_TIME_H
#define RS_TIME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (arbitrary origin, never jumps). */
int64_t rs_time_now_ms(void);
/* Microseconds on the same clock (step timings, e.g. a group commit's). */
int64_t rs_time_now_us(void);

/* Sleeps ms milliseconds (nothing when ms <= 0); a signal does not cut
 * the sleep short, it resumes for the time that is left. */
void rs_time_sleep_ms(int64_t ms);

/* The deadline timeout_ms from now; -1 ("never") when timeout_ms < 0. */
int64_t rs_time_deadline(int64_t timeout_ms);

/* The absolute time ms (>= 0) from now on clock: the deadline argument of
 * pthread_cond_timedwait, on the clock the condition variable waits by
 * (CLOCK_REALTIME unless set with pthread_condattr_setclock). */
struct timespec rs_time_abs_in(clockid_t clock, int64_t ms);

/* Milliseconds left until deadline, never negative; -1 stays -1. */
int64_t rs_time_left_ms(int64_t deadline);

/* The next step of an exponential back-off: first when cur is 0,
 * else cur doubled, never above max. */
int64_t rs_time_backoff_next(int64_t cur, int64_t first, int64_t max);

/* One wait of a retry loop: sleeps *step_ms (cut to what is left before
 * deadline, which must not be -1), then doubles *step_ms up to max_ms.
 * Returns false, without sleeping, once the deadline has passed. */
bool rs_time_backoff_sleep(int64_t *step_ms, int64_t max_ms, int64_t deadline);

#endif
