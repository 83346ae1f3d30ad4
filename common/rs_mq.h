/* RabbitMQ (librabbitmq 0.11) helper: one AMQP connection with one channel.
 *
 * One owner thread per rs_mq. Every call holds the object's lock, so that a
 * process-wide keepalive thread can service a connection whose owner makes
 * no call (heartbeats, frames that arrive; see docs/common.md): idle
 * connections stay alive, and one the broker dropped or that went silent
 * fails the next call at once. A process that both consumes and publishes
 * with confirms uses two rs_mq objects (confirm frames would otherwise
 * interleave with deliveries). Any call may return RS_ECONN when the
 * connection or channel died; the owner then destroys the object,
 * reconnects (rs_mq_connect_retry) and re-declares what it needs. */
#ifndef RS_MQ_H
#define RS_MQ_H

#include "rs_contract.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_mq rs_mq;
struct ProtobufCMessage; /* protobuf-c's; for rs_mq_publish_pb */

/* Queue declaration flags. */
#define RS_MQ_DURABLE    0x01 /* survives broker restart */
#define RS_MQ_EXCLUSIVE  0x02 /* owned by this connection */
#define RS_MQ_AUTODELETE 0x04 /* deleted when the last consumer goes */
#define RS_MQ_SAC        0x08 /* x-single-active-consumer */
#define RS_MQ_DLX        0x10 /* rejected messages go to exchange rideshare.dlx */
#define RS_MQ_EXPIRES \
	0x20 /* x-expires RS_MQ_QUEUE_EXPIRES_MS: dropped when unused */

/* How long an unused queue declared with RS_MQ_EXPIRES lives (ms): the
 * safety net for a dead slave's sync.<id> queue, which the orchestrator
 * normally deletes at once (docs/replication.md "Retiring a copy"). One
 * hour: a slave cut off from the broker for longer re-snapshots anyway. */
#define RS_MQ_QUEUE_EXPIRES_MS 3600000

#define RS_MQ_DLX_EXCHANGE RS_X_DEAD
#define RS_MQ_DEAD_QUEUE   RS_Q_DEAD
#define RS_MQ_DIRECT_REPLY "amq.rabbitmq.reply-to"
/* The orchestrator's commit_seq announcements (docs/conventions.md): body
 * "<commit_seq>" in decimal; every slave binds a queue of its own. */
#define RS_MQ_COMMIT_EXCHANGE RS_X_COMMIT

/* Message properties for publishing. NULL strings are left out. */
typedef struct rs_mq_props {
	const char *correlation_id;
	const char *reply_to;
	bool persistent; /* delivery_mode 2 */
	const char *content_type; /* NULL: "application/x-protobuf" */
} rs_mq_props;

/* A received message. Fields point into memory owned by the rs_mq object
 * and stay valid until rs_mq_msg_release() or the next rs_mq_next/get. */
typedef struct rs_mq_msg {
	uint64_t delivery_tag;
	const void *body;
	size_t len;
	const char *reply_to; /* "" when absent */
	const char *correlation_id; /* "" when absent */
	const char *consumer_tag; /* "" for basic.get */
	const char *content_type; /* "" when absent */
	bool redelivered;
	void *priv_; /* internal */
} rs_mq_msg;

/* Connects to url (amqp://user:pass@host:port[/vhost], or a comma-separated
 * list of such URLs: the nodes of a cluster, tried in order), opens channel 1.
 * name appears in the broker's connection list. */
int rs_mq_connect(const char *url, const char *name, rs_mq **out);

/* Like rs_mq_connect, retrying with exponential back-off (50 ms .. 1 s)
 * until it succeeds or max_wait_ms passes (RS_ETIMEDOUT). */
int rs_mq_connect_retry(
    const char *url, const char *name, int max_wait_ms, rs_mq **out);

/* Closes the channel and connection (best effort) and frees mq, after a
 * keepalive visit in progress ends. Unreturned deliveries go back to
 * their queues (unacked) or are dropped (no_ack). NULL ok. */
void rs_mq_destroy(rs_mq *mq);

/* Declares the dead-letter exchange + queue, then queue with flags. */
int rs_mq_declare_queue(rs_mq *mq, const char *queue, unsigned flags);
int rs_mq_declare_fanout(rs_mq *mq, const char *exchange);
/* Idempotently declares the whole topology of docs/conventions.md with its
 * fixed arguments: rideshare.dlx + rideshare.dead, the durable queues
 * orchestrator, writeQ (single active consumer), readQ, responseQ (all four
 * dead-lettering to rideshare.dlx) and the durable fanouts syncX and
 * commitX. */
int rs_mq_declare_topology(rs_mq *mq);
int rs_mq_bind(rs_mq *mq, const char *queue, const char *exchange);
int rs_mq_delete_queue(rs_mq *mq, const char *queue);
/* Number of ready messages in queue (passive declare); RS_ENOTFOUND if none.
 */
int rs_mq_queue_depth(
    rs_mq *mq, const char *queue, uint32_t *messages, uint32_t *consumers);

int rs_mq_qos(rs_mq *mq, uint16_t prefetch);
/* Puts the channel in confirm mode; later publishes are counted. */
int rs_mq_confirm_select(rs_mq *mq);

int rs_mq_publish(rs_mq *mq, const char *exchange, const char *routing_key,
    const void *body, size_t len, const rs_mq_props *props);
/* rs_mq_publish of msg (a protobuf-c message) packed into a buffer of its
 * own, freed before it returns: RS_ENOMEM when that cannot be had. */
int rs_mq_publish_pb(rs_mq *mq, const char *exchange, const char *routing_key,
    const struct ProtobufCMessage *msg, const rs_mq_props *props);
/* Waits until every publish so far is confirmed. RS_EMQ on a nack,
 * RS_ETIMEDOUT after timeout_ms. Only on a confirm-mode rs_mq without
 * consumers. */
int rs_mq_wait_confirms(rs_mq *mq, int timeout_ms);

/* Starts consuming queue. tag_out (may be NULL) receives the server's
 * consumer tag (size >= 256). no_ack: auto-acknowledge. */
int rs_mq_consume(rs_mq *mq, const char *queue, bool no_ack, char *tag_out);
int rs_mq_cancel(rs_mq *mq, const char *consumer_tag);

/* Waits up to timeout_ms (0 = poll, -1 = forever) for the next delivery.
 * RS_ETIMEDOUT when none came. */
int rs_mq_next(rs_mq *mq, int timeout_ms, rs_mq_msg *out);
/* basic.get: one message or RS_ENOTFOUND when the queue is empty. */
int rs_mq_get(rs_mq *mq, const char *queue, bool no_ack, rs_mq_msg *out);
void rs_mq_msg_release(rs_mq *mq, rs_mq_msg *msg);

int rs_mq_ack(rs_mq *mq, uint64_t delivery_tag, bool multiple);
/* Rejects without requeue: with RS_MQ_DLX the broker dead-letters it. */
int rs_mq_reject(rs_mq *mq, uint64_t delivery_tag, bool requeue);

/* Socket fd, for poll(2) together with other event sources. The keepalive
 * may read deliveries off it while the owner is away: check
 * rs_mq_has_buffered before waiting on the fd. */
int rs_mq_fd(rs_mq *mq);
/* True when read but unreturned deliveries or frames are waiting (poll on
 * the fd would miss them). */
bool rs_mq_has_buffered(rs_mq *mq);

#endif
