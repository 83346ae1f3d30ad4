/* rpc_floor: the raw RabbitMQ RPC limit from C. N requester threads, each
 * with its own rs_rpc (exactly like a gateway's per-thread client: one
 * call in flight, direct reply-to), call a private queue; one echo
 * responder thread (like a slave: prefetch 64, manual ack) decodes each
 * DbRequest and answers a DbResponse with the same request_id to the
 * caller's reply_to. One broker hop each way, no database.
 *
 * --relay adds a relay thread between them that does what the
 * orchestrator does for a read (consume with manual ack, prefetch 512,
 * decode, re-encode, publish to a second queue with the caller's reply_to
 * and correlation id, ack): the broker path of a read in this design,
 * without HTTP and PostgreSQL.
 *
 * --ack each (default) acknowledges every delivery on its own, as the
 * orchestrator and the slaves do; --ack batch acknowledges with
 * multiple=true once no further delivery is already buffered in the client
 * (or every 64 deliveries): the same safety (ack after publish), fewer
 * frames and wake-ups in the broker.
 *
 *   rpc_floor --url AMQP_URL [--clients N] [--seconds S] [--relay]
 *             [--ack each|batch]
 *
 * Prints one JSON object: clients, calls, calls_per_s, p50_ms, p99_ms,
 * errors. */
#include "bench_util.h"
#include "rideshare.pb-c.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_mq.h"
#include "rs_rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESPONDER_PREFETCH 64
#define RELAY_PREFETCH     512
#define ACK_BATCH_MAX      64

static const char *url;
static char queue[64]; /* what the clients call */
static char relay_out[64]; /* relay -> responder, with --relay */
static int relay, ack_batch;
static atomic_int stop_threads;
static atomic_int threads_ready;
static double t_end;

/* Acknowledges tag now (--ack each), or collects it and acknowledges all
 * collected ones with multiple=true once nothing more is buffered
 * (--ack batch). *pending counts the unacknowledged deliveries. */
static int
ack_one(rs_mq *mq, uint64_t tag, int *pending)
{
	if (!ack_batch)
		return rs_mq_ack(mq, tag, false);
	if (++*pending < ACK_BATCH_MAX && rs_mq_has_buffered(mq))
		return RS_OK;
	*pending = 0;
	return rs_mq_ack(mq, tag, true);
}

struct client {
	pthread_t th;
	rs_rpc *rpc;
	bench_lat lat;
	long calls, errors;
};

/* Unpacks m's DbRequest, has pass publish what the stage makes of it into
 * buf (cap bytes), then acknowledges m. A body that is not a DbRequest is
 * acknowledged and dropped. */
static int
on_request(rs_mq *mq, const rs_mq_msg *m, uint8_t *buf, size_t cap,
    int *pending,
    int (*pass)(
        rs_mq *, const rs_mq_msg *, Rideshare__DbRequest *, uint8_t *, size_t))
{
	Rideshare__DbRequest *req;
	int rc = RS_OK;

	req = rideshare__db_request__unpack(NULL, m->len, m->body);
	if (req != NULL) {
		rc = pass(mq, m, req, buf, cap);
		rideshare__db_request__free_unpacked(req, NULL);
	}
	if (rc == RS_OK)
		rc = ack_one(mq, m->delivery_tag, pending);
	return rc;
}

/* The responder: an OK answer to the caller, nothing read. */
static int
pass_echo(rs_mq *mq, const rs_mq_msg *m, Rideshare__DbRequest *req,
    uint8_t *buf, size_t cap)
{
	Rideshare__DbResponse resp = RIDESHARE__DB_RESPONSE__INIT;
	rs_mq_props props = { 0 };
	size_t len;

	resp.request_id = req->request_id;
	resp.status = RIDESHARE__STATUS__OK;
	resp.worker_id = "rpc_floor";
	len = rideshare__db_response__get_packed_size(&resp);
	if (len > cap)
		return RS_OK;
	rideshare__db_response__pack(&resp, buf);
	props.correlation_id = m->correlation_id;
	return rs_mq_publish(mq, "", m->reply_to, buf, len, &props);
}

/* The orchestrator's read routing, without the bookkeeping. */
static int
pass_relay(rs_mq *mq, const rs_mq_msg *m, Rideshare__DbRequest *req,
    uint8_t *buf, size_t cap)
{
	rs_mq_props props = { 0 };
	size_t len;

	req->min_seq = 1;
	len = rideshare__db_request__get_packed_size(req);
	if (len > cap)
		return RS_OK;
	rideshare__db_request__pack(req, buf);
	props.reply_to = m->reply_to;
	props.correlation_id = m->correlation_id;
	return rs_mq_publish(mq, "", relay_out, buf, len, &props);
}

static int
echo_one(rs_mq *mq, const rs_mq_msg *m, uint8_t *buf, size_t cap, int *pending)
{
	return on_request(mq, m, buf, cap, pending, pass_echo);
}

static int
relay_one(
    rs_mq *mq, const rs_mq_msg *m, uint8_t *buf, size_t cap, int *pending)
{
	return on_request(mq, m, buf, cap, pending, pass_relay);
}

struct stage {
	const char *name;
	const char *in; /* queue consumed */
	int prefetch;
	int (*fn)(rs_mq *, const rs_mq_msg *, uint8_t *, size_t, int *);
};

static void *
stage_run(void *arg)
{
	const struct stage *st = arg;
	uint8_t buf[4096];
	int pending = 0, rc;
	rs_mq_msg m;
	rs_mq *mq;

	if ((rc = rs_mq_connect_retry(url, st->name, 5000, &mq)) != RS_OK
	    || (rc = rs_mq_declare_queue(
	            mq, st->in, RS_MQ_EXCLUSIVE | RS_MQ_AUTODELETE))
	        != RS_OK
	    || (rc = rs_mq_qos(mq, (uint16_t) st->prefetch)) != RS_OK
	    || (rc = rs_mq_consume(mq, st->in, false, NULL)) != RS_OK) {
		fprintf(
		    stderr, "rpc_floor: %s: %s\n", st->name, rs_strerror(rc));
		exit(1);
	}
	atomic_fetch_add(&threads_ready, 1);
	while (!atomic_load(&stop_threads)) {
		rc = rs_mq_next(mq, 100, &m);
		if (rc == RS_ETIMEDOUT)
			continue;
		if (rc == RS_OK) {
			rc = st->fn(mq, &m, buf, sizeof(buf), &pending);
			rs_mq_msg_release(mq, &m);
		}
		if (rc != RS_OK) {
			fprintf(stderr, "rpc_floor: %s: %s\n", st->name,
			    rs_strerror(rc));
			exit(1);
		}
	}
	rs_mq_destroy(mq);
	return NULL;
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__GetRide get = RIDESHARE__GET_RIDE__INIT;
	Rideshare__DbResponse *resp;
	char id[RS_ID_LEN + 1];

	req.op_case = RIDESHARE__DB_REQUEST__OP_GET_RIDE;
	req.get_ride = &get;
	get.ride_id = 1;
	while (bench_now() < t_end) {
		double t0 = bench_now();

		rs_id_new(id);
		req.request_id = id;
		if (rs_rpc_call(c->rpc, &req, 5000, &resp) != RS_OK) {
			c->errors++;
			continue;
		}
		rideshare__db_response__free_unpacked(resp, NULL);
		bench_lat_add(&c->lat, (bench_now() - t0) * 1000.0);
		c->calls++;
	}
	return NULL;
}

/* --ack each|batch (to: int *ack_batch); anything else: usage. */
static bool
parse_ack(const char *opt, const char *s, void *to)
{
	(void) opt;
	if (strcmp(s, "each") != 0 && strcmp(s, "batch") != 0)
		return false;
	*(int *) to = strcmp(s, "batch") == 0;
	return true;
}

int
main(int argc, char **argv)
{
	int clients = 16, seconds = 5, rc, nstages;
	struct client *cs;
	struct stage stages[2];
	pthread_t sth[2];
	bench_lat all = { 0 };
	long calls = 0, errors = 0;
	double t0, el;

	const bench_opt opts[] = {
		{ "--url", BENCH_STR, &url, 0, 0, NULL },
		{ "--clients", BENCH_INT, &clients, 1, 1024, NULL },
		{ "--seconds", BENCH_INT, &seconds, 1, 3600, NULL },
		{ "--relay", BENCH_FLAG, &relay, 0, 0, NULL },
		{ "--ack", BENCH_FN, &ack_batch, 0, 0, parse_ack },
		{ NULL, BENCH_STR, NULL, 0, 0, NULL },
	};

	if (bench_args(argc, argv, opts, "rpc_floor",
	        "--url AMQP_URL [--clients N] [--seconds S] [--relay] "
	        "[--ack each|batch]",
	        "--url")
	    != 0)
		return 2;
	rs_log_init("rpc_floor");
	snprintf(queue, sizeof(queue), "bench.rpc_floor.%ld", (long) getpid());
	snprintf(relay_out, sizeof(relay_out), "bench.rpc_floor.%ld.out",
	    (long) getpid());
	stages[0] = (struct stage) { "rpc_floor_responder",
		relay ? relay_out : queue, RESPONDER_PREFETCH, echo_one };
	stages[1] = (struct stage) { "rpc_floor_relay", queue, RELAY_PREFETCH,
		relay_one };
	nstages = relay ? 2 : 1;
	for (int i = 0; i < nstages; i++)
		pthread_create(&sth[i], NULL, stage_run, &stages[i]);
	while (atomic_load(&threads_ready) < nstages)
		usleep(1000);
	cs = calloc((size_t) clients, sizeof(*cs));
	for (int i = 0; i < clients; i++) {
		if ((rc = rs_rpc_create(url, queue, 5000, &cs[i].rpc))
		    != RS_OK) {
			fprintf(stderr, "rpc_floor: connect: %s\n",
			    rs_strerror(rc));
			return 1;
		}
	}
	t0 = bench_now();
	t_end = t0 + seconds;
	for (int i = 0; i < clients; i++)
		pthread_create(&cs[i].th, NULL, client_run, &cs[i]);
	for (int i = 0; i < clients; i++) {
		pthread_join(cs[i].th, NULL);
		bench_lat_merge(&all, &cs[i].lat);
		calls += cs[i].calls;
		errors += cs[i].errors;
	}
	el = bench_now() - t0;
	atomic_store(&stop_threads, 1);
	for (int i = 0; i < nstages; i++)
		pthread_join(sth[i], NULL);
	printf("{\"clients\": %d, \"relay\": %s, \"ack\": \"%s\", "
	       "\"calls\": %ld, \"seconds\": %.2f, "
	       "\"calls_per_s\": %.0f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"errors\": %ld}\n",
	    clients, relay ? "true" : "false", ack_batch ? "batch" : "each",
	    calls, el, (double) calls / el, bench_lat_pct(&all, 50),
	    bench_lat_pct(&all, 99), errors);
	for (int i = 0; i < clients; i++) {
		rs_rpc_destroy(cs[i].rpc);
		bench_lat_free(&cs[i].lat);
	}
	bench_lat_free(&all);
	free(cs);
	return errors == 0 ? 0 : 1;
}
