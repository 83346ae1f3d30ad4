/* The gateways' side of the database RPC: the HTTP threads share the
 * process's one multiplexed client (common/rs_rpc_mux.h: one connection,
 * calls in flight together go out as one RequestBatch message), or with
 * RIDESHARE_RPC_MUX=0 a bounded pool of rs_rpc clients (common/rs_rpc_pool.h,
 * RIDESHARE_RPC_POOL); every call gets a fresh request_id, and transport
 * failures become HTTP errors: timeout -> 504, broker unreachable -> 503,
 * an undecodable reply -> 502. */
#ifndef RS_GW_RPC_H
#define RS_GW_RPC_H

#include "rideshare.pb-c.h"
#include "rs_http.h"

/* Stores the broker URL, target queue and timeout (copied), starts the
 * client (RIDESHARE_RPC_MUX, default 1: multiplexed; 0: pool) and
 * registers the RPC metrics. Call once at start, before the HTTP server
 * starts. */
void rs_gw_rpc_init(const char *amqp_url, const char *queue, int timeout_ms);

/* Default RIDESHARE_READ_RETRY_MS: a read unanswered this long is sent
 * once more, to another slave (a hung slave costs a read about this much,
 * not the RPC timeout). */
#define RS_GW_READ_RETRY_MS 200

/* rs_gw_rpc_init with RIDESHARE_AMQP_URL, queue RS_Q_ORCHESTRATOR,
 * RIDESHARE_RPC_TIMEOUT_MS and RIDESHARE_READ_RETRY_MS (0 = never retry;
 * exits 2 on a bad value). */
void rs_gw_rpc_init_from_env(void);

/* Headers of the consistency API (docs/gateway.md "Consistency"). */
#define RS_GW_HDR_SEQ             "X-RideShare-Seq"
#define RS_GW_HDR_MIN_SEQ         "X-RideShare-Min-Seq"
#define RS_GW_HDR_CONSISTENCY     "X-RideShare-Consistency"
#define RS_GW_HDR_IDEMPOTENCY_KEY "Idempotency-Key"
#define RS_GW_IDEMPOTENCY_KEY_MAX 128

/* Sends req (an empty request_id is replaced by a fresh id, a set one is
 * kept and restored; http_rid, if not NULL, is logged with it) on the
 * shared client. A read unanswered after RIDESHARE_READ_RETRY_MS is sent
 * once more with the same id, marked resend with a routing hint
 * (rs_gw_resend.h), within the same timeout; the first answer wins, the
 * other is dropped (rideshare_gw_read_duplicates_dropped_total). RS_OK and
 * *resp (free with rideshare__db_response__free_unpacked), or
 * RS_ETIMEDOUT, RS_ECONN, RS_EPROTO, RS_ENOMEM. */
int rs_gw_rpc_call(Rideshare__DbRequest *req, const char *http_rid,
    Rideshare__DbResponse **resp);

/* X-RideShare-Min-Seq and X-RideShare-Consistency of hreq. RS_OK and
 * *min_seq (0 when absent), *level (LINEARIZABLE when absent); RS_EINVAL
 * after answering 400 for a malformed value. */
int rs_gw_req_consistency(
    rs_http_req *hreq, uint64_t *min_seq, Rideshare__Consistency *level);

/* rs_gw_rpc_call for an HTTP handler. Reads carry hreq's Min-Seq and
 * Consistency; a write with an Idempotency-Key gets the request_id and
 * fingerprint derived from it. A bad header: 400 answered, RS_EINVAL. On
 * a transport failure it answers hreq itself (503/504/502 with a JSON
 * error) and returns the error; on RS_OK it has added X-RideShare-Seq
 * (resp->seq) and the caller owns *resp and must answer. */
int rs_gw_call(rs_http_req *hreq, Rideshare__DbRequest *req,
    Rideshare__DbResponse **resp);

/* Default HTTP status for a DbResponse status: OK 200, NOT_FOUND 404,
 * ALREADY_EXISTS 400, INVALID 400, UNAVAILABLE 503, MISMATCH 422,
 * INTERNAL and anything unknown 500. Handlers override the cases API.md
 * defines otherwise. */
int rs_gw_status_http(int status);

/* HTTP status for a transport error of rs_gw_rpc_call: RS_ETIMEDOUT 504,
 * RS_EPROTO 502, anything else 503. */
int rs_gw_rpc_err_http(int err);

/* Answers hreq with rs_gw_status_http(resp->status) and {"error": ...}
 * (resp->error, or the status name when empty). */
void rs_gw_reply_db_error(
    rs_http_req *hreq, const Rideshare__DbResponse *resp);

/* Closes every client (at shutdown, once the HTTP server stopped). */
void rs_gw_rpc_fini(void);

#endif
