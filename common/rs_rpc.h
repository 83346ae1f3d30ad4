/* Request/response over RabbitMQ: publish a DbRequest to a queue (normally
 * RS_Q_ORCHESTRATOR) and wait for the DbResponse on direct reply-to, matched
 * by correlation id = request_id. One rs_rpc per thread. A late reply to an
 * earlier, timed-out call is discarded. On a lost connection the call
 * reconnects and resends once: safe for writes because the master dedupes
 * by request_id. */
#ifndef RS_RPC_H
#define RS_RPC_H

#include "rideshare.pb-c.h"

typedef struct rs_rpc rs_rpc;

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

#endif
