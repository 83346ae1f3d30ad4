/* The process-wide multiplexed RPC client (docs/gateway.md "Batched
 * calls"): every thread of a process submits its DbRequest to one client,
 * which owns ONE AMQP connection (direct reply-to) and ONE I/O thread. The
 * I/O thread publishes everything submitted since it last looked in one
 * go: a single call as the plain DbRequest (correlation id = request_id,
 * as rs_rpc sends it), 2..RS_REQUEST_BATCH_MAX calls as one RequestBatch
 * message (RS_CT_REQUEST_BATCH), so that the broker, whose CPU per message
 * is the largest cost of a request (docs/performance.md), handles one
 * message for all of them. Nothing waits for a batch to fill: a quiet
 * process sends each call alone and at once.
 *
 * Replies come as plain DbResponses (correlated by correlation id) or as
 * ResponseBatch messages (RS_CT_RESPONSE_BATCH, each entry by its
 * request_id); each goes to the oldest waiting call with that id. A reply
 * for no waiting call (late, or the second answer of a resent read) is
 * dropped and counted (rs_rpc_mux_dropped_replies). An undecodable plain
 * reply fails its call with RS_EPROTO; an undecodable batch names no call,
 * so it is logged and counted and its calls time out.
 *
 * Waking: the I/O thread poll()s the AMQP socket and an eventfd together.
 * A submitter writes the eventfd only when the thread is (about to be)
 * asleep in poll, so a busy process pays no syscall per call, and a call
 * never waits for a timer. Frames librabbitmq has already read but not
 * handed out (rs_mq_has_buffered) are consumed before sleeping, since
 * poll would not see them. The thread also wakes every RS_RPC_MUX_TICK_MS
 * to read the socket, so that librabbitmq sends its heartbeats and rs_mq's
 * keepalive thread never has to visit the connection (its visit could
 * read a reply behind poll's back).
 *
 * Lost connection: the I/O thread reconnects and sends every call still
 * waiting once more (same request_id: the master dedupes writes, reads are
 * idempotent); a call whose connection is lost a second time fails with
 * RS_ECONN, as with rs_rpc. When the broker cannot be reached every
 * waiting call fails with RS_ECONN; the next submission tries again. */
#ifndef RS_RPC_MUX_H
#define RS_RPC_MUX_H

#include "rideshare.pb-c.h"
#include "rs_rpc.h"

#include <stdint.h>

typedef struct rs_rpc_mux rs_rpc_mux;

/* How often (ms) an idle I/O thread reads the socket anyway. */
#define RS_RPC_MUX_TICK_MS 200

/* Starts the I/O thread, which connects to amqp_url (both strings copied)
 * in the background, each attempt waiting at most connect_wait_ms. RS_OK
 * and *out, or RS_EINVAL, RS_ENOMEM (no thread, no eventfd). */
int rs_rpc_mux_create(const char *amqp_url, const char *target_queue,
    int connect_wait_ms, rs_rpc_mux **out);
/* Stops the I/O thread, closes the connection and frees m (NULL ok). No
 * call may be in flight. */
void rs_rpc_mux_destroy(rs_rpc_mux *m);

/* rs_rpc_call through the shared connection, from any thread: req
 * (request_id set) is packed at once; blocks up to timeout_ms. RS_OK and
 * *resp (caller frees with rideshare__db_response__free_unpacked), or
 * RS_ETIMEDOUT (no answer; RS_ECONN instead when the client had no
 * connection then), RS_ECONN, RS_EPROTO, RS_ENOMEM, RS_EINVAL. */
int rs_rpc_mux_call(rs_rpc_mux *m, const Rideshare__DbRequest *req,
    int timeout_ms, Rideshare__DbResponse **resp);
/* rs_rpc_call_resend through the shared connection: rs->prepare runs on
 * the calling thread; the resend goes out with the next publish; the
 * first answer wins and the other is dropped. rs->sent: the resend was
 * handed to the I/O thread. Only for reads. */
int rs_rpc_mux_call_resend(rs_rpc_mux *m, Rideshare__DbRequest *req,
    int timeout_ms, rs_rpc_resend *rs, Rideshare__DbResponse **resp);

/* Counters of one client, monotonic: messages published, of which
 * RequestBatch messages, and calls those batches carried. */
typedef struct rs_rpc_mux_stats {
	uint64_t published;
	uint64_t batches;
	uint64_t batched_calls;
} rs_rpc_mux_stats;
void rs_rpc_mux_get_stats(rs_rpc_mux *m, rs_rpc_mux_stats *out);

/* Replies dropped by this process's multiplexed clients because no call
 * waited for them any more (answered already, or timed out). Monotonic. */
uint64_t rs_rpc_mux_dropped_replies(void);

#endif
