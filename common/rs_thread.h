/* A component's own background thread (the router's consumer, the
 * supervisor's and the retirer's loops, the orchestrator's status reader,
 * a worker's notice publisher): started once, told to stop through a flag
 * its loop polls, joined by the owner. One home for the start/stop/join
 * bookkeeping those components each kept (a pthread_t, a started flag,
 * an atomic stop flag), so that a destroy on a half-made component (its
 * thread never started) is safe everywhere in the same way. */
#ifndef RS_THREAD_H
#define RS_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Zero-initialised (calloc, = { 0 }) means "not started, not stopping". */
typedef struct rs_thread {
	pthread_t id;
	bool started; /* owner's view; only the owner's thread touches it */
	atomic_bool stop; /* set by the owner, polled by fn's loop */
} rs_thread;

/* Runs fn(arg) on a new thread. RS_OK, or RS_ENOMEM when the thread
 * cannot be created (t stays not started). */
int rs_thread_start(rs_thread *t, void *(*fn)(void *), void *arg);

/* True once the owner asked the thread to stop: fn's loop condition
 * (inline: it is polled on every turn of the loop). */
static inline bool
rs_thread_stopping(rs_thread *t)
{
	return atomic_load(&t->stop);
}

/* Asks the thread to stop without waiting (the caller may then wake it,
 * e.g. from a condition wait, before rs_thread_join). */
static inline void
rs_thread_ask_stop(rs_thread *t)
{
	atomic_store(&t->stop, true);
}

/* Waits for the thread to end when it was started; a no-op otherwise or
 * when already joined. Does not ask it to stop. */
void rs_thread_join(rs_thread *t);

/* rs_thread_ask_stop, then rs_thread_join. */
void rs_thread_stop(rs_thread *t);

#endif
