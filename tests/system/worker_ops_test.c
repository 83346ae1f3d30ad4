/* Business rules at the worker (../shared/API.md), master and slave
 * together: duplicate user, ride ids from 1 and after Clear, joining twice
 * or one's own ride, unknown user/ride, join order without the creator,
 * ListRides order, a 150 KB username, RemoveUser cascading to rides, a
 * burst of AddUsers with repeated names in one batch, and
 * read-your-writes through min_seq; every read op in one ReadBatch (the
 * slave runs its reads in one database pipeline) answered exactly as each
 * read alone. By hand it also prints the RSS of both workers (target
 * < 20 MB).
 *
 *   worker_ops_test <path to rideshare-worker> */
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
#define CHECK(x) assert_true(x)
static const char *worker_bin;

/* Sends r and checks the reply's status is want; the reply stays valid
 * until the next call (r == NULL only frees the last one). */
static Rideshare__DbResponse *
expect(const wh_req *r, Rideshare__Status want)
{
	static Rideshare__DbResponse *last;

	if (last != NULL)
		rideshare__db_response__free_unpacked(last, NULL);
	last = NULL;
	if (r == NULL)
		return NULL;
	CHECK(wh_call(h, &r->req, 5000, 1, &last) == 0);
	assert_int_equal(last->status, want);
	return last;
}
static void
rss(pid_t p, const char *w)
{
	char f[64], l[256];
	snprintf(f, 64, "/proc/%d/status", p);
	FILE *fp = fopen(f, "r");
	while (fgets(l, 256, fp))
		if (!strncmp(l, "VmRSS", 5) || !strncmp(l, "VmHWM", 5)
		    || !strncmp(l, "Threads", 7))
			printf("%s %s", w, l);
	fclose(fp);
}
/* AddUsers sent back to back (one master batch, its statements
 * pipelined): a name taken earlier in the same burst, or before it, is
 * ALREADY_EXISTS; the first of each new name is OK. */
static void
burst_of_add_users(void)
{
	static const char *const names[] = { "burst-x", "burst-y", "burst-x",
		"alice", "burst-y", "burst-z" };
	static const Rideshare__Status want[] = { RIDESHARE__STATUS__OK,
		RIDESHARE__STATUS__OK, RIDESHARE__STATUS__ALREADY_EXISTS,
		RIDESHARE__STATUS__ALREADY_EXISTS,
		RIDESHARE__STATUS__ALREADY_EXISTS, RIDESHARE__STATUS__OK };
	enum { N = 6 };
	static wh_req reqs[N];
	Rideshare__DbResponse *resp[N];
	const char *ids[N];
	uint64_t seqs[N];

	for (int i = 0; i < N; i++) {
		wh_req_add_user(&reqs[i], names[i]);
		ids[i] = reqs[i].req.request_id;
		CHECK(wh_send(h, &reqs[i].req) == RS_OK);
	}
	CHECK(wh_recv_replies(h, ids, N, 10000, resp) == RS_OK);
	for (int i = 0; i < N; i++) {
		assert_int_equal(resp[i]->status, want[i]);
		seqs[i] = resp[i]->seq;
		rideshare__db_response__free_unpacked(resp[i], NULL);
	}
	/* Applied in the order sent, each with a seq of its own. */
	for (int i = 1; i < N; i++)
		CHECK(seqs[i] > seqs[i - 1]);
	printf("burst of %d AddUsers: seqs %llu..%llu\n", N,
	    (unsigned long long) seqs[0], (unsigned long long) seqs[N - 1]);
	/* The rest of the test counts the users it added itself. */
	for (int i = 0; i < N; i++)
		if (want[i] == RIDESHARE__STATUS__OK) {
			wh_req_remove_user(&reqs[i], names[i]);
			expect(&reqs[i], RIDESHARE__STATUS__OK);
		}
}

/* got, the batch's answer to read i, must be that read's answer alone,
 * want, but for the request id and the answering replica (another slave
 * may have answered the single read). */
static void
expect_alone(const Rideshare__DbResponse *got,
    const Rideshare__DbResponse *want, size_t i)
{
	Rideshare__DbResponse c = *got; /* shallow: got keeps its own */

	c.request_id = want->request_id;
	c.worker_id = want->worker_id;
	c.seq = want->seq;
	c.epoch = want->epoch;
	size_t len = rideshare__db_response__get_packed_size(&c);
	assert_int_equal(len, rideshare__db_response__get_packed_size(want));
	uint8_t *a = malloc(len + 1), *b = malloc(len + 1);
	rideshare__db_response__pack(&c, a);
	rideshare__db_response__pack(want, b);
	if (memcmp(a, b, len) != 0)
		fail_msg("batched read %zu answered unlike alone", i);
	free(a);
	free(b);
}

/* Publishes r[0..n) (reads, consistency any: never held) as one ReadBatch
 * on readQ and checks each answer equals want[i], its answer alone. */
static void
expect_batch_like_alone(
    wh_req *r, Rideshare__DbResponse *const *want, size_t n)
{
	Rideshare__BatchedRead e[RS_READ_BATCH_MAX], *ep[RS_READ_BATCH_MAX];
	Rideshare__ReadBatch b = RIDESHARE__READ_BATCH__INIT;
	rs_mq_props props = { .content_type = RS_CT_READ_BATCH };
	Rideshare__DbResponse *got[RS_READ_BATCH_MAX];
	const char *ids[RS_READ_BATCH_MAX];
	wh_reply_stats st;
	char q[64];

	assert_true(n >= 2 && n <= RS_READ_BATCH_MAX);
	snprintf(q, sizeof(q), "op-batch-%s", r[0].req.request_id);
	assert_int_equal(
	    rs_mq_declare_queue(wh_mq(h), q, RS_MQ_EXCLUSIVE), RS_OK);
	for (size_t i = 0; i < n; i++) {
		r[i].req.consistency = RIDESHARE__CONSISTENCY__ANY;
		r[i].req.min_seq = 0;
		rideshare__batched_read__init(&e[i]);
		e[i].request = &r[i].req;
		e[i].reply_to = q;
		ep[i] = &e[i];
		ids[i] = r[i].req.request_id;
	}
	b.n_reads = n;
	b.reads = ep;
	assert_int_equal(
	    rs_mq_publish_pb(wh_mq(h), "", RS_Q_READ, &b.base, &props), RS_OK);
	assert_int_equal(wh_collect_replies(h, q, ids, n, got, &st), RS_OK);
	/* Each read answered once, nothing else. */
	assert_int_equal(st.others, 0);
	for (size_t i = 0; i < n; i++) {
		expect_alone(got[i], want[i], i);
		rideshare__db_response__free_unpacked(got[i], NULL);
	}
	assert_int_equal(rs_mq_delete_queue(wh_mq(h), q), RS_OK);
}

enum { BATCHED_READS = 8 };

/* The reads check_reads_batched sends: every read op, found and not. Each
 * call gives them fresh request ids. */
static void
fill_reads(wh_req r[BATCHED_READS], int64_t ride, const char *big)
{
	wh_req_get_ride(&r[0], ride);
	wh_req_get_ride(&r[1], 999);
	wh_req_list_rides(&r[2], 1, 2, 100);
	wh_req_list_rides(&r[3], 1, 2, 0);
	wh_req_get_user(&r[4], big);
	wh_req_get_user(&r[5], "zed");
	wh_req_list_users(&r[6]);
	wh_req_count_rides(&r[7]);
}

/* Every read op, found and not, alone and then in one ReadBatch. */
static void
check_reads_batched(int64_t ride, const char *big)
{
	enum { N = BATCHED_READS };
	wh_req r[N];
	Rideshare__DbResponse *want[N];

	fill_reads(r, ride, big);
	for (int i = 0; i < N; i++)
		CHECK(wh_call(h, &r[i].req, 5000, 1, &want[i]) == 0);
	/* Fresh request ids: these are other reads with the same ops. */
	fill_reads(r, ride, big);
	expect_batch_like_alone(r, want, N);
	for (int i = 0; i < N; i++)
		rideshare__db_response__free_unpacked(want[i], NULL);
	printf("%d reads in one ReadBatch answered as each alone\n", N);
}

static void
test_business_rules_on_master_and_slave(void **state)
{
	char hex[33], m[64], s[64];
	pid_t pm = 0, ps = 0;
	(void) state;
	CHECK(wh_open_tagged(worker_bin, &h, hex) == 0);
	snprintf(m, 64, "op-m-%s", hex);
	snprintf(s, 64, "op-s-%s", hex);
	if (!wh_orchestrated(h)) {
		pm = wh_worker_start(h, m, NULL);
		CHECK(wh_wait_role(h, m, RIDESHARE__ROLE__MASTER, 20000) == 0);
		ps = wh_worker_start(h, s, NULL);
		CHECK(wh_wait_role(h, s, RIDESHARE__ROLE__SLAVE, 20000) == 0);
	}
	Rideshare__DbResponse *p;
	wh_req r;
	wh_req_clear(&r);
	expect(&r, RIDESHARE__STATUS__OK);
	char *big = malloc(150001);
	memset(big, 'b', 150000);
	big[150000] = 0;
	for (int i = 0; i < 150000; i += 7)
		big[i] = 'a' + (i % 26);
	const char *names[] = { "alice", "bob", "carol", big };
	for (int i = 0; i < 4; i++) {
		wh_req_add_user(&r, names[i]);
		expect(&r, RIDESHARE__STATUS__OK);
	}
	wh_req_add_user(&r, "alice");
	printf("dup user: %s\n",
	    expect(&r, RIDESHARE__STATUS__ALREADY_EXISTS)->error);
	burst_of_add_users();
	int64_t ids[4];
	int64_t ts[4] = { 300, 100, 200, 100 };
	for (int i = 0; i < 4; i++) {
		wh_req_create_ride(&r, i == 3 ? big : "alice", ts[i], 1, 2);
		ids[i] = expect(&r, RIDESHARE__STATUS__OK)->ride->ride_id;
	}
	printf("ride ids %lld %lld %lld %lld\n", (long long) ids[0],
	    (long long) ids[1], (long long) ids[2], (long long) ids[3]);
	CHECK(ids[0] == 1 && ids[3] == 4);
	wh_req_create_ride(&r, "nobody", 0, 0, 0);
	expect(&r, RIDESHARE__STATUS__NOT_FOUND);
	/* Joins in order: the answer each gets (say: print its error). */
	const struct {
		int64_t ride;
		const char *user;
		Rideshare__Status want;
		const char *say;
	} joins[] = {
		{ ids[0], "carol", RIDESHARE__STATUS__OK, NULL },
		{ ids[0], "bob", RIDESHARE__STATUS__OK, NULL },
		{ ids[0], big, RIDESHARE__STATUS__OK, NULL },
		{ ids[0], "bob", RIDESHARE__STATUS__ALREADY_EXISTS,
		    "join twice" },
		{ ids[0], "alice", RIDESHARE__STATUS__INVALID, "join own" },
		{ 999, "bob", RIDESHARE__STATUS__NOT_FOUND, NULL },
		{ ids[0], "zed", RIDESHARE__STATUS__NOT_FOUND, NULL },
	};
	for (size_t i = 0; i < sizeof(joins) / sizeof(joins[0]); i++) {
		wh_req_join_ride(&r, joins[i].ride, joins[i].user);
		p = expect(&r, joins[i].want);
		if (joins[i].say != NULL)
			printf("%s: %s\n", joins[i].say, p->error);
	}
	/* reads on slave */
	wh_req_get_ride(&r, ids[0]);
	p = expect(&r, RIDESHARE__STATUS__OK);
	CHECK(p->ride->n_users == 3);
	CHECK(!strcmp(p->ride->users[0], "carol")
	    && !strcmp(p->ride->users[1], "bob")
	    && !strcmp(p->ride->users[2], big));
	wh_req_list_rides(&r, 1, 2, 100);
	p = expect(&r, RIDESHARE__STATUS__OK);
	printf("list after 100:");
	for (size_t i = 0; i < p->rides->n_rides; i++)
		printf(" %lld@%lld", (long long) p->rides->rides[i]->ride_id,
		    (long long) p->rides->rides[i]->timestamp);
	printf("\n");
	CHECK(p->rides->n_rides == 2 && p->rides->rides[0]->ride_id == ids[2]);
	wh_req_list_rides(&r, 1, 2, 0);
	p = expect(&r, RIDESHARE__STATUS__OK);
	CHECK(p->rides->n_rides == 4 && p->rides->rides[0]->ride_id == ids[1]
	    && p->rides->rides[1]->ride_id == ids[3]);
	wh_req_get_user(&r, big);
	CHECK(expect(&r, RIDESHARE__STATUS__OK)->users->n_usernames == 1);
	wh_req_get_user(&r, "zed");
	expect(&r, RIDESHARE__STATUS__NOT_FOUND);
	check_reads_batched(ids[0], big);
	/* remove alice: her rides go */
	wh_req_remove_user(&r, "alice");
	expect(&r, RIDESHARE__STATUS__OK);
	expect(&r, RIDESHARE__STATUS__OK); /* dedupe: same answer */
	wh_req_remove_user(&r, "alice");
	expect(&r, RIDESHARE__STATUS__NOT_FOUND);
	wh_req_count_rides(&r);
	p = expect(&r, RIDESHARE__STATUS__OK);
	printf("count after removing alice: %llu\n",
	    (unsigned long long) p->count);
	CHECK(p->count == 1);
	wh_req_delete_ride(&r, ids[0]);
	expect(&r, RIDESHARE__STATUS__NOT_FOUND);
	wh_req_list_users(&r);
	p = expect(&r, RIDESHARE__STATUS__OK);
	CHECK(p->users->n_usernames == 3
	    && !strcmp(p->users->usernames[0], "bob"));
	wh_req_clear(&r);
	expect(&r, RIDESHARE__STATUS__OK);
	wh_req_add_user(&r, "dan");
	expect(&r, RIDESHARE__STATUS__OK);
	wh_req_create_ride(&r, "dan", 0, 0, 0);
	p = expect(&r, RIDESHARE__STATUS__OK);
	CHECK(p->ride->ride_id == 1);
	printf("after clear ride id %lld\n", (long long) p->ride->ride_id);
	/* read-your-write: 500 (write, read) pairs */
	int64_t t0 = rs_time_now_ms();
	for (int i = 0; i < 500; i++) {
		wh_req_create_ride(&r, "dan", 0, 5, 0);
		expect(&r, RIDESHARE__STATUS__OK);
		wh_req_count_rides(&r);
		CHECK(expect(&r, RIDESHARE__STATUS__OK)->count
		    == (uint64_t) i + 2);
	}
	printf(
	    "500 write+read pairs (read-your-writes via min_seq) in %lld ms\n",
	    (long long) (rs_time_now_ms() - t0));
	if (!wh_orchestrated(h)) {
		rss(pm, "master");
		rss(ps, "slave");
		CHECK(wh_worker_stop(ps, 10000) == 0);
		CHECK(wh_worker_stop(pm, 10000) == 0);
	}
	expect(NULL, RIDESHARE__STATUS__OK);
	free(big);
	wh_close(h);
}

WH_TEST_MAIN("<rideshare-worker>", NULL, NULL,
    cmocka_unit_test(test_business_rules_on_master_and_slave))
