/* bench_load: loads the benchmark data set through the real write path
 * (queue RS_Q_ORCHESTRATOR -> master -> slaves), with N threads each owning an
 * rs_rpc like a gateway thread: U users "<prefix><i>", then R upcoming
 * rides spread evenly over the (source, destination) pairs of the given
 * area ranges, ride i created by user i % U, timestamps 30 days ahead.
 *
 *   bench_load --url AMQP_URL [--clients N] [--users U] [--rides R]
 *              [--prefix P] [--src LO:HI] [--dst LO:HI]
 *
 * Prints one JSON object: counts, write rates, the ride id range. Exits 1
 * when any write failed. */
#include "bench_util.h"
#include "rs_contract.h"
#include "rideshare.pb-c.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSWORD "3d725109c7e7c0bfb9d709836735b56d943d263f"

static const char *prefix = "bench_u";
static long nusers = 100, nrides = 10000;
static int src_lo = 1, src_hi = 25, dst_lo = 101, dst_hi = 140;
static int64_t ts_base;
static atomic_long next_op;
static atomic_long min_id = 1L << 62, max_id;

struct client {
	pthread_t th;
	rs_rpc *rpc;
	int phase; /* 0 users, 1 rides */
	long errors;
};

static void
note_id(int64_t id)
{
	long cur = atomic_load(&min_id);

	while (id < cur && !atomic_compare_exchange_weak(&min_id, &cur, id))
		;
	cur = atomic_load(&max_id);
	while (id > cur && !atomic_compare_exchange_weak(&max_id, &cur, id))
		;
}

static int
one(struct client *c, long i)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__AddUser au = RIDESHARE__ADD_USER__INIT;
	Rideshare__CreateRide cr = RIDESHARE__CREATE_RIDE__INIT;
	Rideshare__DbResponse *resp;
	char id[RS_ID_LEN + 1], name[128];
	long npairs = (long) (src_hi - src_lo + 1) * (dst_hi - dst_lo + 1);
	long pair, ndst = dst_hi - dst_lo + 1;
	int rc, ok;

	rs_id_new(id);
	req.request_id = id;
	if (c->phase == 0) {
		snprintf(name, sizeof(name), "%s%ld", prefix, i);
		au.username = name;
		au.password = PASSWORD;
		req.op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
		req.add_user = &au;
	} else {
		snprintf(name, sizeof(name), "%s%ld", prefix, i % nusers);
		pair = i % npairs;
		cr.created_by = name;
		cr.timestamp = ts_base + i;
		cr.source = src_lo + (int) (pair / ndst);
		cr.destination = dst_lo + (int) (pair % ndst);
		req.op_case = RIDESHARE__DB_REQUEST__OP_CREATE_RIDE;
		req.create_ride = &cr;
	}
	rc = rs_rpc_call(c->rpc, &req, 10000, &resp);
	if (rc != RS_OK) {
		fprintf(
		    stderr, "bench_load: op %ld: %s\n", i, rs_strerror(rc));
		return 0;
	}
	ok = resp->status == RIDESHARE__STATUS__OK;
	if (!ok)
		fprintf(stderr, "bench_load: op %ld: status %d %s\n", i,
		    resp->status, resp->error ? resp->error : "");
	if (ok && c->phase == 1
	    && resp->result_case == RIDESHARE__DB_RESPONSE__RESULT_RIDE)
		note_id(resp->ride->ride_id);
	rideshare__db_response__free_unpacked(resp, NULL);
	return ok;
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	long total = c->phase == 0 ? nusers : nrides, i;

	while ((i = atomic_fetch_add(&next_op, 1)) < total) {
		if (!one(c, i))
			c->errors++;
	}
	return NULL;
}

static double
run_phase(struct client *cs, int n, int phase, long *errors)
{
	double t0 = bench_now();

	atomic_store(&next_op, 0);
	for (int i = 0; i < n; i++) {
		cs[i].phase = phase;
		pthread_create(&cs[i].th, NULL, client_run, &cs[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(cs[i].th, NULL);
		*errors += cs[i].errors;
		cs[i].errors = 0;
	}
	return bench_now() - t0;
}

/* --src / --dst LO:HI (to: int[2]); exits 2 when it is not one within
 * 1..198. */
static bool
parse_range(const char *opt, const char *s, void *to)
{
	int *lo = &((int *) to)[0], *hi = &((int *) to)[1];

	if (sscanf(s, "%d:%d", lo, hi) != 2 || *lo < 1 || *hi > 198
	    || *lo > *hi) {
		fprintf(stderr, "%s: expected LO:HI within 1..198\n", opt);
		exit(2);
	}
	return true;
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	int clients = 16, rc;
	struct client *cs;
	long errors = 0;
	double tu, tr;

	int src[2] = { src_lo, src_hi }, dst[2] = { dst_lo, dst_hi };
	const bench_opt opts[] = {
		{ "--url", BENCH_STR, &url, 0, 0, NULL },
		{ "--clients", BENCH_INT, &clients, 1, 256, NULL },
		{ "--users", BENCH_LONG, &nusers, 1, 10000000, NULL },
		{ "--rides", BENCH_LONG, &nrides, 0, 10000000, NULL },
		{ "--prefix", BENCH_STR, &prefix, 0, 0, NULL },
		{ "--src", BENCH_FN, src, 0, 0, parse_range },
		{ "--dst", BENCH_FN, dst, 0, 0, parse_range },
		{ NULL, BENCH_STR, NULL, 0, 0, NULL },
	};

	if (bench_args(argc, argv, opts, "bench_load",
	        "--url AMQP_URL [--clients N] [--users U] [--rides R] "
	        "[--prefix P] [--src LO:HI] [--dst LO:HI]",
	        "--url")
	    != 0)
		return 2;
	src_lo = src[0];
	src_hi = src[1];
	dst_lo = dst[0];
	dst_hi = dst[1];
	rs_log_init("bench_load");
	ts_base = (int64_t) time(NULL) + 30 * 86400;
	cs = calloc((size_t) clients, sizeof(*cs));
	for (int i = 0; i < clients; i++) {
		rc = rs_rpc_create(url, RS_Q_ORCHESTRATOR, 10000, &cs[i].rpc);
		if (rc != RS_OK) {
			fprintf(stderr, "bench_load: connect: %s\n",
			    rs_strerror(rc));
			return 1;
		}
	}
	tu = run_phase(cs, clients, 0, &errors);
	tr = run_phase(cs, clients, 1, &errors);
	for (int i = 0; i < clients; i++)
		rs_rpc_destroy(cs[i].rpc);
	free(cs);
	printf("{\"users\": %ld, \"rides\": %ld, \"clients\": %d, "
	       "\"user_writes_per_s\": %.0f, \"ride_writes_per_s\": %.0f, "
	       "\"first_ride_id\": %ld, \"last_ride_id\": %ld, "
	       "\"src\": [%d, %d], \"dst\": [%d, %d], \"errors\": %ld}\n",
	    nusers, nrides, clients, (double) nusers / tu,
	    nrides > 0 ? (double) nrides / tr : 0.0,
	    nrides > 0 ? atomic_load(&min_id) : 0L, atomic_load(&max_id),
	    src_lo, src_hi, dst_lo, dst_hi, errors);
	return errors == 0 ? 0 : 1;
}
