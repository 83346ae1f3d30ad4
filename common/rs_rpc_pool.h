/* A bounded pool of rs_rpc clients shared by the threads of one process
 * (the gateways' HTTP threads, the admin API's): a thread borrows a client
 * for one call and gives it back, so broker connections stay at most
 * `size` however many HTTP threads there are (512 by default). Idle
 * clients stay alive through rs_mq's keepalive, so nothing is recycled. */
#ifndef RS_RPC_POOL_H
#define RS_RPC_POOL_H

#include "rideshare.pb-c.h"
#include "rs_rpc.h"

typedef struct rs_rpc_pool rs_rpc_pool;

/* Default size: RIDESHARE_RPC_POOL (1..1024), else this. A call holds a
 * client for one round trip (~1 ms), so 32 cover tens of thousands of
 * calls per second. */
#define RS_RPC_POOL_DEFAULT 32

/* Creates a pool of up to size clients for target_queue on amqp_url
 * (both copied); clients connect lazily, each waiting at most
 * connect_wait_ms. RS_OK or RS_ENOMEM. */
int rs_rpc_pool_create(const char *amqp_url, const char *target_queue,
    int size, int connect_wait_ms, rs_rpc_pool **out);
/* Destroys every client; no call may be in flight. */
void rs_rpc_pool_destroy(rs_rpc_pool *p);

/* rs_rpc_call on a borrowed client (waits while all are busy). A client
 * whose call failed with RS_ECONN or RS_EPROTO is dropped and a new one
 * made next time. Same results as rs_rpc_call, plus the connect errors. */
int rs_rpc_pool_call(rs_rpc_pool *p, const Rideshare__DbRequest *req,
    int timeout_ms, Rideshare__DbResponse **resp);
/* rs_rpc_call_resend on a borrowed client (both sends and both answers
 * on that one client, so the first answer wins). */
int rs_rpc_pool_call_resend(rs_rpc_pool *p, Rideshare__DbRequest *req,
    int timeout_ms, rs_rpc_resend *rs, Rideshare__DbResponse **resp);

#endif
