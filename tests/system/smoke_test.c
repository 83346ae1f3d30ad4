/* System smoke test: the common/ client helpers against real servers.
 *
 * Endpoints come from the environment that tests/with-stack.sh (or
 * ./rideshare up) exports: RIDESHARE_AMQP_URL, RIDESHARE_ZK_HOSTS,
 * RIDESHARE_PG_CONNINFO. Every name this test creates carries a random
 * suffix, so it can also run against a stack that is in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rideshare.pb-c.h"
#include "rs_contract.h"
#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_nng.h"
#include "rs_rpc.h"
#include "rs_zk.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *amqp_url;
static const char *zk_hosts;
static const char *pg_conninfo;
static char suffix[RS_ID_LEN + 1];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- RabbitMQ --------------------------------------------------------- */

/* A broker connection called name (connection_name), in confirm mode. */
static rs_mq *
connect_confirming(const char *name)
{
	rs_mq *mq = NULL;

	assert_int_equal(rs_mq_connect(amqp_url, name, &mq), RS_OK);
	assert_int_equal(rs_mq_confirm_select(mq), RS_OK);
	return mq;
}

static void
test_amqp_publish_with_confirms_then_consume(void **state)
{
	char queue[96], body[64], tag[256];
	rs_mq *pub, *sub;
	rs_mq_msg msg;
	rs_mq_props props = { .persistent = true, .correlation_id = "c-1" };
	uint32_t depth = 0, consumers = 99;

	(void) state;
	snprintf(queue, sizeof(queue), "smoke.confirm.%s", suffix);
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-pub", &pub), RS_OK);
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-sub", &sub), RS_OK);
	assert_int_equal(
	    rs_mq_declare_queue(pub, queue, RS_MQ_DURABLE | RS_MQ_DLX), RS_OK);
	assert_int_equal(rs_mq_confirm_select(pub), RS_OK);

	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "message %d", i);
		assert_int_equal(
		    rs_mq_publish(pub, "", queue, body, strlen(body), &props),
		    RS_OK);
	}
	assert_int_equal(rs_mq_wait_confirms(pub, 5000), RS_OK);
	/* Nothing outstanding: returns at once. */
	assert_int_equal(rs_mq_wait_confirms(pub, 0), RS_OK);
	assert_int_equal(
	    rs_mq_queue_depth(sub, queue, &depth, &consumers), RS_OK);
	assert_int_equal(depth, 5);
	assert_int_equal(consumers, 0);

	assert_int_equal(rs_mq_qos(sub, 10), RS_OK);
	assert_int_equal(rs_mq_consume(sub, queue, false, tag), RS_OK);
	assert_true(tag[0] != '\0');
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rs_mq_next(sub, 5000, &msg), RS_OK);
		snprintf(body, sizeof(body), "message %d", i);
		assert_int_equal(msg.len, strlen(body));
		assert_memory_equal(msg.body, body, msg.len);
		assert_string_equal(msg.correlation_id, "c-1");
		assert_string_equal(msg.reply_to, "");
		assert_string_equal(
		    msg.content_type, "application/x-protobuf");
		assert_string_equal(msg.consumer_tag, tag);
		assert_false(msg.redelivered);
		if (i == 4)
			assert_int_equal(
			    rs_mq_ack(sub, msg.delivery_tag, true), RS_OK);
		rs_mq_msg_release(sub, &msg);
	}
	assert_int_equal(rs_mq_next(sub, 100, &msg), RS_ETIMEDOUT);
	assert_int_equal(rs_mq_cancel(sub, tag), RS_OK);
	assert_int_equal(rs_mq_queue_depth(sub, queue, &depth, NULL), RS_OK);
	assert_int_equal(depth, 0);
	assert_int_equal(rs_mq_delete_queue(sub, queue), RS_OK);
	rs_mq_destroy(sub);
	rs_mq_destroy(pub);
}

static void
test_amqp_missing_queue_is_not_found_and_object_survives(void **state)
{
	char queue[96];
	rs_mq *mq;
	rs_mq_msg msg;

	(void) state;
	snprintf(queue, sizeof(queue), "smoke.missing.%s", suffix);
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-missing", &mq), RS_OK);
	assert_int_equal(
	    rs_mq_queue_depth(mq, queue, NULL, NULL), RS_ENOTFOUND);
	/* The working channel is untouched. */
	assert_int_equal(
	    rs_mq_declare_queue(mq, queue, RS_MQ_AUTODELETE), RS_OK);
	assert_int_equal(rs_mq_get(mq, queue, true, &msg), RS_ENOTFOUND);
	assert_int_equal(rs_mq_publish(mq, "", queue, "x", 1, NULL), RS_OK);
	for (int i = 0; i < 50; i++) {
		int rc = rs_mq_get(mq, queue, true, &msg);

		if (rc == RS_OK)
			break;
		assert_int_equal(rc, RS_ENOTFOUND);
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(msg.len, 1);
	assert_string_equal(msg.consumer_tag, "");
	rs_mq_msg_release(mq, &msg);
	assert_int_equal(rs_mq_delete_queue(mq, queue), RS_OK);
	rs_mq_destroy(mq);
}

static void
test_amqp_declare_mismatch_is_emq_and_channel_reopens(void **state)
{
	char queue[96];
	rs_mq *mq;

	(void) state;
	snprintf(queue, sizeof(queue), "smoke.mismatch.%s", suffix);
	mq = connect_confirming("smoke-mismatch");
	assert_int_equal(rs_mq_declare_queue(mq, queue, RS_MQ_DURABLE), RS_OK);
	/* Same name, other arguments: PRECONDITION_FAILED closes the channel.
	 */
	assert_int_equal(
	    rs_mq_declare_queue(mq, queue, RS_MQ_DURABLE | RS_MQ_SAC), RS_EMQ);
	/* A fresh channel, still in confirm mode. */
	assert_int_equal(rs_mq_publish(mq, "", queue, "y", 1, NULL), RS_OK);
	assert_int_equal(rs_mq_wait_confirms(mq, 5000), RS_OK);
	assert_int_equal(rs_mq_delete_queue(mq, queue), RS_OK);
	rs_mq_destroy(mq);
}

static void
test_amqp_topology_declares_idempotently(void **state)
{
	rs_mq *a, *b;
	uint32_t n;

	(void) state;
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-topo-a", &a), RS_OK);
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-topo-b", &b), RS_OK);
	assert_int_equal(rs_mq_declare_topology(a), RS_OK);
	assert_int_equal(rs_mq_declare_topology(b), RS_OK);
	assert_int_equal(rs_mq_declare_topology(a), RS_OK);
	assert_int_equal(rs_mq_queue_depth(b, RS_Q_WRITE, &n, NULL), RS_OK);
	assert_int_equal(
	    rs_mq_queue_depth(b, RS_Q_ORCHESTRATOR, &n, NULL), RS_OK);
	assert_int_equal(rs_mq_queue_depth(b, RS_Q_READ, &n, NULL), RS_OK);
	assert_int_equal(rs_mq_queue_depth(b, RS_Q_RESPONSE, &n, NULL), RS_OK);
	assert_int_equal(
	    rs_mq_queue_depth(b, RS_MQ_DEAD_QUEUE, &n, NULL), RS_OK);
	/* writeQ declared by hand with the same flags agrees. */
	assert_int_equal(rs_mq_declare_queue(b, RS_Q_WRITE,
	                     RS_MQ_DURABLE | RS_MQ_SAC | RS_MQ_DLX),
	    RS_OK);
	rs_mq_destroy(a);
	rs_mq_destroy(b);
}

static void
test_amqp_rejected_message_is_dead_lettered(void **state)
{
	char queue[96], body[96];
	rs_mq *mq;
	rs_mq_msg msg;
	bool found = false;
	int rc;

	(void) state;
	snprintf(queue, sizeof(queue), "smoke.dlx.%s", suffix);
	snprintf(body, sizeof(body), "undecodable %s", suffix);
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-dlx", &mq), RS_OK);
	assert_int_equal(rs_mq_declare_queue(mq, queue, RS_MQ_DLX), RS_OK);
	assert_int_equal(rs_mq_confirm_select(mq), RS_OK);
	assert_int_equal(
	    rs_mq_publish(mq, "", queue, body, strlen(body), NULL), RS_OK);
	assert_int_equal(rs_mq_wait_confirms(mq, 5000), RS_OK);
	assert_int_equal(rs_mq_get(mq, queue, false, &msg), RS_OK);
	assert_int_equal(rs_mq_reject(mq, msg.delivery_tag, false), RS_OK);
	rs_mq_msg_release(mq, &msg);

	/* Look for it among whatever else is in rideshare.dead; others stay
	 * unacked and go back when the connection closes. */
	for (int64_t end = now_ms() + 5000; !found && now_ms() < end;) {
		rc = rs_mq_get(mq, RS_MQ_DEAD_QUEUE, false, &msg);
		if (rc == RS_ENOTFOUND) {
			struct timespec ts = { 0, 20000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		assert_int_equal(rc, RS_OK);
		if (msg.len == strlen(body)
		    && memcmp(msg.body, body, msg.len) == 0) {
			found = true;
			assert_int_equal(
			    rs_mq_ack(mq, msg.delivery_tag, false), RS_OK);
		}
		rs_mq_msg_release(mq, &msg);
	}
	assert_true(found);
	assert_int_equal(rs_mq_delete_queue(mq, queue), RS_OK);
	rs_mq_destroy(mq);
}

/* Declares queue with x-max-length=1 and x-overflow=reject-publish on a
 * raw librabbitmq connection (rs_mq fixes its arguments on purpose): the
 * broker nacks every publish beyond the first. */
static void
declare_reject_publish_queue(const char *queue)
{
	struct amqp_connection_info ci;
	amqp_table_entry_t args[2];
	amqp_table_t t = { 2, args };
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(conn);
	char *url = strdup(amqp_url);

	assert_int_equal(amqp_parse_url(url, &ci), AMQP_STATUS_OK);
	if (ci.vhost[0] == '\0')
		ci.vhost = "/";
	assert_int_equal(amqp_socket_open(sock, ci.host, ci.port), 0);
	assert_int_equal(amqp_login(conn, ci.vhost, 0, 131072, 0,
	                     AMQP_SASL_METHOD_PLAIN, ci.user, ci.password)
	                     .reply_type,
	    AMQP_RESPONSE_NORMAL);
	amqp_channel_open(conn, 1);
	assert_int_equal(
	    amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
	args[0].key = amqp_cstring_bytes("x-max-length");
	args[0].value.kind = AMQP_FIELD_KIND_I32;
	args[0].value.value.i32 = 1;
	args[1].key = amqp_cstring_bytes("x-overflow");
	args[1].value.kind = AMQP_FIELD_KIND_UTF8;
	args[1].value.value.bytes = amqp_cstring_bytes("reject-publish");
	amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 0, 0, 0, t);
	assert_int_equal(
	    amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(conn);
	free(url);
}

static void
test_amqp_nacked_publish_is_emq(void **state)
{
	char queue[96];
	rs_mq *mq;

	(void) state;
	snprintf(queue, sizeof(queue), "smoke.nack.%s", suffix);
	declare_reject_publish_queue(queue);
	mq = connect_confirming("smoke-nack");
	assert_int_equal(rs_mq_publish(mq, "", queue, "1", 1, NULL), RS_OK);
	assert_int_equal(rs_mq_wait_confirms(mq, 5000), RS_OK);
	/* The queue is full: the broker refuses the next ones. */
	assert_int_equal(rs_mq_publish(mq, "", queue, "2", 1, NULL), RS_OK);
	assert_int_equal(rs_mq_publish(mq, "", queue, "3", 1, NULL), RS_OK);
	assert_int_equal(rs_mq_wait_confirms(mq, 5000), RS_EMQ);
	/* Reported once; the object goes on working. */
	assert_int_equal(rs_mq_wait_confirms(mq, 0), RS_OK);
	assert_int_equal(rs_mq_delete_queue(mq, queue), RS_OK);
	rs_mq_destroy(mq);
}

static void
test_amqp_publish_to_missing_exchange_kills_the_object(void **state)
{
	char exchange[96];
	rs_mq *mq;

	(void) state;
	snprintf(exchange, sizeof(exchange), "smoke.none.%s", suffix);
	mq = connect_confirming("smoke-no-exchange");
	assert_int_equal(
	    rs_mq_publish(mq, exchange, "k", "x", 1, NULL), RS_OK);
	/* The broker closes the channel (404) instead of confirming. */
	assert_int_equal(rs_mq_wait_confirms(mq, 5000), RS_ECONN);
	assert_int_equal(rs_mq_publish(mq, "", "k", "x", 1, NULL), RS_ECONN);
	assert_int_equal(rs_mq_declare_topology(mq), RS_ECONN);
	rs_mq_destroy(mq);
}

/* A stand-in for the orchestrator: answers each DbRequest on its reply_to,
 * first with a stray reply (wrong correlation id) the caller must skip. */
struct responder {
	char queue[96];
	rs_mq *mq;
	atomic_bool stop;
	int answered;
};

static void *
responder_main(void *arg)
{
	struct responder *r = arg;
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	Rideshare__DbRequest *req;
	uint8_t buf[512];
	rs_mq_msg msg;
	rs_mq_props props = { 0 };
	size_t n;

	while (!atomic_load(&r->stop)) {
		int rc = rs_mq_next(r->mq, 50, &msg);

		if (rc == RS_ETIMEDOUT)
			continue;
		if (rc != RS_OK)
			break;
		req = rideshare__db_request__unpack(NULL, msg.len, msg.body);
		if (req != NULL) {
			char reply_to[256];

			snprintf(
			    reply_to, sizeof(reply_to), "%s", msg.reply_to);
			resp.request_id = "someone-else";
			resp.status = RIDESHARE__STATUS__NOT_FOUND;
			n = rideshare__db_response__pack(&resp, buf);
			props.correlation_id = "someone-else";
			rs_mq_publish(r->mq, "", reply_to, buf, n, &props);

			resp.request_id = req->request_id;
			resp.status = RIDESHARE__STATUS__OK;
			resp.worker_id = "smoke-responder";
			n = rideshare__db_response__pack(&resp, buf);
			props.correlation_id = req->request_id;
			rs_mq_publish(r->mq, "", reply_to, buf, n, &props);
			rideshare__db_request__free_unpacked(req, NULL);
			r->answered++;
		}
		rs_mq_ack(r->mq, msg.delivery_tag, false);
		rs_mq_msg_release(r->mq, &msg);
	}
	return NULL;
}

static void
responder_start(struct responder *r, pthread_t *th, const char *name)
{
	snprintf(r->queue, sizeof(r->queue), "smoke.%s.%s", name, suffix);
	assert_int_equal(
	    rs_mq_connect(amqp_url, "smoke-responder", &r->mq), RS_OK);
	assert_int_equal(
	    rs_mq_declare_queue(r->mq, r->queue, RS_MQ_AUTODELETE), RS_OK);
	assert_int_equal(rs_mq_consume(r->mq, r->queue, false, NULL), RS_OK);
	assert_int_equal(pthread_create(th, NULL, responder_main, r), 0);
}

static int
responder_stop(struct responder *r, pthread_t th)
{
	atomic_store(&r->stop, true);
	pthread_join(th, NULL);
	rs_mq_destroy(r->mq);
	return r->answered;
}

static void
call_count_rides(rs_rpc *rpc)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__CountRides count = RIDESHARE__COUNT_RIDES__INIT;
	Rideshare__DbResponse *resp = NULL;
	char rid[RS_ID_LEN + 1];

	rs_id_new(rid);
	req.request_id = rid;
	req.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	req.count_rides = &count;
	assert_int_equal(rs_rpc_call(rpc, &req, 5000, &resp), RS_OK);
	assert_string_equal(resp->request_id, rid);
	assert_int_equal(resp->status, RIDESHARE__STATUS__OK);
	assert_string_equal(resp->worker_id, "smoke-responder");
	rideshare__db_response__free_unpacked(resp, NULL);
}

static void
test_rpc_round_trip_skips_stray_replies(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse *resp = NULL;
	struct responder r = { 0 };
	pthread_t th;
	rs_rpc *rpc;

	(void) state;
	responder_start(&r, &th, "rpc");
	assert_int_equal(rs_rpc_create(amqp_url, r.queue, 5000, &rpc), RS_OK);
	for (int i = 0; i < 3; i++)
		call_count_rides(rpc);
	/* No request id: refused before anything is sent. */
	req.request_id = "";
	assert_int_equal(rs_rpc_call(rpc, &req, 100, &resp), RS_EINVAL);
	rs_rpc_destroy(rpc);
	assert_int_equal(responder_stop(&r, th), 3);
}

/* Marks in is_sock[] the fds of this process that are sockets. */
static void
socket_fds(bool is_sock[1024])
{
	char path[64], target[128];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	memset(is_sock, 0, 1024 * sizeof(bool));
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		ssize_t n;

		if (e->d_name[0] == '.' || fd < 0 || fd >= 1024)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			is_sock[fd] = strncmp(target, "socket:", 7) == 0;
		}
	}
	closedir(d);
}

static void
test_rpc_reconnects_and_resends_after_connection_loss(void **state)
{
	static bool before[1024], after[1024];
	struct responder r = { 0 };
	int cut = 0;
	pthread_t th;
	rs_rpc *rpc;

	(void) state;
	responder_start(&r, &th, "resend");
	socket_fds(before);
	assert_int_equal(rs_rpc_create(amqp_url, r.queue, 5000, &rpc), RS_OK);
	socket_fds(after);
	call_count_rides(rpc);
	/* Cut the client's own AMQP socket, as a broker restart would. */
	for (int fd = 0; fd < 1024; fd++) {
		if (after[fd] && !before[fd]) {
			assert_int_equal(shutdown(fd, SHUT_RDWR), 0);
			cut++;
		}
	}
	assert_int_equal(cut, 1);
	call_count_rides(rpc);
	call_count_rides(rpc);
	rs_rpc_destroy(rpc);
	assert_int_equal(responder_stop(&r, th), 3);
}

static void
test_rpc_times_out_without_a_responder(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse *resp = NULL;
	char queue[96];
	rs_mq *mq;
	rs_rpc *rpc;
	int64_t t0;

	(void) state;
	snprintf(queue, sizeof(queue), "smoke.silent.%s", suffix);
	assert_int_equal(rs_mq_connect(amqp_url, "smoke-silent", &mq), RS_OK);
	assert_int_equal(rs_mq_declare_queue(mq, queue, 0), RS_OK);
	assert_int_equal(rs_rpc_create(amqp_url, queue, 5000, &rpc), RS_OK);
	req.request_id = "smoke-timeout";
	t0 = now_ms();
	assert_int_equal(rs_rpc_call(rpc, &req, 300, &resp), RS_ETIMEDOUT);
	assert_true(now_ms() - t0 >= 290);
	assert_true(now_ms() - t0 < 2000);
	rs_rpc_destroy(rpc);
	assert_int_equal(rs_mq_delete_queue(mq, queue), RS_OK);
	rs_mq_destroy(mq);
}

/* ---- ZooKeeper -------------------------------------------------------- */

struct zk_watch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int deleted;
	int connected;
};

static void
on_zk_event(void *arg, enum rs_zk_event ev, const char *path)
{
	struct zk_watch *w = arg;

	(void) path;
	pthread_mutex_lock(&w->mu);
	if (ev == RS_ZK_DELETED)
		w->deleted++;
	if (ev == RS_ZK_CONNECTED)
		w->connected++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
test_zk_ephemeral_node_vanishes_when_session_closes(void **state)
{
	struct zk_watch w
	    = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	char dir[128], node[192], *data = NULL;
	rs_zk *owner, *observer;
	struct timespec dl;
	size_t len = 0;

	(void) state;
	snprintf(dir, sizeof(dir), "/rideshare/smoke-%s", suffix);
	snprintf(node, sizeof(node), "%s/worker", dir);
	assert_int_equal(
	    rs_zk_connect(zk_hosts, 2000, 5000, NULL, NULL, &owner), RS_OK);
	assert_int_equal(
	    rs_zk_connect(zk_hosts, 2000, 5000, on_zk_event, &w, &observer),
	    RS_OK);
	assert_true(w.connected >= 1);

	assert_int_equal(rs_zk_ensure_path(owner, dir), RS_OK);
	assert_int_equal(rs_zk_ensure_path(owner, dir), RS_OK);
	assert_int_equal(rs_zk_create(owner, node, "hello", 5, true), RS_OK);
	assert_int_equal(
	    rs_zk_create(owner, node, "again", 5, true), RS_EEXIST);
	assert_int_equal(rs_zk_get(observer, node, false, &data, &len), RS_OK);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	assert_int_equal(rs_zk_exists(observer, node, true), RS_OK);

	rs_zk_close(owner);
	/* Closing ends the session at once: no session timeout to wait. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&w.mu);
	while (w.deleted == 0) {
		if (pthread_cond_timedwait(&w.cv, &w.mu, &dl) != 0)
			break;
	}
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(w.deleted, 1);
	assert_int_equal(rs_zk_exists(observer, node, false), RS_ENOTFOUND);
	assert_int_equal(
	    rs_zk_get(observer, node, false, &data, &len), RS_ENOTFOUND);
	assert_int_equal(rs_zk_delete(observer, dir), RS_OK);
	assert_int_equal(rs_zk_delete(observer, dir), RS_ENOTFOUND);
	rs_zk_close(observer);
}

static void
test_zk_counter_children_and_set(void **state)
{
	char dir[128], path[192], **names = NULL, *data = NULL;
	rs_zk *zk;
	uint64_t v = 0;
	int count = -1;
	size_t len;

	(void) state;
	snprintf(dir, sizeof(dir), "/rideshare/smoke-%s-b", suffix);
	snprintf(path, sizeof(path), "%s/epoch", dir);
	assert_int_equal(
	    rs_zk_connect(zk_hosts, 2000, 5000, NULL, NULL, &zk), RS_OK);
	/* Parent created on demand; absent counts as 0. */
	assert_int_equal(rs_zk_incr(zk, path, &v), RS_OK);
	assert_int_equal(v, 1);
	assert_int_equal(rs_zk_incr(zk, path, &v), RS_OK);
	assert_int_equal(v, 2);
	assert_int_equal(rs_zk_get(zk, path, false, &data, &len), RS_OK);
	assert_string_equal(data, "2");
	free(data);

	snprintf(path, sizeof(path), "%s/b", dir);
	assert_int_equal(rs_zk_create(zk, path, NULL, 0, false), RS_OK);
	assert_int_equal(rs_zk_get(zk, path, false, &data, &len), RS_OK);
	assert_int_equal(len, 0);
	free(data);
	assert_int_equal(rs_zk_set(zk, path, "x", 1), RS_OK);
	assert_int_equal(
	    rs_zk_children(zk, dir, false, &names, &count), RS_OK);
	assert_int_equal(count, 2);
	assert_true(
	    (strcmp(names[0], "b") == 0 && strcmp(names[1], "epoch") == 0)
	    || (strcmp(names[1], "b") == 0 && strcmp(names[0], "epoch") == 0));
	rs_zk_free_children(names, count);
	assert_int_equal(
	    rs_zk_set(zk, "/rideshare/no-such-node-smoke", "x", 1),
	    RS_ENOTFOUND);

	assert_int_equal(rs_zk_delete(zk, path), RS_OK);
	snprintf(path, sizeof(path), "%s/epoch", dir);
	assert_int_equal(rs_zk_delete(zk, path), RS_OK);
	assert_int_equal(rs_zk_delete(zk, dir), RS_OK);
	rs_zk_close(zk);
}

/* ---- PostgreSQL ------------------------------------------------------- */

static void
test_pg_query_and_database_lifecycle(void **state)
{
	const char *params[] = { "41" };
	char dbname[64], *ci = NULL;
	PGconn *maint, *db;
	PGresult *res;

	(void) state;
	assert_int_equal(
	    rs_db_connect_retry(pg_conninfo, 5000, &maint), RS_OK);
	assert_int_equal(
	    rs_db_query(maint, "SELECT $1::int + 1", 1, params, &res), RS_OK);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
	assert_int_equal(rs_db_exec(maint, "SELEC 1"), RS_EDB);
	assert_string_equal(rs_db_last_sqlstate(), "42601");
	PQfinish(maint);

	snprintf(dbname, sizeof(dbname), "rs_smoke_%.16s", suffix);
	assert_int_equal(rs_db_create_database(pg_conninfo, dbname), RS_OK);
	assert_int_equal(rs_db_create_database(pg_conninfo, dbname), RS_OK);
	assert_int_equal(
	    rs_db_conninfo_with_db(pg_conninfo, dbname, &ci), RS_OK);
	assert_int_equal(rs_db_connect(ci, &db), RS_OK);
	assert_string_equal(PQdb(db), dbname);
	assert_int_equal(
	    rs_db_exec(db, "CREATE TABLE t (k text PRIMARY KEY)"), RS_OK);
	params[0] = "a";
	assert_int_equal(
	    rs_db_query(db, "INSERT INTO t VALUES ($1)", 1, params, NULL),
	    RS_OK);
	assert_int_equal(
	    rs_db_query(db, "INSERT INTO t VALUES ($1)", 1, params, NULL),
	    RS_EDB);
	assert_string_equal(rs_db_last_sqlstate(), "23505");
	assert_int_equal(rs_db_exec(db, "SELECT 1"), RS_OK);
	assert_string_equal(rs_db_last_sqlstate(), "");
	/* Still connected: the drop is refused (never forced), the session
	 * and its data survive. */
	assert_int_equal(rs_db_drop_database(pg_conninfo, dbname), RS_EAGAIN);
	assert_int_equal(rs_db_exec(db, "SELECT 1"), RS_OK);
	PQfinish(db);
	assert_int_equal(rs_db_drop_database(pg_conninfo, dbname), RS_OK);
	assert_int_equal(rs_db_connect(ci, &db), RS_ECONN);
	free(ci);
	assert_int_equal(
	    rs_db_create_database(pg_conninfo, "Bad-Name"), RS_EINVAL);
}

struct creator {
	const char *dbname;
	pthread_barrier_t *go;
	int rc;
};

static void *
creator_main(void *arg)
{
	struct creator *c = arg;

	pthread_barrier_wait(c->go);
	c->rc = rs_db_create_database(pg_conninfo, c->dbname);
	return NULL;
}

static void
test_pg_concurrent_create_database_both_succeed(void **state)
{
	pthread_barrier_t go;
	struct creator c[3];
	pthread_t th[3];
	char dbname[64];

	(void) state;
	for (int round = 0; round < 3; round++) {
		snprintf(
		    dbname, sizeof(dbname), "rs_race_%.12s_%d", suffix, round);
		pthread_barrier_init(&go, NULL, 3);
		for (int i = 0; i < 3; i++) {
			c[i] = (struct creator) { dbname, &go, -1 };
			assert_int_equal(
			    pthread_create(&th[i], NULL, creator_main, &c[i]),
			    0);
		}
		for (int i = 0; i < 3; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(c[i].rc, RS_OK);
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(
		    rs_db_drop_database(pg_conninfo, dbname), RS_OK);
	}
}

/* ---- nng -------------------------------------------------------------- */

static void
test_nng_pub_sub_message(void **state)
{
	nng_socket pub, sub;
	char url[128], buf[64];
	int rc = RS_ETIMEDOUT;

	(void) state;
	assert_int_equal(
	    rs_nng_pub_open("127.0.0.1", &pub, url, sizeof(url)), RS_OK);
	assert_int_equal(rs_nng_sub_open(&sub), RS_OK);
	assert_int_equal(rs_nng_sub_dial(sub, url), RS_OK);
	/* The subscription takes a moment to reach the publisher. */
	for (int64_t end = now_ms() + 5000;
	     rc == RS_ETIMEDOUT && now_ms() < end;) {
		assert_int_equal(rs_nng_send_str(pub, "head 1 42"), RS_OK);
		rc = rs_nng_recv_str(sub, buf, sizeof(buf), 50);
	}
	assert_int_equal(rc, RS_OK);
	assert_string_equal(buf, "head 1 42");
	nng_close(sub);
	nng_close(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amqp_publish_with_confirms_then_consume),
		cmocka_unit_test(
		    test_amqp_missing_queue_is_not_found_and_object_survives),
		cmocka_unit_test(
		    test_amqp_declare_mismatch_is_emq_and_channel_reopens),
		cmocka_unit_test(test_amqp_topology_declares_idempotently),
		cmocka_unit_test(test_amqp_rejected_message_is_dead_lettered),
		cmocka_unit_test(test_amqp_nacked_publish_is_emq),
		cmocka_unit_test(
		    test_amqp_publish_to_missing_exchange_kills_the_object),
		cmocka_unit_test(test_rpc_round_trip_skips_stray_replies),
		cmocka_unit_test(
		    test_rpc_reconnects_and_resends_after_connection_loss),
		cmocka_unit_test(test_rpc_times_out_without_a_responder),
		cmocka_unit_test(
		    test_zk_ephemeral_node_vanishes_when_session_closes),
		cmocka_unit_test(test_zk_counter_children_and_set),
		cmocka_unit_test(test_pg_query_and_database_lifecycle),
		cmocka_unit_test(
		    test_pg_concurrent_create_database_both_succeed),
		cmocka_unit_test(test_nng_pub_sub_message),
	};

	rs_log_init("smoke");
	amqp_url = rs_cfg_str(
	    "RIDESHARE_AMQP_URL", "amqp://guest:guest@127.0.0.1:8101");
	zk_hosts = rs_cfg_str("RIDESHARE_ZK_HOSTS", "127.0.0.1:8104");
	pg_conninfo = rs_cfg_str("RIDESHARE_PG_CONNINFO",
	    "host=127.0.0.1 port=8100 user=postgres dbname=postgres");
	rs_id_new(suffix);
	return cmocka_run_group_tests_name("smoke", tests, NULL, NULL);
}
