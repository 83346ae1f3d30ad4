/* The stop signal with interruptible sleeps (rs_stop.h). */
#include "rs_stop.h"

#include "rs_time.h"

#include <errno.h>
#include <time.h>

void
rs_stop_init(rs_stop *s)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&s->set, false);
}

void
rs_stop_fini(rs_stop *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

void
rs_stop_signal(rs_stop *s)
{
	/* Under the mutex: a sleeper between its check and its wait cannot
	 * miss the broadcast. */
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->set, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

bool
rs_stop_signalled(rs_stop *s)
{
	return atomic_load(&s->set);
}

bool
rs_stop_sleep_ms(rs_stop *s, int64_t ms)
{
	struct timespec until = rs_time_abs_in(CLOCK_MONOTONIC, ms);

	pthread_mutex_lock(&s->mu);
	while (!atomic_load(&s->set)
	    && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->mu);
	return !atomic_load(&s->set);
}
