/* The multiplexed RPC client without a broker: callers on real threads,
 * the test playing the I/O thread (take_sends, deliver, conn_lost are
 * driven directly; the file is included for that), so batching, matching,
 * drops, timeouts, the read resend and the resend after a lost connection
 * are checked message by message. */

#include "rs_test.h"

#include "rs_rpc_mux.c"

#include <stdio.h>

struct caller {
	rs_rpc_mux *m;
	Rideshare__DbRequest req;
	Rideshare__ListUsers op;
	char rid[40];
	int timeout_ms;
	rs_rpc_resend *rs;
	int rc;
	Rideshare__DbResponse *resp;
	pthread_t t;
};

static void *
caller_main(void *arg)
{
	struct caller *c = arg;

	c->rc = c->rs != NULL
	    ? rs_rpc_mux_call_resend(
	        c->m, &c->req, c->timeout_ms, c->rs, &c->resp)
	    : rs_rpc_mux_call(c->m, &c->req, c->timeout_ms, &c->resp);
	return NULL;
}

/* Starts a caller thread with request_id rid (a list_users read). */
static void
call_start(struct caller *c, rs_rpc_mux *m, const char *rid, int timeout_ms,
    rs_rpc_resend *rs)
{
	memset(c, 0, sizeof(*c));
	rideshare__db_request__init(&c->req);
	rideshare__list_users__init(&c->op);
	snprintf(c->rid, sizeof(c->rid), "%s", rid);
	c->m = m;
	c->req.request_id = c->rid;
	c->req.op_case = RIDESHARE__DB_REQUEST__OP_LIST_USERS;
	c->req.list_users = &c->op;
	c->timeout_ms = timeout_ms;
	c->rs = rs;
	c->rc = -1;
	assert_int_equal(pthread_create(&c->t, NULL, caller_main, c), 0);
}

static void
call_join(struct caller *c)
{
	assert_int_equal(pthread_join(c->t, NULL), 0);
}

/* Waits (up to 2 s) until n calls wait in the send queue. */
static void
wait_queued(rs_rpc_mux *m, size_t n)
{
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&m->mu);
		size_t q = m->nqueued;
		pthread_mutex_unlock(&m->mu);
		if (q == n)
			return;
		rs_time_sleep_ms(1);
	}
	fail_msg("%zu calls never queued", n);
}

static size_t
in_table(rs_rpc_mux *m)
{
	size_t n = 0;

	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < BUCKETS; i++)
		for (struct call *c = m->table[i].head; c; c = c->hnext)
			n++;
	pthread_mutex_unlock(&m->mu);
	return n;
}

static rs_rpc_mux *
new_mux(bool connected)
{
	rs_rpc_mux *m;

	assert_int_equal(mux_alloc("amqp://guest:guest@127.0.0.1:1",
	                     RS_Q_ORCHESTRATOR, 100, &m),
	    RS_OK);
	m->connected = connected;
	return m;
}

/* A plain reply for rid, as a worker sends it. */
static void
reply_plain(rs_rpc_mux *m, const char *rid)
{
	Rideshare__DbResponse r = RIDESHARE__DB_RESPONSE__INIT;
	uint8_t buf[256];

	r.request_id = (char *) rid;
	r.worker_id = (char *) "w1";
	deliver(m, "", rid, buf, rideshare__db_response__pack(&r, buf));
}

/* One ResponseBatch message answering rids[0..n-1]. */
static void
reply_batch(rs_rpc_mux *m, const char *const *rids, size_t n)
{
	Rideshare__ResponseBatch b = RIDESHARE__RESPONSE_BATCH__INIT;
	Rideshare__DbResponse r[8], *rp[8];
	uint8_t buf[1024];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		rideshare__db_response__init(&r[i]);
		r[i].request_id = (char *) rids[i];
		rp[i] = &r[i];
	}
	b.n_responses = n;
	b.responses = rp;
	deliver(m, RS_CT_RESPONSE_BATCH, "", buf,
	    rideshare__response_batch__pack(&b, buf));
}

static void
test_one_waiting_call_goes_out_as_a_plain_request(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	struct caller c;
	Rideshare__DbRequest *sent;

	(void) state;
	call_start(&c, m, "one-1", 5000, NULL);
	wait_queued(m, 1);
	assert_int_equal(take_sends(m), 1);
	/* As rs_rpc sends it: the DbRequest, correlation id = request_id. */
	sent = rideshare__db_request__unpack(NULL, m->outlen, m->out);
	assert_non_null(sent);
	assert_string_equal(sent->request_id, "one-1");
	assert_string_equal(m->out_rid, "one-1");
	rideshare__db_request__free_unpacked(sent, NULL);
	assert_int_equal(take_sends(m), 0);

	reply_plain(m, "one-1");
	call_join(&c);
	assert_int_equal(c.rc, RS_OK);
	assert_string_equal(c.resp->request_id, "one-1");
	rideshare__db_response__free_unpacked(c.resp, NULL);
	assert_int_equal(in_table(m), 0);
	rs_rpc_mux_destroy(m);
}

static void
test_waiting_calls_go_out_as_one_request_batch(void **state)
{
	static const char *const rids[] = { "b-1", "b-2", "b-3" };
	static const char *const answers[] = { "b-3", "nobody", "b-1", "b-2" };
	rs_rpc_mux *m = new_mux(true);
	struct caller c[3];
	Rideshare__RequestBatch *b;
	uint64_t dropped0 = rs_rpc_mux_dropped_replies();
	rs_rpc_mux_stats st;

	(void) state;
	for (int i = 0; i < 3; i++)
		call_start(&c[i], m, rids[i], 5000, NULL);
	wait_queued(m, 3);
	assert_int_equal(take_sends(m), 3);
	/* What the orchestrator accepts (orchestrator/router.c). */
	assert_null(rs_op_request_batch_decode(m->out, m->outlen, &b));
	assert_int_equal(b->n_requests, 3);
	for (size_t i = 0; i < 3; i++) {
		bool known = false;
		for (int j = 0; j < 3; j++)
			known |= strcmp(b->requests[i]->request_id, rids[j])
			    == 0;
		assert_true(known);
		assert_int_equal(b->requests[i]->op_case,
		    RIDESHARE__DB_REQUEST__OP_LIST_USERS);
	}
	rideshare__request_batch__free_unpacked(b, NULL);

	/* Answered out of order, in one ResponseBatch with a stranger. */
	reply_batch(m, answers, 4);
	for (int i = 0; i < 3; i++) {
		call_join(&c[i]);
		assert_int_equal(c[i].rc, RS_OK);
		assert_string_equal(c[i].resp->request_id, rids[i]);
		rideshare__db_response__free_unpacked(c[i].resp, NULL);
	}
	assert_int_equal(rs_rpc_mux_dropped_replies(), dropped0 + 1);
	rs_rpc_mux_get_stats(m, &st);
	assert_int_equal(st.published, 0); /* publish() was never called */
	rs_rpc_mux_destroy(m);
}

/* Calls put straight into the queue (no threads): the oldest
 * RS_REQUEST_BATCH_MAX go in the first message, the rest in the next. */
static void
test_a_full_queue_goes_out_in_messages_of_at_most_batch_max(void **state)
{
	enum { N = RS_REQUEST_BATCH_MAX + 6 };
	static struct call calls[N];
	static char rids[N][16];
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__ListUsers op = RIDESHARE__LIST_USERS__INIT;
	Rideshare__RequestBatch *b;
	rs_rpc_mux *m = new_mux(true);

	(void) state;
	req.op_case = RIDESHARE__DB_REQUEST__OP_LIST_USERS;
	req.list_users = &op;
	for (int i = 0; i < N; i++) {
		snprintf(rids[i], sizeof(rids[i]), "q-%d", i);
		req.request_id = rids[i];
		memset(&calls[i], 0, sizeof(calls[i]));
		assert_int_equal(
		    pack_req(&req, &calls[i].body, &calls[i].len), RS_OK);
		calls[i].rid = rids[i];
		sem_init(&calls[i].woken, 0, 0);
		pthread_mutex_lock(&m->mu);
		table_add(m, &calls[i]);
		queue_push(m, &calls[i]);
		pthread_mutex_unlock(&m->mu);
	}
	assert_int_equal(take_sends(m), RS_REQUEST_BATCH_MAX);
	assert_null(rs_op_request_batch_decode(m->out, m->outlen, &b));
	assert_int_equal(b->n_requests, RS_REQUEST_BATCH_MAX);
	assert_string_equal(b->requests[0]->request_id, "q-0");
	rideshare__request_batch__free_unpacked(b, NULL);
	assert_int_equal(take_sends(m), 6);
	assert_null(rs_op_request_batch_decode(m->out, m->outlen, &b));
	assert_string_equal(
	    b->requests[0]->request_id, rids[RS_REQUEST_BATCH_MAX]);
	rideshare__request_batch__free_unpacked(b, NULL);
	fail_all(m, RS_ECONN);
	for (int i = 0; i < N; i++) {
		assert_true(calls[i].done);
		assert_int_equal(calls[i].rc, RS_ECONN);
		/* Woken once, after mu was released. */
		assert_int_equal(sem_trywait(&calls[i].woken), 0);
		assert_int_equal(sem_trywait(&calls[i].woken), -1);
		free(calls[i].body);
		sem_destroy(&calls[i].woken);
	}
	rs_rpc_mux_destroy(m);
}

static void
test_a_reply_for_no_waiting_call_is_dropped_and_counted(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	uint64_t before = rs_rpc_mux_dropped_replies();

	(void) state;
	reply_plain(m, "late-1");
	assert_int_equal(rs_rpc_mux_dropped_replies(), before + 1);
	rs_rpc_mux_destroy(m);
}

static void
test_an_undecodable_reply_fails_its_call_with_eproto(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	struct caller c;

	(void) state;
	call_start(&c, m, "bad-1", 5000, NULL);
	wait_queued(m, 1);
	assert_int_equal(take_sends(m), 1);
	/* A broken batch names nobody: the call goes on waiting. */
	deliver(m, RS_CT_RESPONSE_BATCH, "", "\xff\xff", 2);
	assert_int_equal(in_table(m), 1);
	deliver(m, "", "bad-1", "\xff\xff", 2);
	call_join(&c);
	assert_int_equal(c.rc, RS_EPROTO);
	rs_rpc_mux_destroy(m);
}

static void
test_an_unanswered_call_times_out_or_without_broker_is_econn(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	struct caller c;
	int64_t t0 = rs_time_now_ms();

	(void) state;
	call_start(&c, m, "slow-1", 60, NULL);
	call_join(&c);
	assert_int_equal(c.rc, RS_ETIMEDOUT);
	assert_true(rs_time_now_ms() - t0 >= 60);
	assert_int_equal(in_table(m), 0);
	assert_int_equal(m->nqueued, 0);

	m->connected = false;
	call_start(&c, m, "slow-2", 30, NULL);
	call_join(&c);
	assert_int_equal(c.rc, RS_ECONN);
	rs_rpc_mux_destroy(m);
}

static bool
hint(Rideshare__DbRequest *req, void *arg)
{
	req->resend = true;
	req->resend_to = arg;
	return true;
}

static void
test_a_read_is_resent_once_and_the_first_answer_wins(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	rs_rpc_resend rs
	    = { .after_ms = 30, .prepare = hint, .arg = (char *) "w2" };
	uint64_t before = rs_rpc_mux_dropped_replies();
	Rideshare__DbRequest *sent;
	struct caller c;

	(void) state;
	call_start(&c, m, "rd-1", 5000, &rs);
	wait_queued(m, 1);
	assert_int_equal(take_sends(m), 1);
	/* Unanswered for 30 ms: queued again, with the routing hint. */
	wait_queued(m, 1);
	assert_int_equal(take_sends(m), 1);
	sent = rideshare__db_request__unpack(NULL, m->outlen, m->out);
	assert_non_null(sent);
	assert_string_equal(sent->request_id, "rd-1");
	assert_true(sent->resend);
	assert_string_equal(sent->resend_to, "w2");
	rideshare__db_request__free_unpacked(sent, NULL);
	rs_time_sleep_ms(60); /* no third send */
	assert_int_equal(m->nqueued, 0);

	reply_plain(m, "rd-1");
	call_join(&c);
	assert_int_equal(c.rc, RS_OK);
	assert_true(rs.sent);
	rideshare__db_response__free_unpacked(c.resp, NULL);
	reply_plain(m, "rd-1"); /* the other copy's answer */
	assert_int_equal(rs_rpc_mux_dropped_replies(), before + 1);
	rs_rpc_mux_destroy(m);
}

static bool
not_yet(Rideshare__DbRequest *req, void *arg)
{
	int *asked = arg;

	(void) req;
	return ++*asked >= 3;
}

static void
test_a_resend_waits_while_prepare_says_not_yet(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	int asked = 0;
	rs_rpc_resend rs
	    = { .after_ms = 20, .prepare = not_yet, .arg = &asked };
	struct caller c;

	(void) state;
	call_start(&c, m, "rd-2", 5000, &rs);
	wait_queued(m, 1);
	assert_int_equal(take_sends(m), 1);
	wait_queued(m, 1); /* at the third asking, about 60 ms later */
	assert_int_equal(asked, 3);
	assert_int_equal(take_sends(m), 1);
	reply_plain(m, "rd-2");
	call_join(&c);
	assert_int_equal(c.rc, RS_OK);
	rideshare__db_response__free_unpacked(c.resp, NULL);
	rs_rpc_mux_destroy(m);
}

static void
test_a_lost_connection_sends_again_once_then_fails(void **state)
{
	rs_rpc_mux *m = new_mux(true);
	struct caller c, q;

	(void) state;
	call_start(&c, m, "lost-1", 5000, NULL);
	wait_queued(m, 1);
	assert_int_equal(take_sends(m), 1);
	call_start(&q, m, "lost-2", 5000, NULL); /* not yet published */
	wait_queued(m, 1);
	conn_lost(m);
	assert_false(m->connected);
	wait_queued(m, 2); /* lost-1 again, lost-2 still */
	assert_int_equal(take_sends(m), 2);
	conn_lost(m);
	call_join(&c);
	assert_int_equal(c.rc, RS_ECONN); /* its second loss */
	wait_queued(m, 1); /* lost-2's first */
	m->connected = true;
	assert_int_equal(take_sends(m), 1);
	reply_plain(m, "lost-2");
	call_join(&q);
	assert_int_equal(q.rc, RS_OK);
	rideshare__db_response__free_unpacked(q.resp, NULL);
	rs_rpc_mux_destroy(m);
}

/* The real I/O thread with no broker: calls fail fast with RS_ECONN and
 * destroy stops the thread. */
static void
test_without_a_broker_calls_fail_with_econn(void **state)
{
	rs_rpc_mux *m;
	struct caller c;

	(void) state;
	assert_int_equal(rs_rpc_mux_create("amqp://guest:guest@127.0.0.1:1",
	                     RS_Q_ORCHESTRATOR, 100, &m),
	    RS_OK);
	call_start(&c, m, "nobroker-1", 2000, NULL);
	call_join(&c);
	assert_int_equal(c.rc, RS_ECONN);
	rs_rpc_mux_destroy(m);
}

RS_TEST_MAIN(
    cmocka_unit_test(test_one_waiting_call_goes_out_as_a_plain_request),
    cmocka_unit_test(test_waiting_calls_go_out_as_one_request_batch),
    cmocka_unit_test(
        test_a_full_queue_goes_out_in_messages_of_at_most_batch_max),
    cmocka_unit_test(test_a_reply_for_no_waiting_call_is_dropped_and_counted),
    cmocka_unit_test(test_an_undecodable_reply_fails_its_call_with_eproto),
    cmocka_unit_test(
        test_an_unanswered_call_times_out_or_without_broker_is_econn),
    cmocka_unit_test(test_a_read_is_resent_once_and_the_first_answer_wins),
    cmocka_unit_test(test_a_resend_waits_while_prepare_says_not_yet),
    cmocka_unit_test(test_a_lost_connection_sends_again_once_then_fails),
    cmocka_unit_test(test_without_a_broker_calls_fail_with_econn))
