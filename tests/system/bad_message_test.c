/* Bad messages (issue 4): a non-protobuf, a truncated, an id-less and an
 * op-less message on `orchestrator`, `writeQ` and `readQ` each end up in
 * `rideshare.dead`, and the processes keep serving. By hand there is no
 * orchestrator, so its queue is skipped there (nobody consumes it).
 *
 *   bad_message_test <path to rideshare-worker> */
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

static void
expect_dead_lettered(
    const char *queue, const char *what, const void *body, size_t len)
{
	uint32_t before = wh_queue_depth(h, "rideshare.dead");
	int64_t t0 = rs_time_now_ms();

	assert_int_equal(wh_publish_raw(h, queue, body, len), RS_OK);
	while (wh_queue_depth(h, "rideshare.dead") < before + 1) {
		if (rs_time_now_ms() - t0 > 10000)
			fail_msg("%s message on %s was not dead-lettered",
			    what, queue);
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	printf("bad_message: %s on %s dead-lettered in %lld ms\n", what, queue,
	    (long long) (rs_time_now_ms() - t0));
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
	send_bad_messages("writeQ");
	assert_serving();
}

static void
test_bad_messages_on_readQ_are_dead_lettered(void **state)
{
	(void) state;
	send_bad_messages("readQ");
	assert_serving();
}

static void
test_bad_messages_on_orchestrator_are_dead_lettered(void **state)
{
	(void) state;
	if (!wh_orchestrated(h))
		skip(); /* nobody consumes `orchestrator` without one */
	send_bad_messages("orchestrator");
	assert_serving();
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_bad_messages_on_writeQ_are_dead_lettered),
		cmocka_unit_test(test_bad_messages_on_readQ_are_dead_lettered),
		cmocka_unit_test(
		    test_bad_messages_on_orchestrator_are_dead_lettered),
	};
	worker_bin = wh_main_args(argc, argv, "<rideshare-worker>");
	if (worker_bin == NULL)
		return 2;
	return cmocka_run_group_tests(tests, setup, teardown);
}
