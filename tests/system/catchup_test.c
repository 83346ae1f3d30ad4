/* Catch-up (issue 4): a slave started after 20,000 writes, while writes
 * continue, ends with a database identical to the master's (an md5 digest
 * of every table, compared once both applied the same seq). Prints the
 * write rate through the master and the catch-up time.
 *
 *   catchup_test <path to rideshare-worker> [writes (default 20000)] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_err.h"
#include "worker_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define USERS  1000
#define WINDOW 256

static wh *h;
static const char *worker_bin;
static long nwrites = 20000;
static char master_id[64], tag[40];
static pid_t master_pid;

/* The write workload: users first, then rides created, joined and
 * deleted, and now and then a user removed (rides cascade). */
typedef struct gen {
	unsigned seed;
	long i;
	int64_t *rides;
	size_t nrides, cap;
} gen;

static void
user_name(char *buf, size_t len, unsigned n)
{
	snprintf(buf, len, "cu-%s-u%u", tag, n % USERS);
}

static void
next_write(gen *g, wh_req *r)
{
	char u[64];
	long i = g->i++;

	user_name(u, sizeof(u), (unsigned) (i < USERS ? i : rand_r(&g->seed)));
	if (i < USERS) {
		wh_req_add_user(r, u);
		return;
	}
	int k = (int) (i % 20);
	if (g->nrides == 0 || k < 10) {
		wh_req_create_ride(r, u,
		    4102444800 + rand_r(&g->seed) % 100000,
		    1 + rand_r(&g->seed) % 198, 1 + rand_r(&g->seed) % 198);
	} else if (k < 17) {
		wh_req_join_ride(r, g->rides[rand_r(&g->seed) % g->nrides], u);
	} else if (k < 19) {
		wh_req_delete_ride(r, g->rides[rand_r(&g->seed) % g->nrides]);
	} else if (i % 200 == 19) {
		wh_req_remove_user(r, u);
	} else {
		wh_req_add_user(r, u); /* mostly ALREADY_EXISTS */
	}
}

static void
note_reply(gen *g, Rideshare__DbResponse *r)
{
	if (r->status == RIDESHARE__STATUS__OK
	    && r->result_case == RIDESHARE__DB_RESPONSE__RESULT_RIDE) {
		if (g->nrides == g->cap) {
			g->cap = g->cap ? g->cap * 2 : 1024;
			g->rides = realloc(g->rides, g->cap * sizeof(int64_t));
			assert_non_null(g->rides);
		}
		g->rides[g->nrides++] = r->ride->ride_id;
	}
	rideshare__db_response__free_unpacked(r, NULL);
}

/* Sends n writes keeping WINDOW in flight; calls poll() between replies
 * (may be NULL). Returns when every write is answered. */
static void
write_many(gen *g, long n, void (*poll)(void))
{
	long sent = 0, answered = 0;
	int64_t last = rs_time_now_ms();

	while (answered < n) {
		while (sent < n && sent - answered < WINDOW) {
			wh_req r;
			next_write(g, &r);
			assert_int_equal(wh_send(h, &r.req), RS_OK);
			sent++;
		}
		Rideshare__DbResponse *resp;
		int rc = wh_recv(h, 200, &resp);
		if (rc == RS_OK) {
			note_reply(g, resp);
			answered++;
			last = rs_time_now_ms();
		} else {
			assert_true(rc == RS_ETIMEDOUT);
			assert_true(rs_time_now_ms() - last < 30000);
		}
		if (poll != NULL)
			poll();
	}
}

static char slave_id[64];
static pid_t slave_pid;
static int64_t slave_t0, slave_ready_ms = -1, last_poll;

static void
poll_slave(void)
{
	if (slave_ready_ms >= 0 || rs_time_now_ms() - last_poll < 20)
		return;
	last_poll = rs_time_now_ms();
	if (wh_wait_role(h, slave_id, RIDESHARE__ROLE__SLAVE, 0) == RS_OK)
		slave_ready_ms = rs_time_now_ms() - slave_t0;
}

static uint64_t
applied_seq(const char *id)
{
	PGconn *db = wh_worker_db(h, id);
	assert_non_null(db);
	int64_t v = wh_db_int(db, "SELECT applied_seq FROM meta");
	PQfinish(db);
	return (uint64_t) v;
}

static int
setup(void **state)
{
	char hand_id[64];

	(void) state;
	if (wh_open_tagged(worker_bin, &h, tag) != RS_OK)
		return -1;
	snprintf(hand_id, sizeof(hand_id), "cu-m-%s", tag);
	if (wh_master_ready(
	        h, hand_id, NULL, master_id, sizeof(master_id), &master_pid)
	    != RS_OK)
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

static void
test_late_slave_ends_identical_to_master(void **state)
{
	gen g = { .seed = 42 };

	(void) state;
	int64_t t0 = rs_time_now_ms();
	write_many(&g, nwrites, NULL);
	int64_t ms = rs_time_now_ms() - t0;
	printf("catchup: %ld writes in %lld ms = %.0f writes/s (%s)\n",
	    nwrites, (long long) ms, nwrites * 1000.0 / (double) (ms ? ms : 1),
	    wh_orchestrated(h) ? "through the orchestrator"
	                       : "straight to writeQ");

	snprintf(slave_id, sizeof(slave_id), "cu-s-%s", tag);
	slave_t0 = rs_time_now_ms();
	slave_pid = wh_worker_start(h, slave_id, NULL);
	/* Writes continue while the slave copies and replays. */
	while (slave_ready_ms < 0) {
		write_many(&g, 500, poll_slave);
		assert_true(rs_time_now_ms() - slave_t0 < 120000);
		assert_int_equal(wh_worker_wait(slave_pid, 0), -1);
	}
	write_many(&g, 1000, NULL);
	printf("catchup: slave serving %lld ms after start, with %ld writes "
	       "before it and writes going on\n",
	    (long long) slave_ready_ms, nwrites);

	uint64_t m = applied_seq(master_id), s = 0;
	int64_t t1 = rs_time_now_ms();
	while ((s = applied_seq(slave_id)) < m) {
		assert_true(rs_time_now_ms() - t1 < 30000);
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(s, m);
	PGconn *mdb = wh_worker_db(h, master_id);
	PGconn *sdb = wh_worker_db(h, slave_id);
	assert_non_null(mdb);
	assert_non_null(sdb);
	char *md = wh_db_digest(mdb), *sd = wh_db_digest(sdb);
	printf("catchup: applied_seq=%llu rides=%lld members=%lld\n"
	       "  master %s\n  slave  %s\n",
	    (unsigned long long) m,
	    (long long) wh_db_int(mdb, "SELECT count(*) FROM rides"),
	    (long long) wh_db_int(mdb, "SELECT count(*) FROM ride_members"),
	    md, sd);
	assert_string_equal(md, sd);
	free(sd);
	PQfinish(mdb);
	PQfinish(sdb);

	/* Graceful stop: exit 0, and the database outlives the process with
	 * everything in it (retiring a copy is the orchestrator's call). */
	int st = wh_worker_stop(slave_pid, 10000);
	slave_pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	sdb = wh_worker_db(h, slave_id);
	assert_non_null(sdb);
	char *kept = wh_db_digest(sdb);
	assert_string_equal(kept, md);
	free(kept);
	free(md);
	PQfinish(sdb);
	free(g.rides);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_slave_ends_identical_to_master),
	};
	worker_bin = wh_main_args(argc, argv, "<rideshare-worker> [writes]");
	if (worker_bin == NULL)
		return 2;
	if (argc > 2)
		nwrites = strtol(argv[2], NULL, 10);
	return cmocka_run_group_tests(tests, setup, teardown);
}
