/* Read replies waiting for the orchestrator's commit_seq (docs/
 * orchestrator.md "A fresh read never precedes a stale one"): a slave that
 * computed a reply at applied seq a sends it only once it knows
 * commit_seq >= a, or once it has been held for the bound. FIFO: seq and
 * hold time never decrease along the queue, since applied_seq and time only
 * grow, so releasing is popping from the front. Pure (held_test.c). */
#ifndef RS_WORKER_HELD_H
#define RS_WORKER_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_worker_held_reply {
	struct rs_worker_held_reply *next;
	uint64_t seq; /* applied_seq the answer was computed at */
	uint64_t tag; /* the readQ delivery, acked once the reply is out */
	int64_t since; /* monotonic ms when held */
	char reply_to[256];
	char *request_id; /* points into body's allocation */
	size_t len;
	uint8_t body[]; /* packed DbResponse, then request_id */
} rs_worker_held_reply;

typedef struct rs_worker_held {
	rs_worker_held_reply *head, *tail;
} rs_worker_held;

#define RS_WORKER_HELD_INIT \
	{                   \
		NULL, NULL  \
	}

/* Queues a copy of body (len bytes, a packed DbResponse computed at seq)
 * with its delivery tag, reply address and request id. RS_ENOMEM: nothing
 * queued (the caller sends it at once instead). */
int rs_worker_held_add(rs_worker_held *q, uint64_t seq, uint64_t tag,
    int64_t now, const char *reply_to, const char *request_id,
    const uint8_t *body, size_t len);

/* Removes the front reply when commit_seq covers it (known_commit >= its
 * seq) or it was held for hold_ms by now; *late tells which. The caller
 * sends it and frees it with free(). NULL when the front must wait. */
rs_worker_held_reply *rs_worker_held_pop_ready(rs_worker_held *q,
    uint64_t known_commit, int64_t now, int hold_ms, bool *late);

/* Removes the front reply whatever its seq (giving replies back); NULL
 * when empty. Free with free(). */
rs_worker_held_reply *rs_worker_held_pop(rs_worker_held *q);

#endif
