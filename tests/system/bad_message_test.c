/* Bad messages (issue 4): a non-protobuf, a truncated, an id-less and an
 * op-less message on `orchestrator`, `writeQ` and `readQ` each end up in
 * `rideshare.dead`, and the processes keep serving. By hand there is no
 * orchestrator, so its queue is skipped there (nobody consumes it).
 * Forged internal messages (issue 12): a read stamped beyond any commit_seq
 * and sync events with a far-future seq, an unknown epoch or an already
 * applied seq are dead-lettered too, never applied, never fatal.
 * Read batches (issue 17): a good ReadBatch on readQ is answered entry by
 * entry on each entry's reply_to, the entries sharing a reply_to in one
 * ResponseBatch; a forged one is dead-lettered whole.
 * Response batches (issue 17): a ResponseBatch on responseQ that does not
 * check out is dead-lettered by the orchestrator like a bad DbResponse.
 * Sync batches (issue 17): a group commit of N writes reaches syncX as ONE
 * SyncEventBatch, which the slave applies (data and change log); a forged
 * batch (a gap, an applied seq, mixed epochs, a hole) is dead-lettered
 * whole, none of its events applied.
 * Write batches (issue 17): a good WriteBatch on writeQ is applied write
 * by write (a retry inside it answered as a duplicate), each answered on
 * its own reply_to; a forged one is dead-lettered whole, none of its
 * writes applied.
 *
 *   bad_message_test <path to rideshare-worker> */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_contract.h"
#include "rs_err.h"
#include "rs_mq.h"
#include "rs_op.h"
#include "worker_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static wh *h;
static const char *worker_bin;
static char master_id[64], slave_id[64], tag[40];
static pid_t master_pid, slave_pid;

static int
setup(void **state)
{
	(void) state;
	if (wh_open_tagged(worker_bin, &h, tag) != RS_OK)
		return -1;
	if (wh_orchestrated(h))
		return 0;
	snprintf(master_id, sizeof(master_id), "bm-m-%s", tag);
	snprintf(slave_id, sizeof(slave_id), "bm-s-%s", tag);
	master_pid = wh_worker_start(h, master_id, NULL);
	if (wh_wait_role(h, master_id, RIDESHARE__ROLE__MASTER, 20000)
	    != RS_OK)
		return -1;
	slave_pid = wh_worker_start(h, slave_id, NULL);
	if (wh_wait_role(h, slave_id, RIDESHARE__ROLE__SLAVE, 20000) != RS_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	wh_close_stopping(h, (pid_t[]) { slave_pid, master_pid }, 2);
	return 0;
}

/* A write and a read still get answered. */
static void
assert_serving(void)
{
	wh_req w, r;
	char name[64];
	Rideshare__DbResponse *resp;

	snprintf(name, sizeof(name), "bm-%s-%lld", tag,
	    (long long) rs_time_now_ms());
	wh_req_add_user(&w, name);
	assert_int_equal(wh_call(h, &w.req, 5000, 2, &resp), RS_OK);
	assert_int_equal(resp->status, RIDESHARE__STATUS__OK);
	rideshare__db_response__free_unpacked(resp, NULL);
	wh_req_count_rides(&r);
	assert_int_equal(wh_call(h, &r.req, 5000, 2, &resp), RS_OK);
	assert_int_equal(resp->status, RIDESHARE__STATUS__OK);
	rideshare__db_response__free_unpacked(resp, NULL);
	if (!wh_orchestrated(h)) {
		assert_int_equal(wh_worker_wait(master_pid, 0), -1);
		assert_int_equal(wh_worker_wait(slave_pid, 0), -1);
	}
}

/* Declares the exclusive queue "<prefix>-<tag>" (this run's; gone with
 * the harness's connection) and names it in q (80 bytes): where a test
 * takes replies or taps an exchange. */
static void
declare_own_queue(char q[80], const char *prefix)
{
	snprintf(q, 80, "%s-%s", prefix, tag);
	assert_int_equal(
	    rs_mq_declare_queue(wh_mq(h), q, RS_MQ_EXCLUSIVE), RS_OK);
}

/* Waits until rideshare.dead holds more than before messages. */
static void
wait_dead_lettered(uint32_t before, const char *queue, const char *what)
{
	int64_t t0 = rs_time_now_ms();

	while (wh_queue_depth(h, RS_Q_DEAD) < before + 1) {
		if (!wh_wait_turn(t0))
			fail_msg("%s message on %s was not dead-lettered",
			    what, queue);
	}
	printf("bad_message: %s on %s dead-lettered in %lld ms\n", what, queue,
	    (long long) (rs_time_now_ms() - t0));
}

static void
expect_dead_lettered(
    const char *queue, const char *what, const void *body, size_t len)
{
	uint32_t before = wh_queue_depth(h, RS_Q_DEAD);

	assert_int_equal(wh_publish_raw(h, queue, body, len), RS_OK);
	wait_dead_lettered(before, queue, what);
}

/* expect_dead_lettered for a batch: body published with content_type
 * (one of the RS_CT_*_BATCH), so the consumer takes it for a batch. */
static void
expect_batch_dead_lettered(const char *queue, const char *content_type,
    const char *what, const void *body, size_t len)
{
	rs_mq_props props = { .content_type = content_type };
	uint32_t before = wh_queue_depth(h, RS_Q_DEAD);

	assert_int_equal(
	    rs_mq_publish(wh_mq(h), "", queue, body, len, &props), RS_OK);
	wait_dead_lettered(before, queue, what);
}

/* A body that decodes as no batch at all, labelled as one. */
static void
expect_undecodable_batch_dead_lettered(
    const char *queue, const char *content_type, const char *what)
{
	static const char garbage[] = "\xff\xff not a batch";

	expect_batch_dead_lettered(
	    queue, content_type, what, garbage, sizeof(garbage) - 1);
}

static void
send_bad_messages(const char *queue)
{
	static const char garbage[] = "\xff\xff\xff\xff this is not protobuf";
	uint8_t buf[512];
	wh_req r;
	size_t len;

	expect_dead_lettered(
	    queue, "non-protobuf", garbage, sizeof(garbage) - 1);

	/* A valid request cut inside its request_id. */
	wh_req_add_user(&r, "a-user-name-long-enough-to-cut");
	len = rideshare__db_request__pack(&r.req, buf);
	expect_dead_lettered(queue, "truncated", buf, 10);

	r.req.request_id = "";
	len = rideshare__db_request__pack(&r.req, buf);
	expect_dead_lettered(queue, "no-request-id", buf, len);

	wh_req_add_user(&r, "x");
	r.req.op_case = RIDESHARE__DB_REQUEST__OP__NOT_SET;
	len = rideshare__db_request__pack(&r.req, buf);
	expect_dead_lettered(queue, "no-op", buf, len);
}

static void
test_bad_messages_on_writeQ_are_dead_lettered(void **state)
{
	(void) state;
	send_bad_messages(RS_Q_WRITE);
	assert_serving();
}

static void
test_bad_messages_on_readQ_are_dead_lettered(void **state)
{
	(void) state;
	send_bad_messages(RS_Q_READ);
	assert_serving();
}

static void
test_bad_messages_on_orchestrator_are_dead_lettered(void **state)
{
	(void) state;
	if (!wh_orchestrated(h))
		skip(); /* nobody consumes `orchestrator` without one */
	send_bad_messages(RS_Q_ORCHESTRATOR);
	assert_serving();
}

static void
test_read_stamped_beyond_any_commit_is_dead_lettered(void **state)
{
	uint8_t buf[512];
	wh_req r;
	size_t len;

	(void) state;
	wh_req_count_rides(&r);
	r.req.min_seq = UINT64_MAX;
	len = rideshare__db_request__pack(&r.req, buf);
	expect_dead_lettered(RS_Q_READ, "min_seq=2^64-1", buf, len);
	assert_serving();
}

static void
test_read_waiting_for_an_unreached_seq_ends_within_its_bound(void **state)
{
	Rideshare__DbResponse *resp = NULL;
	wh_req r;

	(void) state;
	assert_serving();
	wh_req_count_rides(&r);
	r.req.min_seq = wh_commit_seq(h) + 1000; /* in range, never reached */
	int64_t t0 = rs_time_now_ms();
	assert_int_equal(wh_send_read_direct(h, &r.req), RS_OK);
	assert_int_equal(wh_recv(h, 10000, &resp), RS_OK);
	int64_t ms = rs_time_now_ms() - t0;
	printf("bad_message: read parked for an unreached seq answered %s "
	       "after %lld ms\n",
	    rs_status_name(resp->status), (long long) ms);
	assert_int_equal(resp->status, RIDESHARE__STATUS__UNAVAILABLE);
	assert_true(ms < 5000);
	rideshare__db_response__free_unpacked(resp, NULL);
	assert_serving();
}

/* Some SLAVE's id (its sync queue is where a forged event lands). */
static void
some_slave(char *id, size_t len)
{
	char **names;
	int n;

	assert_int_equal(
	    rs_zk_children(wh_zk(h), RS_ZK_WORKERS, false, &names, &n), RS_OK);
	id[0] = '\0';
	for (int i = 0; i < n && id[0] == '\0'; i++) {
		Rideshare__WorkerInfo *wi;
		if (wh_worker_info(h, names[i], &wi) != RS_OK)
			continue;
		if (wi->role == RIDESHARE__ROLE__SLAVE)
			snprintf(id, len, "%s", wi->id);
		rideshare__worker_info__free_unpacked(wi, NULL);
	}
	rs_zk_free_children(names, n);
	assert_true(id[0] != '\0');
}

static void
forge_event(const char *queue, const char *what, const char *user,
    uint64_t epoch, uint64_t seq)
{
	Rideshare__SyncEvent ev = RIDESHARE__SYNC_EVENT__INIT;
	Rideshare__DbResponse ok = RIDESHARE__DB_RESPONSE__INIT;
	uint8_t buf[1024];
	wh_req r;

	wh_req_add_user(&r, user);
	ok.request_id = r.req.request_id;
	ok.status = RIDESHARE__STATUS__OK;
	ok.seq = seq;
	ev.epoch = epoch;
	ev.seq = seq;
	ev.request = &r.req;
	ev.result = &ok;
	expect_dead_lettered(
	    queue, what, buf, rideshare__sync_event__pack(&ev, buf));
}

/* Publishes a SyncEventBatch of n add_user events (users <prefix>-<i>)
 * of epoch epochs[i] and seq seqs[i] to queue and waits until it is
 * dead-lettered. */
static void
forge_batch(const char *queue, const char *what, const char *prefix, size_t n,
    const uint64_t *epochs, const uint64_t *seqs)
{
	Rideshare__SyncEvent e[4], *ep[4];
	Rideshare__DbResponse ok[4];
	Rideshare__SyncEventBatch b = RIDESHARE__SYNC_EVENT_BATCH__INIT;
	static wh_req r[4];
	char user[80];
	uint8_t buf[4096];

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "%s-%zu", prefix, i);
		wh_req_add_user(&r[i], user);
		rideshare__db_response__init(&ok[i]);
		ok[i].request_id = r[i].req.request_id;
		ok[i].status = RIDESHARE__STATUS__OK;
		ok[i].seq = seqs[i];
		rideshare__sync_event__init(&e[i]);
		e[i].epoch = epochs[i];
		e[i].seq = seqs[i];
		e[i].request = &r[i].req;
		e[i].result = &ok[i];
		ep[i] = &e[i];
	}
	b.n_events = n;
	b.events = ep;
	expect_batch_dead_lettered(queue, RS_CT_SYNC_BATCH, what, buf,
	    rideshare__sync_event_batch__pack(&b, buf));
}

static void
assert_no_user(const char *name)
{
	Rideshare__DbResponse *resp;
	wh_req r;

	wh_req_get_user(&r, name);
	assert_int_equal(wh_call(h, &r.req, 5000, 2, &resp), RS_OK);
	assert_int_equal(resp->status, RIDESHARE__STATUS__NOT_FOUND);
	rideshare__db_response__free_unpacked(resp, NULL);
}

/* What both forged-sync tests start from: a serving cluster (at least one
 * write applied everywhere), some slave's sync queue (in queue) and the
 * current epoch from ZooKeeper (in *epoch), so that only what the test
 * forges is wrong. */
static void
sync_target(char *queue, size_t cap, uint64_t *epoch)
{
	char slave[64], *data;
	size_t len;

	assert_serving();
	some_slave(slave, sizeof(slave));
	snprintf(queue, cap, RS_Q_SYNC_PREFIX "%s", slave);
	assert_int_equal(
	    rs_zk_get(wh_zk(h), RS_ZK_EPOCH, false, &data, &len), RS_OK);
	*epoch = strtoull(data, NULL, 10);
	free(data);
}

static void
test_forged_sync_events_are_dead_lettered(void **state)
{
	char queue[80];
	uint64_t epoch;

	(void) state;
	sync_target(queue, sizeof(queue), &epoch);
	forge_event(
	    queue, "sync seq=10^12", "forged-gap", epoch, 1000000000000ULL);
	forge_event(
	    queue, "sync epoch=10^9", "forged-epoch", 1000000000ULL, 1);
	forge_event(queue, "sync seq=1 again", "forged-old", epoch, 1);
	assert_serving();
	assert_no_user("forged-gap");
	assert_no_user("forged-epoch");
	assert_no_user("forged-old");
}

static void
test_forged_sync_batches_are_dead_lettered_whole(void **state)
{
	static const char *const users[] = { "fb-gap-0", "fb-gap-1",
		"fb-old-0", "fb-old-1", "fb-old-2", "fb-hole-0", "fb-hole-1",
		"fb-mixed-0", "fb-mixed-1", "fb-one-0" };
	char queue[80];
	uint64_t epoch;

	(void) state;
	sync_target(queue, sizeof(queue), &epoch);
	const uint64_t ep[4] = { epoch, epoch, epoch, epoch };
	const uint64_t far = 1000000000000ULL;
	/* Checked by the slave against its state: the first entry is bad,
	 * the later ones would follow it. */
	forge_batch(queue, "sync batch seq=10^12", "fb-gap", 2, ep,
	    (uint64_t[]) { far, far + 1 });
	forge_batch(queue, "sync batch seq=1 again", "fb-old", 3, ep,
	    (uint64_t[]) { 1, 2, 3 });
	/* Refused by the decoder: not one group of one master. */
	forge_batch(queue, "sync batch with a hole", "fb-hole", 2, ep,
	    (uint64_t[]) { far, far + 2 });
	forge_batch(queue, "sync batch of two epochs", "fb-mixed", 2,
	    (uint64_t[]) { epoch, epoch + 1 }, (uint64_t[]) { far, far + 1 });
	forge_batch(
	    queue, "sync batch of one", "fb-one", 1, ep, (uint64_t[]) { far });
	expect_undecodable_batch_dead_lettered(
	    queue, RS_CT_SYNC_BATCH, "undecodable sync batch");
	assert_serving();
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		assert_no_user(users[i]);
}

/* The pid of the current master (by hand or orchestrated). */
static pid_t
master_now(char *id, size_t cap)
{
	Rideshare__WorkerInfo *wi;
	char *m = wh_master_id(h, 20000);

	assert_non_null(m);
	snprintf(id, cap, "%s", m);
	free(m);
	assert_int_equal(wh_worker_info(h, id, &wi), RS_OK);
	pid_t pid = (pid_t) wi->pid;
	rideshare__worker_info__free_unpacked(wi, NULL);
	assert_true(pid > 0);
	return pid;
}

/* Takes the tap queue's messages until one carries every request of
 * ids[0..n): that message's events (free with
 * rideshare__sync_event_batch__free_unpacked), or fails after 10 s. */
static Rideshare__SyncEventBatch *
tap_find_group(const char *tap, char ids[][64], int n)
{
	int64_t t0 = rs_time_now_ms();

	for (;;) {
		rs_mq_msg m;
		int rc = rs_mq_get(wh_mq(h), tap, true, &m);

		if (rc == RS_ENOTFOUND) {
			if (!wh_wait_turn(t0))
				fail_msg("no sync message carried all %d "
				         "writes of the group",
				    n);
			continue;
		}
		assert_int_equal(rc, RS_OK);
		Rideshare__SyncEventBatch *b = NULL;
		int found = 0;
		if (strcmp(m.content_type, RS_CT_SYNC_BATCH) == 0) {
			assert_null(
			    rs_op_sync_batch_decode(m.body, m.len, &b));
			for (size_t k = 0; k < b->n_events; k++)
				for (int i = 0; i < n; i++)
					if (strcmp(b->events[k]
					               ->request->request_id,
					        ids[i])
					    == 0)
						found++;
		}
		rs_mq_msg_release(wh_mq(h), &m);
		if (b != NULL && found == n)
			return b;
		if (b != NULL)
			rideshare__sync_event_batch__free_unpacked(b, NULL);
	}
}

/* N writes that reach the master while it is stopped (SIGSTOP, so they
 * wait in its prefetch) are one group commit: their SyncEvents leave as
 * ONE SyncEventBatch (a tap queue bound to syncX sees it), in seq order,
 * and the slave applies every one of them (rows and change log). */
static void
test_group_commit_is_one_sync_message(void **state)
{
	enum { N = 20 };
	char tap[80], mid[64], slave[64], ids[N][64], sql[256];
	uint64_t seqs[N], lo = UINT64_MAX, hi = 0;
	wh_req r[N];
	Rideshare__DbResponse *a[N];
	const char *idp[N];

	(void) state;
	assert_serving();
	declare_own_queue(tap, "bm-sync-tap");
	assert_int_equal(rs_mq_bind(wh_mq(h), tap, RS_X_SYNC), RS_OK);
	pid_t pid = master_now(mid, sizeof(mid));
	assert_int_equal(kill(pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		char user[64];
		snprintf(user, sizeof(user), "sb-%s-%d", tag, i);
		wh_req_add_user(&r[i], user);
		snprintf(ids[i], sizeof(ids[i]), "%s", r[i].req.request_id);
		idp[i] = ids[i];
		assert_int_equal(wh_send(h, &r[i].req), RS_OK);
	}
	/* Time for the orchestrator, if any, to pass them on. */
	struct timespec pause = { 0, 500000000 };
	nanosleep(&pause, NULL);
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(wh_recv_replies(h, idp, N, 20000, a), RS_OK);
	for (int i = 0; i < N; i++) {
		assert_int_equal(a[i]->status, RIDESHARE__STATUS__OK);
		seqs[i] = a[i]->seq;
		lo = seqs[i] < lo ? seqs[i] : lo;
		hi = seqs[i] > hi ? seqs[i] : hi;
		rideshare__db_response__free_unpacked(a[i], NULL);
	}
	assert_int_equal(hi - lo + 1, N);

	Rideshare__SyncEventBatch *b = tap_find_group(tap, ids, N);
	assert_int_equal(b->n_events, N);
	for (size_t k = 0; k < b->n_events; k++) {
		assert_int_equal(b->events[k]->seq, lo + k);
		for (int i = 0; i < N; i++)
			if (strcmp(b->events[k]->request->request_id, ids[i])
			    == 0)
				assert_int_equal(seqs[i], lo + k);
	}
	rideshare__sync_event_batch__free_unpacked(b, NULL);
	printf("bad_message: %d writes, one sync message (seqs %llu..%llu)\n",
	    N, (unsigned long long) lo, (unsigned long long) hi);

	/* Applied on a slave: every user, and the change log rows. */
	some_slave(slave, sizeof(slave));
	PGconn *db = wh_worker_db(h, slave);
	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	    "SELECT (SELECT count(*) FROM users WHERE username LIKE "
	    "'sb-%s-%%') + (SELECT count(*) FROM changes WHERE seq "
	    "BETWEEN %llu AND %llu)",
	    tag, (unsigned long long) lo, (unsigned long long) hi);
	int64_t t1 = rs_time_now_ms();
	while (wh_db_int(db, sql) != 2 * N)
		assert_true(wh_wait_turn(t1));
	PQfinish(db);
	assert_int_equal(rs_mq_delete_queue(wh_mq(h), tap), RS_OK);
	assert_serving();
}

/* Publishes a ReadBatch of n count_rides reads (entry 0 spoiled by
 * spoil: 0 none, 1 a write, 2 min_seq 2^64-1), entry i answering to
 * to[i], with consistency c and min_seq. */
static void
publish_batch_to(size_t n, int spoil, const char *const *to,
    Rideshare__Consistency c, uint64_t min_seq, char ids[][64])
{
	Rideshare__BatchedRead e[RS_READ_BATCH_MAX], *ep[RS_READ_BATCH_MAX];
	Rideshare__ReadBatch b = RIDESHARE__READ_BATCH__INIT;
	wh_req r[RS_READ_BATCH_MAX];
	rs_mq_props props = { .content_type = RS_CT_READ_BATCH };

	for (size_t i = 0; i < n; i++) {
		wh_req_count_rides(&r[i]);
		r[i].req.consistency = c;
		r[i].req.min_seq = min_seq;
		if (ids != NULL)
			snprintf(ids[i], 64, "%s", r[i].req.request_id);
		rideshare__batched_read__init(&e[i]);
		e[i].request = &r[i].req;
		e[i].reply_to = (char *) to[i];
		ep[i] = &e[i];
	}
	if (spoil == 1)
		wh_req_add_user(&r[0], "forged-batch-write");
	else if (spoil == 2)
		r[0].req.min_seq = UINT64_MAX;
	b.n_reads = n;
	b.reads = ep;
	assert_int_equal(
	    rs_mq_publish_pb(wh_mq(h), "", RS_Q_READ, &b.base, &props), RS_OK);
}

/* publish_batch_to with every entry answering to reply_to. */
static void
publish_batch(size_t n, int spoil, const char *reply_to, char ids[][64])
{
	const char *to[RS_READ_BATCH_MAX];

	for (size_t i = 0; i < n; i++)
		to[i] = reply_to;
	publish_batch_to(
	    n, spoil, to, RIDESHARE__CONSISTENCY__LINEARIZABLE, 0, ids);
}

/* Takes the replies on q until each of ids[0..n) was answered (OK) once
 * (wh_collect_replies); *msgs and *batches: the messages and the
 * ResponseBatches among them. */
static void
collect_answers(const char *q, char ids[][64], int n, int *msgs, int *batches)
{
	Rideshare__DbResponse *got[RS_READ_BATCH_MAX];
	const char *idp[RS_READ_BATCH_MAX];
	wh_reply_stats st;

	for (int i = 0; i < n; i++)
		idp[i] = ids[i];
	if (wh_collect_replies(h, q, idp, (size_t) n, got, &st) != RS_OK)
		fail_msg("%d reads on %s not all answered", n, q);
	for (int i = 0; i < n; i++) {
		assert_int_equal(got[i]->status, RIDESHARE__STATUS__OK);
		rideshare__db_response__free_unpacked(got[i], NULL);
	}
	*msgs = st.msgs;
	*batches = st.batches;
}

static void
test_read_batches_are_answered_or_dead_lettered(void **state)
{
	char q[80], q2[80], ids[3][64];
	int msgs, batches;
	int64_t t0;

	(void) state;
	assert_serving();
	declare_own_queue(q, "bm-batch-replies");
	declare_own_queue(q2, "bm-batch-replies2");
	t0 = rs_time_now_ms();
	publish_batch(3, 0, q, ids);
	collect_answers(q, ids, 3, &msgs, &batches);
	printf("bad_message: a batch of 3 reads answered in %lld ms "
	       "(%d messages, %d ResponseBatch)\n",
	    (long long) (rs_time_now_ms() - t0), msgs, batches);

	/* Reads that are never held (consistency any): the two for q are
	 * answered in the delivery's one step, so in one ResponseBatch;
	 * the one for q2 alone, as the plain DbResponse. */
	const char *to[3] = { q, q2, q };
	char both[2][64], lone[1][64];
	publish_batch_to(3, 0, to, RIDESHARE__CONSISTENCY__ANY, 0, ids);
	memcpy(both[0], ids[0], 64);
	memcpy(both[1], ids[2], 64);
	memcpy(lone[0], ids[1], 64);
	collect_answers(q, both, 2, &msgs, &batches);
	assert_int_equal(msgs, 1);
	assert_int_equal(batches, 1);
	collect_answers(q2, lone, 1, &msgs, &batches);
	assert_int_equal(msgs, 1);
	assert_int_equal(batches, 0);
	assert_int_equal(wh_queue_depth(h, q), 0);

	/* Reads stamped with the next write's seq: parked until it is
	 * applied, then answered in that pass, together (or, were the
	 * write applied first, in their delivery's step: together too). */
	wh_req w;
	Rideshare__DbResponse *resp;
	char name[64];
	publish_batch_to(3, 0, (const char *[]) { q, q, q },
	    RIDESHARE__CONSISTENCY__LINEARIZABLE, wh_commit_seq(h) + 1, ids);
	struct timespec ts = { 0, 200000000 };
	nanosleep(&ts, NULL);
	printf("bad_message: %u reply messages for the stamped reads "
	       "before the write (0: they were parked)\n",
	    wh_queue_depth(h, q));
	snprintf(name, sizeof(name), "bm-unpark-%s", tag);
	wh_req_add_user(&w, name);
	assert_int_equal(wh_call(h, &w.req, 5000, 2, &resp), RS_OK);
	assert_int_equal(resp->status, RIDESHARE__STATUS__OK);
	rideshare__db_response__free_unpacked(resp, NULL);
	collect_answers(q, ids, 3, &msgs, &batches);
	assert_int_equal(msgs, 1);
	assert_int_equal(batches, 1);

	/* Forged: each must reach rideshare.dead, nothing answered. */
	static const struct {
		size_t n;
		int spoil;
		const char *what;
	} bad[] = { { 1, 0, "batch of one" }, { 2, 1, "batch with a write" },
		{ 2, 2, "batch with min_seq=2^64-1" } };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint32_t before = wh_queue_depth(h, RS_Q_DEAD);
		publish_batch(bad[k].n, bad[k].spoil, q, NULL);
		wait_dead_lettered(before, RS_Q_READ, bad[k].what);
	}
	expect_undecodable_batch_dead_lettered(
	    RS_Q_READ, RS_CT_READ_BATCH, "undecodable batch");
	assert_int_equal(wh_queue_depth(h, q), 0);
	assert_serving();
}

/* Publishes a WriteBatch of n add_user writes of users "<prefix>-<i>",
 * each answering to reply_to (ids[i]: their request ids when not NULL);
 * spoil: 0 none, 1 entry 1 a read, 2 entry 1 with a bad request id, 3
 * entry 2 a retry of entry 0 (same request). */
static void
publish_write_batch(size_t n, int spoil, const char *prefix,
    const char *reply_to, char ids[][64])
{
	Rideshare__DbRequest *rp[4];
	Rideshare__WriteBatch b = RIDESHARE__WRITE_BATCH__INIT;
	wh_req r[4];
	rs_mq_props props
	    = { .content_type = RS_CT_WRITE_BATCH, .persistent = true };

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		char user[64];
		snprintf(user, sizeof(user), "%s-%zu", prefix, i);
		wh_req_add_user(&r[i], user);
		r[i].req.reply_to = (char *) reply_to;
		rp[i] = &r[i].req;
	}
	if (spoil == 1)
		wh_req_count_rides(&r[1]);
	else if (spoil == 2)
		r[1].req.request_id = "bad id";
	else if (spoil == 3)
		rp[2] = &r[0].req;
	for (size_t i = 0; ids != NULL && i < n; i++)
		snprintf(ids[i], 64, "%s", rp[i]->request_id);
	b.n_writes = n;
	b.writes = rp;
	assert_int_equal(
	    rs_mq_publish_pb(wh_mq(h), "", RS_Q_WRITE, &b.base, &props),
	    RS_OK);
}

/* get_user of "<prefix>-<i>" until it answers want (10 s at most). */
static void
expect_user(const char *prefix, size_t i, Rideshare__Status want)
{
	char user[64];
	int64_t t0 = rs_time_now_ms();

	snprintf(user, sizeof(user), "%s-%zu", prefix, i);
	for (;;) {
		wh_req g;
		Rideshare__DbResponse *resp;
		wh_req_get_user(&g, user);
		assert_int_equal(wh_call(h, &g.req, 5000, 2, &resp), RS_OK);
		Rideshare__Status st = resp->status;
		rideshare__db_response__free_unpacked(resp, NULL);
		if (st == want)
			return;
		if (!wh_wait_turn(t0))
			fail_msg("user %s: status %d, expected %d", user,
			    (int) st, (int) want);
	}
}

static void
test_write_batches_are_applied_or_dead_lettered(void **state)
{
	char q[80], good[80], ids[3][64];
	int msgs, batches;

	(void) state;
	assert_serving();
	declare_own_queue(q, "bm-wbatch-replies");
	/* Good, with a retry of its first write inside: three answers
	 * (by hand the harness itself takes the replies off responseQ),
	 * two users. */
	snprintf(good, sizeof(good), "wb-%s-good", tag);
	publish_write_batch(3, 3, good, q, ids);
	if (wh_orchestrated(h)) {
		collect_answers(q, ids, 3, &msgs, &batches);
		printf("bad_message: a WriteBatch of 3 answered in %d "
		       "messages (%d ResponseBatch)\n",
		    msgs, batches);
	}
	expect_user(good, 0, RIDESHARE__STATUS__OK);
	expect_user(good, 1, RIDESHARE__STATUS__OK);

	/* Forged: each must reach rideshare.dead, none of its writes
	 * applied (the good entries included). */
	static const struct {
		size_t n;
		int spoil;
		const char *what;
	} bad[] = { { 1, 0, "write batch of one" },
		{ 3, 1, "write batch with a read" },
		{ 3, 2, "write batch with a bad request id" } };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char prefix[80];
		uint32_t before = wh_queue_depth(h, RS_Q_DEAD);
		snprintf(prefix, sizeof(prefix), "wb-%s-bad%zu", tag, k);
		publish_write_batch(bad[k].n, bad[k].spoil, prefix, q, NULL);
		wait_dead_lettered(before, RS_Q_WRITE, bad[k].what);
	}
	expect_undecodable_batch_dead_lettered(
	    RS_Q_WRITE, RS_CT_WRITE_BATCH, "undecodable write batch");
	/* A write acknowledged after them: reads now see every write the
	 * master took before it. */
	assert_serving();
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char prefix[80];
		snprintf(prefix, sizeof(prefix), "wb-%s-bad%zu", tag, k);
		expect_user(prefix, 0, RIDESHARE__STATUS__NOT_FOUND);
	}
	assert_int_equal(wh_queue_depth(h, q), 0);
}

static void
expect_bad_response_batch(const char *what, const void *body, size_t len)
{
	expect_batch_dead_lettered(
	    RS_Q_RESPONSE, RS_CT_RESPONSE_BATCH, what, body, len);
}

static void
test_bad_response_batches_are_dead_lettered(void **state)
{
	static const char garbage[] = "\xff\xff\xff\xff this is not protobuf";
	Rideshare__DbResponse e[2]
	    = { RIDESHARE__DB_RESPONSE__INIT, RIDESHARE__DB_RESPONSE__INIT };
	Rideshare__DbResponse *ep[2] = { &e[0], &e[1] };
	Rideshare__ResponseBatch b = RIDESHARE__RESPONSE_BATCH__INIT;
	uint8_t buf[256];

	(void) state;
	if (!wh_orchestrated(h))
		skip(); /* by hand the harness itself consumes responseQ */
	expect_bad_response_batch(
	    "non-protobuf batch", garbage, sizeof(garbage) - 1);
	e[0].request_id = "bm-only-one";
	b.n_responses = 1;
	b.responses = ep;
	size_t len = rideshare__response_batch__pack(&b, buf);
	expect_bad_response_batch("one-entry batch", buf, len);
	e[1].request_id = "";
	b.n_responses = 2;
	len = rideshare__response_batch__pack(&b, buf);
	expect_bad_response_batch("batch entry without request_id", buf, len);
	assert_serving();
}

WH_TEST_MAIN("<rideshare-worker>", setup, teardown,
    cmocka_unit_test(test_bad_response_batches_are_dead_lettered),
    cmocka_unit_test(test_bad_messages_on_writeQ_are_dead_lettered),
    cmocka_unit_test(test_bad_messages_on_readQ_are_dead_lettered),
    cmocka_unit_test(test_bad_messages_on_orchestrator_are_dead_lettered),
    cmocka_unit_test(test_read_stamped_beyond_any_commit_is_dead_lettered),
    cmocka_unit_test(test_forged_sync_events_are_dead_lettered),
    cmocka_unit_test(test_forged_sync_batches_are_dead_lettered_whole),
    cmocka_unit_test(test_group_commit_is_one_sync_message),
    cmocka_unit_test(test_read_batches_are_answered_or_dead_lettered),
    cmocka_unit_test(test_write_batches_are_applied_or_dead_lettered),
    cmocka_unit_test(
        test_read_waiting_for_an_unreached_seq_ends_within_its_bound))
