/* Request/response over RabbitMQ: publish a DbRequest to a queue (normally
 * RS_Q_ORCHESTRATOR) and wait for the DbResponse on direct reply-to, matched
 * by correlation id = request_id, or inside a ResponseBatch reply (content
 * type RS_CT_RESPONSE_BATCH) by its request_id. One rs_rpc per thread. A late
 * reply to an earlier, timed-out call is discarded. On a lost connection the
 * call reconnects and resends once: safe for writes because the master dedupes
 * by request_id. */
#ifndef RS_RPC_H
#define RS_RPC_H

#include "rideshare.pb-c.h"
#include "rs_mq.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rs_rpc rs_rpc;

/* Opens the connection of an RPC client (this one and rs_rpc_mux):
 * connects to amqp_url, retrying for up to wait_ms milliseconds, under the
 * connection name name (shown by the broker); declares the topology, so
 * the target queue exists before the first request whoever starts first;
 * and consumes the direct reply-to pseudo-queue (no-ack), which RabbitMQ
 * requires before the first publish on the channel. On RS_OK *mq is the
 * caller's (rs_mq_destroy). RS_ECONN when no broker took the connection
 * within wait_ms; any other error of rs_mq's (declaring or consuming
 * failed) with nothing left open; *mq is set only on RS_OK. */
int rs_rpc_connect(
    const char *amqp_url, const char *name, int wait_ms, rs_mq **mq);

/* Connects (retrying up to connect_wait_ms) and starts consuming the direct
 * reply-to pseudo-queue. */
int rs_rpc_create(const char *amqp_url, const char *target_queue,
    int connect_wait_ms, rs_rpc **out);
void rs_rpc_destroy(rs_rpc *rpc);

/* Sends req (request_id must be set; it is used as correlation id) and
 * waits up to timeout_ms. On RS_OK *resp is owned by the caller: free with
 * rideshare__db_response__free_unpacked(*resp, NULL). RS_ETIMEDOUT when no
 * reply came, RS_ECONN when the broker is unreachable, RS_EPROTO when the
 * reply does not decode. */
int rs_rpc_call(rs_rpc *rpc, const Rideshare__DbRequest *req, int timeout_ms,
    Rideshare__DbResponse **resp);

/* One resend of a read (docs/gateway.md "A hung slave costs a read a
 * deadline"). */
typedef struct rs_rpc_resend {
	int after_ms; /* resend once when no answer came this long; <= 0 or
	               * >= the timeout: never */
	/* Called when the resend is due (may be NULL: send at once). true:
	 * send now (it may edit req, its routing hint, but must keep
	 * req->request_id); false: not yet, ask again after_ms later (while
	 * that is before the timeout). */
	bool (*prepare)(Rideshare__DbRequest *req, void *arg);
	void *arg;
	bool sent; /* out: the resend went out */
} rs_rpc_resend;

/* rs_rpc_call that sends req once more (same request_id, once
 * rs->prepare agrees) when no reply came within rs->after_ms, then waits for
 * the rest of timeout_ms for either answer: the first one wins; the
 * other one, when it comes, is dropped by a later call on this client
 * (rs_rpc_dropped_replies). Only for reads: a read changes nothing. */
int rs_rpc_call_resend(rs_rpc *rpc, Rideshare__DbRequest *req, int timeout_ms,
    rs_rpc_resend *rs, Rideshare__DbResponse **resp);

/* Replies dropped by this process's rs_rpc clients because their call
 * had already been answered (the second answer of a resent read) or had
 * timed out, each response of a ResponseBatch not for the call that
 * received it, and undecodable batches. Monotonic. */
uint64_t rs_rpc_dropped_replies(void);

#endif
