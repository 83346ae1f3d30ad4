/* A stop signal that also cuts sleeps short: the orchestrator's change
 * feed streams and its backup schedule each sleep between rounds and must
 * wake at once when the orchestrator stops. One home for the mutex +
 * condition variable + flag each of them kept. */
#ifndef RS_STOP_H
#define RS_STOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rs_stop {
	pthread_mutex_t mu;
	pthread_cond_t
	    cv; /* CLOCK_MONOTONIC: wall-clock steps do not matter */
	atomic_bool set;
} rs_stop;

/* Not signalled. Pair with rs_stop_fini. */
void rs_stop_init(rs_stop *s);
void rs_stop_fini(rs_stop *s);

/* Signals stop (for good) and wakes every rs_stop_sleep_ms. */
void rs_stop_signal(rs_stop *s);

/* True once rs_stop_signal was called. */
bool rs_stop_signalled(rs_stop *s);

/* Sleeps ms milliseconds unless stop is signalled meanwhile (or was
 * already). Returns true after a full sleep, false once signalled. */
bool rs_stop_sleep_ms(rs_stop *s, int64_t ms);

#endif
