/* rs_rpc_call_resend against a real RabbitMQ (docs/gateway.md "A hung
 * slave costs a read a deadline"): an unanswered read goes out exactly
 * once more, when prepare agrees (edited by it), with the same id; the
 * first answer wins;
 * the other answer is dropped by the next call on the client and counted.
 * A ResponseBatch on the reply address (several callers' replies) yields
 * the call's entry; the others are dropped and counted.
 * A test thread plays the slaves on a queue of its own (nobody else
 * consumes it). Run by tests/with-stack.sh (RIDESHARE_AMQP_URL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_rpc.h"
#include "rs_time.h"
#include "rs_test_stack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *url;
static char queue[64];

/* What the fake slave saw of one copy of a request. */
typedef struct copy {
	int64_t at_ms;
	bool resend;
	char resend_to[32];
	char id[64];
	char reply_to[256];
} copy;

/* The fake slave: takes up to max copies within wait_ms in all; answers
 * copy number `answer` (0-based, -1: none) at once with worker_id
 * "copy<n>", and afterwards, if late >= 0, copy number `late`. */
typedef struct fake {
	rs_mq *mq;
	int max, answer, late, wait_ms;
	/* answers in a ResponseBatch: entries for these ids, in this order,
	 * "" standing for the copy's own id (NULL: a plain DbResponse) */
	const char *const *batch;
	size_t nbatch;
	copy got[8];
	int n;
} fake;

static void
reply(const fake *f, const copy *c, int n)
{
	Rideshare__DbResponse r[RS_RESPONSE_BATCH_MAX];
	Rideshare__DbResponse *rp[RS_RESPONSE_BATCH_MAX];
	Rideshare__ResponseBatch b = RIDESHARE__RESPONSE_BATCH__INIT;
	char who[16];
	uint8_t buf[4096];
	rs_mq_props p = { .correlation_id = c->id };
	size_t k = f->batch != NULL ? f->nbatch : 1;

	snprintf(who, sizeof(who), "copy%d", n);
	for (size_t i = 0; i < k; i++) {
		const char *id = f->batch != NULL ? f->batch[i] : "";
		r[i] = (Rideshare__DbResponse) RIDESHARE__DB_RESPONSE__INIT;
		r[i].request_id = (char *) (id[0] != '\0' ? id : c->id);
		r[i].worker_id = who;
		rp[i] = &r[i];
	}
	size_t len;
	if (f->batch != NULL) {
		b.n_responses = k;
		b.responses = rp;
		len = rideshare__response_batch__pack(&b, buf);
		p.correlation_id = NULL;
		p.content_type = RS_CT_RESPONSE_BATCH;
	} else {
		len = rideshare__db_response__pack(&r[0], buf);
	}
	assert_int_equal(
	    rs_mq_publish(f->mq, "", c->reply_to, buf, len, &p), RS_OK);
}

static void *
fake_run(void *arg)
{
	fake *f = arg;
	int64_t deadline = rs_time_deadline(f->wait_ms);
	rs_mq_msg m;

	while (f->n < f->max
	    && rs_mq_next(f->mq, (int) rs_time_left_ms(deadline), &m)
	        == RS_OK) {
		Rideshare__DbRequest *req
		    = rideshare__db_request__unpack(NULL, m.len, m.body);
		copy *c = &f->got[f->n];
		c->at_ms = rs_time_now_ms();
		if (req != NULL) {
			c->resend = req->resend;
			snprintf(c->resend_to, sizeof(c->resend_to), "%s",
			    req->resend_to);
			snprintf(c->id, sizeof(c->id), "%s", req->request_id);
			rideshare__db_request__free_unpacked(req, NULL);
		}
		snprintf(c->reply_to, sizeof(c->reply_to), "%s", m.reply_to);
		(void) rs_mq_ack(f->mq, m.delivery_tag, false);
		rs_mq_msg_release(f->mq, &m);
		if (f->n == f->answer)
			reply(f, c, f->n);
		f->n++;
	}
	if (f->late >= 0 && f->late < f->n)
		reply(f, &f->got[f->late], f->late);
	return NULL;
}

static void
fake_start(fake *f, pthread_t *t)
{
	assert_int_equal(
	    rs_mq_connect_retry(url, "rpc-resend-test-slave", 10000, &f->mq),
	    RS_OK);
	assert_int_equal(rs_mq_declare_queue(f->mq, queue, 0), RS_OK);
	assert_int_equal(rs_mq_consume(f->mq, queue, false, NULL), RS_OK);
	assert_int_equal(pthread_create(t, NULL, fake_run, f), 0);
}

static void
fake_stop(fake *f, pthread_t t)
{
	pthread_join(t, NULL);
	rs_mq_destroy(f->mq);
}

static bool
hint(Rideshare__DbRequest *req, void *arg)
{
	req->resend = true;
	req->resend_to = arg;
	return true;
}

/* Not ready the first two times it is asked. */
static int asked;

static bool
hint_third_time(Rideshare__DbRequest *req, void *arg)
{
	if (++asked < 3)
		return false;
	return hint(req, arg);
}

/* One client and one read (count-rides) on it, with the fake slave
 * running: what every test starts from. */
typedef struct call {
	Rideshare__DbRequest req;
	Rideshare__CountRides op;
	Rideshare__DbResponse *resp;
	char id[RS_ID_LEN + 1];
	rs_rpc *rpc;
	pthread_t t;
} call;

/* A fresh read with a new id on c's client. */
static void
call_read(call *c)
{
	rs_id_new(c->id);
	c->req = (Rideshare__DbRequest) RIDESHARE__DB_REQUEST__INIT;
	c->op = (Rideshare__CountRides) RIDESHARE__COUNT_RIDES__INIT;
	c->req.request_id = c->id;
	c->req.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	c->req.count_rides = &c->op;
	c->resp = NULL;
}

/* Starts fake f, connects a client and prepares a read. */
static void
call_start(call *c, fake *f)
{
	fake_start(f, &c->t);
	assert_int_equal(rs_rpc_create(url, queue, 10000, &c->rpc), RS_OK);
	call_read(c);
}

/* Sends c's read with resend rs and checks it was answered by `worker`
 * for this very request, having resent it or not as `sent` says. */
static void
call_answered(
    call *c, int timeout_ms, rs_rpc_resend *rs, bool sent, const char *worker)
{
	assert_int_equal(
	    rs_rpc_call_resend(c->rpc, &c->req, timeout_ms, rs, &c->resp),
	    RS_OK);
	assert_int_equal(rs->sent, sent);
	assert_string_equal(c->resp->request_id, c->id);
	assert_string_equal(c->resp->worker_id, worker);
	rideshare__db_response__free_unpacked(c->resp, NULL);
	c->resp = NULL;
}

static void
test_unanswered_read_is_resent_exactly_once(void **state)
{
	call c;
	fake f = { .max = 8, .answer = -1, .late = -1, .wait_ms = 2500 };
	rs_rpc_resend rs = { .after_ms = 150, .prepare = hint, .arg = "w9" };

	(void) state;
	call_start(&c, &f);
	int64_t t0 = rs_time_now_ms();
	assert_int_equal(rs_rpc_call_resend(c.rpc, &c.req, 1200, &rs, &c.resp),
	    RS_ETIMEDOUT);
	int64_t took = rs_time_now_ms() - t0;
	assert_true(rs.sent);
	fake_stop(&f, c.t);
	/* two copies in 2.5 s, not one more however long it waited */
	assert_int_equal(f.n, 2);
	assert_false(f.got[0].resend);
	assert_string_equal(f.got[0].resend_to, "");
	assert_true(f.got[1].resend);
	assert_string_equal(f.got[1].resend_to, "w9");
	assert_string_equal(f.got[0].id, c.id);
	assert_string_equal(f.got[1].id, c.id);
	/* sent after_ms after the call, not before */
	assert_true(f.got[1].at_ms - t0 >= 145);
	/* the resend does not add a timeout of its own (slack: a loaded
	 * machine) */
	assert_true(took >= 1190 && took < 2400);
	rs_rpc_destroy(c.rpc);
}

static void
test_first_answer_wins_and_the_other_is_dropped(void **state)
{
	call c;
	/* the first copy is held (a hung slave), the resend answered, then
	 * the first one answered late */
	fake f = { .max = 2, .answer = 1, .late = 0, .wait_ms = 3000 };
	rs_rpc_resend rs = { .after_ms = 150, .prepare = hint, .arg = "w9" };

	(void) state;
	call_start(&c, &f);
	call_answered(&c, 3000, &rs, true, "copy1");
	fake_stop(&f, c.t); /* copy0's late answer is on its way */
	assert_int_equal(f.n, 2);

	/* the next call on this client drops it and gets its own answer */
	uint64_t dropped = rs_rpc_dropped_replies();
	fake g = { .max = 1, .answer = 0, .late = -1, .wait_ms = 3000 };
	rs_rpc_resend none = { .after_ms = 0 };
	fake_start(&g, &c.t);
	call_read(&c);
	call_answered(&c, 3000, &none, false, "copy0");
	fake_stop(&g, c.t);
	assert_int_equal(rs_rpc_dropped_replies(), dropped + 1);
	rs_rpc_destroy(c.rpc);
}

static void
test_resend_waits_while_prepare_is_not_ready(void **state)
{
	call c;
	/* the resend answered */
	fake f = { .max = 8, .answer = 1, .late = -1, .wait_ms = 2500 };
	rs_rpc_resend rs
	    = { .after_ms = 100, .prepare = hint_third_time, .arg = "w7" };

	(void) state;
	asked = 0;
	call_start(&c, &f);
	int64_t t0 = rs_time_now_ms();
	call_answered(&c, 2000, &rs, true, "copy1");
	assert_int_equal(asked, 3);
	fake_stop(&f, c.t);
	/* still one resend, sent at the third asking (3 x after_ms) */
	assert_int_equal(f.n, 2);
	assert_true(f.got[1].resend);
	assert_string_equal(f.got[1].resend_to, "w7");
	assert_true(f.got[1].at_ms - t0 >= 295);
	rs_rpc_destroy(c.rpc);
}

static void
test_not_ready_until_the_timeout_means_no_resend(void **state)
{
	call c;
	fake f = { .max = 8, .answer = -1, .late = -1, .wait_ms = 1500 };
	rs_rpc_resend rs
	    = { .after_ms = 100, .prepare = hint_third_time, .arg = "w7" };

	(void) state;
	asked = -100; /* never ready within the timeout */
	call_start(&c, &f);
	assert_int_equal(rs_rpc_call_resend(c.rpc, &c.req, 500, &rs, &c.resp),
	    RS_ETIMEDOUT);
	assert_false(rs.sent);
	fake_stop(&f, c.t);
	assert_int_equal(f.n, 1);
	rs_rpc_destroy(c.rpc);
}

static void
test_answered_in_time_is_not_resent(void **state)
{
	call c;
	fake f = { .max = 8, .answer = 0, .late = -1, .wait_ms = 1000 };
	rs_rpc_resend rs = { .after_ms = 500, .prepare = hint, .arg = "w9" };

	(void) state;
	call_start(&c, &f);
	call_answered(&c, 3000, &rs, false, "copy0");
	assert_false(c.req.resend);
	fake_stop(&f, c.t);
	assert_int_equal(f.n, 1);
	rs_rpc_destroy(c.rpc);
}

static void
test_reply_in_a_batch_is_picked_by_request_id(void **state)
{
	call c;
	static const char *const ids[] = { "someone-else", "", "third" };
	fake f = { .max = 1,
		.answer = 0,
		.late = -1,
		.wait_ms = 3000,
		.batch = ids,
		.nbatch = 3 };
	rs_rpc_resend none = { .after_ms = 0 };

	(void) state;
	uint64_t dropped = rs_rpc_dropped_replies();
	call_start(&c, &f);
	call_answered(&c, 3000, &none, false, "copy0");
	fake_stop(&f, c.t);
	/* the two other callers' entries */
	assert_int_equal(rs_rpc_dropped_replies(), dropped + 2);
	rs_rpc_destroy(c.rpc);
}

static void
test_batch_without_the_call_is_dropped_and_the_call_waits(void **state)
{
	call c;
	static const char *const ids[] = { "a-late-one", "another" };
	fake f = { .max = 1,
		.answer = 0,
		.late = -1,
		.wait_ms = 2000,
		.batch = ids,
		.nbatch = 2 };

	(void) state;
	uint64_t dropped = rs_rpc_dropped_replies();
	call_start(&c, &f);
	assert_int_equal(
	    rs_rpc_call(c.rpc, &c.req, 800, &c.resp), RS_ETIMEDOUT);
	fake_stop(&f, c.t);
	assert_int_equal(rs_rpc_dropped_replies(), dropped + 2);
	rs_rpc_destroy(c.rpc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unanswered_read_is_resent_exactly_once),
		cmocka_unit_test(
		    test_first_answer_wins_and_the_other_is_dropped),
		cmocka_unit_test(test_resend_waits_while_prepare_is_not_ready),
		cmocka_unit_test(
		    test_not_ready_until_the_timeout_means_no_resend),
		cmocka_unit_test(test_answered_in_time_is_not_resent),
		cmocka_unit_test(
		    test_reply_in_a_batch_is_picked_by_request_id),
		cmocka_unit_test(
		    test_batch_without_the_call_is_dropped_and_the_call_waits),
	};

	snprintf(queue, sizeof(queue), "rpc-resend-test-%ld", (long) getpid());
	url = rs_test_amqp_init("rs_rpc_resend_test");
	return cmocka_run_group_tests_name("rs_rpc_resend", tests, NULL, NULL);
}
