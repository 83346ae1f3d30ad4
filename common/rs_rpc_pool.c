#include "rs_rpc_pool.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_rpc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	rs_rpc *rpc; /* NULL until first used, or after a transport failure */
	bool busy;
};

struct rs_rpc_pool {
	pthread_mutex_t mu;
	pthread_cond_t freed;
	char *url, *queue;
	int connect_wait_ms;
	int size;
	struct slot slots[];
};

int
rs_rpc_pool_create(const char *amqp_url, const char *target_queue, int size,
    int connect_wait_ms, rs_rpc_pool **out)
{
	rs_rpc_pool *p;

	if (size < 1)
		size = 1;
	p = calloc(1, sizeof(*p) + (size_t) size * sizeof(p->slots[0]));
	if (p == NULL || (p->url = strdup(amqp_url)) == NULL
	    || (p->queue = strdup(target_queue)) == NULL) {
		if (p != NULL)
			free(p->url);
		free(p);
		return RS_ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->size = size;
	p->connect_wait_ms = connect_wait_ms;
	*out = p;
	return RS_OK;
}

void
rs_rpc_pool_destroy(rs_rpc_pool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->size; i++)
		rs_rpc_destroy(p->slots[i].rpc);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->mu);
	free(p->url);
	free(p->queue);
	free(p);
}

/* A free slot, marked busy; prefers one with a live client. */
static struct slot *
borrow(rs_rpc_pool *p)
{
	struct slot *s = NULL;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (int i = 0; i < p->size; i++) {
			if (p->slots[i].busy)
				continue;
			if (s == NULL || (s->rpc == NULL && p->slots[i].rpc))
				s = &p->slots[i];
		}
		if (s != NULL)
			break;
		pthread_cond_wait(&p->freed, &p->mu);
	}
	s->busy = true;
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void
give_back(rs_rpc_pool *p, struct slot *s)
{
	pthread_mutex_lock(&p->mu);
	s->busy = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->mu);
}

/* rs_rpc_pool_call, and with rs != NULL rs_rpc_pool_call_resend. */
static int
pool_call(rs_rpc_pool *p, Rideshare__DbRequest *req, int timeout_ms,
    rs_rpc_resend *rs, Rideshare__DbResponse **resp)
{
	struct slot *s = borrow(p);
	int rc = RS_OK;

	/* The slot is ours alone while busy: its client is used outside
	 * the lock, by one thread at a time. */
	if (s->rpc == NULL) {
		rc = rs_rpc_create(p->url, p->queue,
		    timeout_ms < p->connect_wait_ms ? timeout_ms
		                                    : p->connect_wait_ms,
		    &s->rpc);
		if (rc != RS_OK) {
			s->rpc = NULL;
			rs_warn(req->request_id,
			    "event=rpc_connect_failed err=%s",
			    rs_strerror(rc));
		}
	}
	if (rc == RS_OK)
		rc = rs != NULL
		    ? rs_rpc_call_resend(s->rpc, req, timeout_ms, rs, resp)
		    : rs_rpc_call(s->rpc, req, timeout_ms, resp);
	if (rc == RS_ECONN || rc == RS_EPROTO) {
		rs_rpc_destroy(s->rpc);
		s->rpc = NULL;
	}
	give_back(p, s);
	return rc;
}

int
rs_rpc_pool_call(rs_rpc_pool *p, const Rideshare__DbRequest *req,
    int timeout_ms, Rideshare__DbResponse **resp)
{
	/* Without a resend nothing edits req. */
	return pool_call(
	    p, (Rideshare__DbRequest *) req, timeout_ms, NULL, resp);
}

int
rs_rpc_pool_call_resend(rs_rpc_pool *p, Rideshare__DbRequest *req,
    int timeout_ms, rs_rpc_resend *rs, Rideshare__DbResponse **resp)
{
	return pool_call(p, req, timeout_ms, rs, resp);
}
