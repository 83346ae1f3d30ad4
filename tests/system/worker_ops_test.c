/* Business rules at the worker (../shared/API.md), master and slave
 * together: duplicate user, ride ids from 1 and after Clear, joining twice
 * or one's own ride, unknown user/ride, join order without the creator,
 * ListRides order, a 150 KB username, RemoveUser cascading to rides, and
 * read-your-writes through min_seq. By hand it also prints the RSS of both
 * workers (target < 20 MB).
 *
 *   worker_ops_test <path to rideshare-worker> */
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
static wh *h;
#define CHECK(x) assert_true(x)
static const char *worker_bin;
/* The reply stays valid until the next call. */
static Rideshare__DbResponse *
call(Rideshare__DbRequest *r)
{
	static Rideshare__DbResponse *last;
	Rideshare__DbResponse *p;
	if (last != NULL)
		rideshare__db_response__free_unpacked(last, NULL);
	last = NULL;
	if (r == NULL)
		return NULL;
	CHECK(wh_call(h, r, 5000, 1, &p) == 0);
	last = p;
	return p;
}
static char rid[64];
static int n;
static Rideshare__DbRequest *
req(void)
{
	static Rideshare__DbRequest r;
	rideshare__db_request__init(&r);
	snprintf(rid, 64, "ops-%d-%ld", n++, (long) time(NULL));
	r.request_id = rid;
	return &r;
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
	Rideshare__DbRequest *r;
	Rideshare__Clear cl = RIDESHARE__CLEAR__INIT;
	r = req();
	r->op_case = RIDESHARE__DB_REQUEST__OP_CLEAR;
	r->clear = &cl;
	p = call(r);
	CHECK(p->status == 0);
	char *big = malloc(150001);
	memset(big, 'b', 150000);
	big[150000] = 0;
	for (int i = 0; i < 150000; i += 7)
		big[i] = 'a' + (i % 26);
	const char *names[] = { "alice", "bob", "carol", big };
	for (int i = 0; i < 4; i++) {
		Rideshare__AddUser a = RIDESHARE__ADD_USER__INIT;
		a.username = (char *) names[i];
		a.password = "x";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
		r->add_user = &a;
		p = call(r);
		CHECK(p->status == 0);
	}
	{
		Rideshare__AddUser a = RIDESHARE__ADD_USER__INIT;
		a.username = "alice";
		a.password = "x";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
		r->add_user = &a;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__ALREADY_EXISTS);
		printf("dup user: %s\n", p->error);
	}
	int64_t ids[4];
	int64_t ts[4] = { 300, 100, 200, 100 };
	for (int i = 0; i < 4; i++) {
		Rideshare__CreateRide c = RIDESHARE__CREATE_RIDE__INIT;
		c.created_by = i == 3 ? big : "alice";
		c.timestamp = ts[i];
		c.source = 1;
		c.destination = 2;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_CREATE_RIDE;
		r->create_ride = &c;
		p = call(r);
		CHECK(p->status == 0);
		ids[i] = p->ride->ride_id;
	}
	printf("ride ids %lld %lld %lld %lld\n", (long long) ids[0],
	    (long long) ids[1], (long long) ids[2], (long long) ids[3]);
	CHECK(ids[0] == 1 && ids[3] == 4);
	{
		Rideshare__CreateRide c = RIDESHARE__CREATE_RIDE__INIT;
		c.created_by = "nobody";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_CREATE_RIDE;
		r->create_ride = &c;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__NOT_FOUND);
	}
	const char *joiners[] = { "carol", "bob", big };
	for (int i = 0; i < 3; i++) {
		Rideshare__JoinRide j = RIDESHARE__JOIN_RIDE__INIT;
		j.ride_id = ids[0];
		j.username = (char *) joiners[i];
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_JOIN_RIDE;
		r->join_ride = &j;
		p = call(r);
		CHECK(p->status == 0);
	}
	{
		Rideshare__JoinRide j = RIDESHARE__JOIN_RIDE__INIT;
		j.ride_id = ids[0];
		j.username = "bob";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_JOIN_RIDE;
		r->join_ride = &j;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__ALREADY_EXISTS);
		printf("join twice: %s\n", p->error);
	}
	{
		Rideshare__JoinRide j = RIDESHARE__JOIN_RIDE__INIT;
		j.ride_id = ids[0];
		j.username = "alice";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_JOIN_RIDE;
		r->join_ride = &j;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__INVALID);
		printf("join own: %s\n", p->error);
	}
	{
		Rideshare__JoinRide j = RIDESHARE__JOIN_RIDE__INIT;
		j.ride_id = 999;
		j.username = "bob";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_JOIN_RIDE;
		r->join_ride = &j;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__NOT_FOUND);
	}
	{
		Rideshare__JoinRide j = RIDESHARE__JOIN_RIDE__INIT;
		j.ride_id = ids[0];
		j.username = "zed";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_JOIN_RIDE;
		r->join_ride = &j;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__NOT_FOUND);
	}
	/* reads on slave */
	{
		Rideshare__GetRide g = RIDESHARE__GET_RIDE__INIT;
		g.ride_id = ids[0];
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_GET_RIDE;
		r->get_ride = &g;
		p = call(r);
		CHECK(p->status == 0);
		CHECK(p->ride->n_users == 3);
		CHECK(!strcmp(p->ride->users[0], "carol")
		    && !strcmp(p->ride->users[1], "bob")
		    && !strcmp(p->ride->users[2], big));
	}
	{
		Rideshare__ListRides l = RIDESHARE__LIST_RIDES__INIT;
		l.source = 1;
		l.destination = 2;
		l.after = 100;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_LIST_RIDES;
		r->list_rides = &l;
		p = call(r);
		CHECK(p->status == 0);
		printf("list after 100:");
		for (size_t i = 0; i < p->rides->n_rides; i++)
			printf(" %lld@%lld",
			    (long long) p->rides->rides[i]->ride_id,
			    (long long) p->rides->rides[i]->timestamp);
		printf("\n");
		CHECK(p->rides->n_rides == 2
		    && p->rides->rides[0]->ride_id == ids[2]);
	}
	{
		Rideshare__ListRides l = RIDESHARE__LIST_RIDES__INIT;
		l.source = 1;
		l.destination = 2;
		l.after = 0;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_LIST_RIDES;
		r->list_rides = &l;
		p = call(r);
		CHECK(p->rides->n_rides == 4
		    && p->rides->rides[0]->ride_id == ids[1]
		    && p->rides->rides[1]->ride_id == ids[3]);
	}
	{
		Rideshare__GetUser g = RIDESHARE__GET_USER__INIT;
		g.username = big;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_GET_USER;
		r->get_user = &g;
		p = call(r);
		CHECK(p->status == 0 && p->users->n_usernames == 1);
	}
	{
		Rideshare__GetUser g = RIDESHARE__GET_USER__INIT;
		g.username = "zed";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_GET_USER;
		r->get_user = &g;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__NOT_FOUND);
	}
	/* remove alice: her rides go */
	{
		Rideshare__RemoveUser u = RIDESHARE__REMOVE_USER__INIT;
		u.username = "alice";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_REMOVE_USER;
		r->remove_user = &u;
		p = call(r);
		CHECK(p->status == 0);
		p = call(r);
		CHECK(p->status == 0); /* dedupe: same answer */
	}
	{
		Rideshare__RemoveUser u = RIDESHARE__REMOVE_USER__INIT;
		u.username = "alice";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_REMOVE_USER;
		r->remove_user = &u;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__NOT_FOUND);
	}
	{
		Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
		r->count_rides = &c;
		p = call(r);
		printf("count after removing alice: %llu\n",
		    (unsigned long long) p->count);
		CHECK(p->count == 1);
	}
	{
		Rideshare__DeleteRide d = RIDESHARE__DELETE_RIDE__INIT;
		d.ride_id = ids[0];
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_DELETE_RIDE;
		r->delete_ride = &d;
		p = call(r);
		CHECK(p->status == RIDESHARE__STATUS__NOT_FOUND);
	}
	{
		Rideshare__ListUsers l = RIDESHARE__LIST_USERS__INIT;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_LIST_USERS;
		r->list_users = &l;
		p = call(r);
		CHECK(p->users->n_usernames == 3
		    && !strcmp(p->users->usernames[0], "bob"));
	}
	r = req();
	r->op_case = RIDESHARE__DB_REQUEST__OP_CLEAR;
	r->clear = &cl;
	p = call(r);
	{
		Rideshare__AddUser a = RIDESHARE__ADD_USER__INIT;
		a.username = "dan";
		a.password = "x";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
		r->add_user = &a;
		p = call(r);
	}
	{
		Rideshare__CreateRide c = RIDESHARE__CREATE_RIDE__INIT;
		c.created_by = "dan";
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_CREATE_RIDE;
		r->create_ride = &c;
		p = call(r);
		CHECK(p->ride->ride_id == 1);
		printf("after clear ride id %lld\n",
		    (long long) p->ride->ride_id);
	}
	/* read-your-write: 500 (write, read) pairs */
	int64_t t0 = rs_time_now_ms();
	for (int i = 0; i < 500; i++) {
		Rideshare__CreateRide c = RIDESHARE__CREATE_RIDE__INIT;
		c.created_by = "dan";
		c.source = 5;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_CREATE_RIDE;
		r->create_ride = &c;
		p = call(r);
		Rideshare__CountRides cr = RIDESHARE__COUNT_RIDES__INIT;
		r = req();
		r->op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
		r->count_rides = &cr;
		p = call(r);
		CHECK(p->count == (uint64_t) i + 2);
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
	call(NULL);
	free(big);
	wh_close(h);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_business_rules_on_master_and_slave),
	};
	worker_bin = wh_main_args(argc, argv, "<rideshare-worker>");
	if (worker_bin == NULL)
		return 2;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
