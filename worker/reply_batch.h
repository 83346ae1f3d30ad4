/* Read replies a slave produced in one step (one readQ delivery; one
 * release pass of parked and held reads), sent as one message per reply
 * address (docs/replication.md "Read batches"): a lone reply as the plain
 * DbResponse (correlation id = its request_id), 2..RS_RESPONSE_BATCH_MAX
 * replies as one ResponseBatch (content type RS_CT_RESPONSE_BATCH) whose
 * receiver matches each by request_id. Nothing waits for a batch to fill:
 * the caller drains what it gathered at the end of the step. Pure
 * (reply_batch_test.c): the caller publishes each message and settles the
 * deliveries of the replies in it. */
#ifndef RS_WORKER_REPLY_BATCH_H
#define RS_WORKER_REPLY_BATCH_H

#include "rs_contract.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A batch stops growing before its body would pass this many bytes (a
 * reply bigger than that still goes, alone): bounds one message whatever
 * the listings weigh. */
#define RS_WORKER_REPLY_BATCH_BYTES (1024 * 1024)

typedef struct rs_worker_reply {
	uint64_t tag; /* the readQ delivery, settled once the reply is out */
	char reply_to[RS_REPLY_TO_MAX + 1];
	char *request_id; /* points into body's allocation */
	size_t len;
	uint8_t body[]; /* packed DbResponse (len bytes), then request_id */
} rs_worker_reply;

typedef struct rs_worker_replies {
	rs_worker_reply **items; /* in the order gathered */
	rs_worker_reply **scratch; /* cap entries, for regrouping */
	size_t n, cap;
	size_t sent; /* items[0..sent) were handed out by _next */
	uint8_t *buf; /* the last batch's body */
	size_t buf_cap;
} rs_worker_replies;

#define RS_WORKER_REPLIES_INIT               \
	{                                    \
		NULL, NULL, 0, 0, 0, NULL, 0 \
	}

/* One message to publish to reply_to: body/len with correlation_id
 * (NULL for a batch) and content_type (NULL: a plain DbResponse). The
 * replies it carries are replies[0..n), in the order they were gathered.
 * Everything points into g; valid until the next call on g. */
typedef struct rs_worker_reply_msg {
	const char *reply_to;
	const char *correlation_id;
	const char *content_type;
	const uint8_t *body;
	size_t len;
	rs_worker_reply *const *replies;
	size_t n;
} rs_worker_reply_msg;

/* Gathers a reply of len bytes for reply_to (truncated to RS_REPLY_TO_MAX)
 * answering request_id, from delivery tag. Returns where the caller
 * writes the len bytes of the packed DbResponse (owned by g); NULL on
 * RS_ENOMEM (nothing gathered). */
uint8_t *rs_worker_replies_add(rs_worker_replies *g, uint64_t tag,
    const char *reply_to, const char *request_id, size_t len);

/* Hands out the next message: the oldest reply not handed out yet and
 * the later ones for the same address (at most RS_RESPONSE_BATCH_MAX,
 * RS_WORKER_REPLY_BATCH_BYTES), packed as one ResponseBatch when more
 * than one (a lone reply when the batch's buffer cannot be had). false
 * when every reply was handed out. */
bool rs_worker_replies_next(rs_worker_replies *g, rs_worker_reply_msg *m);

/* The replies not handed out yet: *out = their array (valid until the
 * next call on g); returns how many. */
size_t rs_worker_replies_unsent(
    const rs_worker_replies *g, rs_worker_reply *const **out);

/* Forgets every gathered reply (handed out or not); g is empty and
 * reusable. */
void rs_worker_replies_clear(rs_worker_replies *g);
/* Frees everything g holds. */
void rs_worker_replies_fini(rs_worker_replies *g);

#endif
