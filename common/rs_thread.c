/* Start/stop/join of a component's background thread (rs_thread.h). */
#include "rs_thread.h"

#include "rs_err.h"

int
rs_thread_start(rs_thread *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(&t->id, NULL, fn, arg) != 0)
		return RS_ENOMEM;
	t->started = true;
	return RS_OK;
}

void
rs_thread_join(rs_thread *t)
{
	if (!t->started)
		return;
	pthread_join(t->id, NULL);
	t->started = false;
}

void
rs_thread_stop(rs_thread *t)
{
	rs_thread_ask_stop(t);
	rs_thread_join(t);
}
