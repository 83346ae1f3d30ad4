/* Shared by the worker system tests (exactly_once, catchup, bad_message):
 * drives the data tier either through a running orchestrator (the stack
 * spawned the workers) or, when there is none, with workers started by
 * hand. Endpoints come from the environment tests/with-stack.sh exports.
 *
 * Writes: through the orchestrator queue, or straight to writeQ with the
 * replies taken from responseQ. Reads: through the orchestrator, or to
 * readQ stamped with the highest write seq seen, which is also announced
 * on commitX (as the orchestrator would). Replies arrive on RabbitMQ direct
 * reply-to. */
#ifndef WORKER_HARNESS_H
#define WORKER_HARNESS_H

#include "rideshare.pb-c.h"
#include "rs_mq.h"
#include "rs_time.h" /* the tests time and sleep with rs_time */
#include "rs_zk.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct wh wh;

/* worker_bin: rideshare-worker for by-hand workers. Mode: WH_MODE=orch or
 * hand, else orchestrated when a master is elected at start. */
int wh_open(const char *worker_bin, wh **out);
void wh_close(wh *h);

/* Start of a test's main: argv[1] is the rideshare-worker binary (args
 * names what may follow, for the usage line). Returns argv[1] after
 * ignoring SIGPIPE and making stdout line-buffered; NULL after printing
 * the usage when it is missing (exit 2). */
const char *wh_main_args(int argc, char **argv, const char *args);

/* The main() of a worker test file that keeps the binary in a static
 * `worker_bin`: sets it from argv[1] with wh_main_args (exit 2 without
 * one; usage names the arguments), then runs the cmocka_unit_test(...)
 * entries as one group with setup and teardown (NULL: none). */
#define WH_TEST_MAIN(usage, setup, teardown, ...)                      \
	int main(int argc, char **argv)                                \
	{                                                              \
		const struct CMUnitTest tests[] = { __VA_ARGS__ };     \
		worker_bin = wh_main_args(argc, argv, usage);          \
		if (worker_bin == NULL)                                \
			return 2;                                      \
		return cmocka_run_group_tests(tests, setup, teardown); \
	}

/* wh_open plus a fresh 8-hex-digit tag (tag: 9 bytes) for the names of
 * this run's users and by-hand workers. */
int wh_open_tagged(const char *worker_bin, wh **out, char *tag);

/* The master to test against: the orchestrated stack's current one, or
 * else a by-hand worker hand_id started with fault (may be NULL) that
 * must become master. Its id goes to id[0..cap), the pid of a started
 * worker to *pid. RS_OK, or RS_ETIMEDOUT after 20 s (printed). */
int wh_master_ready(wh *h, const char *hand_id, const char *fault, char *id,
    size_t cap, pid_t *pid);

/* Teardown: stops the by-hand workers among pids[0..n) (those > 0, 10 s
 * each, in order) and closes h. */
void wh_close_stopping(wh *h, const pid_t *pids, size_t n);
bool wh_orchestrated(wh *h);
rs_zk *wh_zk(wh *h);

/* Starts a worker (env: this process's, plus RIDESHARE_WORKER_ID=id and
 * RIDESHARE_FAULT=fault when fault is not NULL); log in the stack's log
 * dir as worker-<id>.log. Returns the pid (> 0). */
pid_t wh_worker_start(wh *h, const char *id, const char *fault);
/* Waits for pid to exit; returns its wait status or -1 on timeout. */
int wh_worker_wait(pid_t pid, int timeout_ms);
/* Sends SIGTERM, then SIGKILL after timeout_ms; returns the wait status. */
int wh_worker_stop(pid_t pid, int timeout_ms);

/* WorkerInfo of worker id (free with rideshare__worker_info__free_unpacked).
 */
int wh_worker_info(wh *h, const char *id, Rideshare__WorkerInfo **out);
/* Waits until worker id has role; RS_ETIMEDOUT. */
int wh_wait_role(wh *h, const char *id, Rideshare__Role role, int timeout_ms);
/* Id of the current master (malloc'd) after waiting up to timeout_ms. */
char *wh_master_id(wh *h, int timeout_ms);

/* Asynchronous requests: wh_send routes by op (write/read); replies come
 * back through wh_recv (RS_ETIMEDOUT when none came). The caller frees
 * *resp with rideshare__db_response__free_unpacked. */
int wh_send(wh *h, const Rideshare__DbRequest *req);
/* A read straight to readQ with req->min_seq as given (bypassing the
 * orchestrator's stamp); the reply comes through wh_recv. */
int wh_send_read_direct(wh *h, const Rideshare__DbRequest *req);
int wh_recv(wh *h, int timeout_ms, Rideshare__DbResponse **resp);
/* ResponseBatch replies wh_recv took apart so far (a slave sends the
 * replies of one step to one address in one; wh_recv hands out each). */
uint64_t wh_reply_batches(wh *h);
/* Synchronous: sends, waits up to timeout_ms for the reply with this
 * request_id (others are dropped), resends the same request up to tries
 * times. */
int wh_call(wh *h, const Rideshare__DbRequest *req, int timeout_ms, int tries,
    Rideshare__DbResponse **resp);
/* Highest write seq seen in replies. */
uint64_t wh_commit_seq(wh *h);

/* Raw publish to a queue (default exchange). */
int wh_publish_raw(wh *h, const char *queue, const void *body, size_t len);
/* Waits up to timeout_ms for one reply to each of ids[0..n) (request
 * ids) on direct reply-to (wh_recv; any other reply is dropped) and puts
 * ids[i]'s in out[i] (the caller frees each). RS_OK, or RS_ETIMEDOUT with
 * the missing ones NULL. */
int wh_recv_replies(wh *h, const char *const *ids, size_t n, int timeout_ms,
    Rideshare__DbResponse **out);
/* One turn of a wait that started at t0 (rs_time_now_ms): false once
 * its 10 s are over, else true after a 20 ms pause. The tests' one
 * deadline and polling interval. */
bool wh_wait_turn(int64_t t0);
/* What wh_collect_replies took off its queue. */
typedef struct wh_reply_stats {
	int msgs; /* reply messages */
	int batches; /* ResponseBatches among them */
	int others; /* responses to none of the ids, or to one again */
} wh_reply_stats;
/* Takes the reply messages on queue (basic.get, no ack: a plain
 * DbResponse whose correlation id is its request_id, or a ResponseBatch
 * checked with rs_op_response_batch_decode) until each of ids[0..n) was
 * answered, 10 s at most (wh_wait_turn); ids[i]'s answer in out[i] (the
 * caller frees each), every other response dropped and counted. RS_OK,
 * RS_ETIMEDOUT (the missing ones NULL) or RS_EPROTO (a message that does
 * not decode; out as far as it got). */
int wh_collect_replies(wh *h, const char *queue, const char *const *ids,
    size_t n, Rideshare__DbResponse **out, wh_reply_stats *st);
/* The harness's own broker connection (publishes; consumes direct
 * reply-to): for tests that need more than the calls above. */
rs_mq *wh_mq(wh *h);
/* Ready messages in queue, 0 when it does not exist. */
uint32_t wh_queue_depth(wh *h, const char *queue);

/* A connection to worker id's own database. */
PGconn *wh_worker_db(wh *h, const char *id);
int64_t wh_db_int(PGconn *db, const char *sql);
/* "table:md5 ..." over every table's full content (malloc'd). */
char *wh_db_digest(PGconn *db);

/* Request builders: a fresh random request id each (<op>-<hex>). A name
 * shorter than 64 bytes is copied into the request; a longer one (the
 * 150 KB usernames of worker_ops) is borrowed and must outlive it. */
typedef struct wh_req {
	Rideshare__DbRequest req;
	union {
		Rideshare__AddUser add_user;
		Rideshare__RemoveUser remove_user;
		Rideshare__GetUser get_user;
		Rideshare__ListUsers list_users;
		Rideshare__CreateRide create_ride;
		Rideshare__JoinRide join_ride;
		Rideshare__GetRide get_ride;
		Rideshare__DeleteRide delete_ride;
		Rideshare__ListRides list_rides;
		Rideshare__CountRides count_rides;
		Rideshare__Clear clear;
	} op;
	char id[64];
	char name[64];
} wh_req;

void wh_req_add_user(wh_req *r, const char *name);
void wh_req_remove_user(wh_req *r, const char *name);
void wh_req_get_user(wh_req *r, const char *name);
void wh_req_list_users(wh_req *r);
void wh_req_create_ride(
    wh_req *r, const char *by, int64_t ts, int src, int dst);
void wh_req_join_ride(wh_req *r, int64_t ride_id, const char *name);
void wh_req_get_ride(wh_req *r, int64_t ride_id);
void wh_req_delete_ride(wh_req *r, int64_t ride_id);
/* Rides from src to dst with a timestamp after `after`. */
void wh_req_list_rides(wh_req *r, int src, int dst, int64_t after);
void wh_req_count_rides(wh_req *r);
void wh_req_clear(wh_req *r);

#endif
