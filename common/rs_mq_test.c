/* RabbitMQ helper without a broker: URL handling, refused and silent
 * endpoints, and the publisher-confirm bookkeeping (the file is included
 * so its static helpers can be driven directly). */

#include "rs_test.h"

#include "rs_mq.c"

#include <unistd.h>

static void
test_bad_urls_are_einval(void **state)
{
	static const char *const bad[] = { "http://h:1", "amqp://h:notaport",
		"amqp://h:99999", "amqps://guest:guest@127.0.0.1:5671",
		"amqp://h:1/a/b", "" };
	rs_mq *mq = (rs_mq *) 0x1;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rs_mq_connect(bad[i], "t", &mq), RS_EINVAL);
	/* Retrying cannot fix a bad URL: no waiting. */
	assert_int_equal(
	    rs_mq_connect_retry("http://h:1", "t", 5000, &mq), RS_EINVAL);
	assert_ptr_equal(mq, (rs_mq *) 0x1);
}

/* rs_mq_connect_retry to url for ms, which must time out without touching
 * the output; returns the milliseconds it took. */
static int64_t
retry_times_out(const char *url, int ms)
{
	rs_mq *mq = (rs_mq *) 0x1;
	int64_t t0 = rs_time_now_ms();

	assert_int_equal(rs_mq_connect_retry(url, "t", ms, &mq), RS_ETIMEDOUT);
	assert_ptr_equal(mq, (rs_mq *) 0x1);
	return rs_time_now_ms() - t0;
}

static void
test_refused_connection_is_econn_and_retry_times_out(void **state)
{
	int fd, port = rs_test_local_port(false, &fd);
	rs_mq *mq = (rs_mq *) 0x1;
	char url[128];
	int64_t took;

	(void) state;
	/* The trailing slash (empty vhost) is accepted as "/". */
	snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d/", port);
	assert_int_equal(rs_mq_connect(url, "t", &mq), RS_ECONN);
	assert_ptr_equal(mq, (rs_mq *) 0x1);
	took = retry_times_out(url, 300);
	assert_true(took >= 290 && took < 3000);
	close(fd);
}

static void
test_silent_endpoint_does_not_hang_the_retry(void **state)
{
	int fd, port = rs_test_local_port(true, &fd);
	char url[128];

	(void) state;
	snprintf(url, sizeof(url), "amqp://127.0.0.1:%d", port);
	assert_true(retry_times_out(url, 400) < 3000);
	close(fd);
}

/* One confirm from the broker (delivery tag, multiple) and the
 * bookkeeping after it: the confirmed prefix and, unless -1, how many
 * confirms above it are pending. */
typedef struct confirm {
	uint64_t tag;
	bool multiple;
	uint64_t confirmed;
	int npending;
} confirm;

/* Confirms of `published` messages in the order the broker sent them; a
 * confirm with tag 0 ends the list. */
typedef struct confirm_script {
	const char *what;
	uint64_t published;
	confirm c[8];
} confirm_script;

static const confirm_script confirm_scripts[] = {
	{ "in order, single and multiple; a stale single ack below the prefix "
	  "changes nothing",
	    10,
	    { { 1, false, 1, -1 }, { 2, false, 2, -1 }, { 7, true, 7, -1 },
	        { 5, false, 7, -1 }, { 10, true, 10, 0 } } },
	{ "out of order, folded into the prefix; multiple=4 covers 4 and "
	  "lets the pending 5 follow",
	    6,
	    { { 3, false, 0, -1 }, { 5, false, 0, -1 }, { 2, false, 0, 3 },
	        { 1, false, 3, 1 }, { 4, true, 5, 0 }, { 6, false, 6, -1 } } },
};

static void
test_confirm_scripts(void **state)
{
	(void) state;
	RS_TEST_EACH(confirm_script, cs, confirm_scripts)
	{
		rs_mq mq = { 0 };

		mq.published = cs->published;
		for (const confirm *c = cs->c; c->tag != 0; c++) {
			settle(&mq, c->tag, c->multiple);
			assert_int_equal(mq.confirmed, c->confirmed);
			if (c->npending >= 0)
				assert_int_equal(mq.npending, c->npending);
		}
		assert_false(mq.nacked);
		free(mq.pending);
	}
}

static void
test_many_pending_confirms_grow_the_set(void **state)
{
	rs_mq mq = { 0 };

	(void) state;
	mq.published = 1001;
	for (uint64_t t = 1001; t >= 2; t--)
		settle(&mq, t, false);
	assert_int_equal(mq.confirmed, 0);
	assert_int_equal(mq.npending, 1000);
	settle(&mq, 1, false);
	assert_int_equal(mq.confirmed, 1001);
	assert_int_equal(mq.npending, 0);
	assert_false(mq.nacked);
	free(mq.pending);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_urls_are_einval),
		cmocka_unit_test(
		    test_refused_connection_is_econn_and_retry_times_out),
		cmocka_unit_test(test_silent_endpoint_does_not_hang_the_retry),
		cmocka_unit_test(test_confirm_scripts),
		cmocka_unit_test(test_many_pending_confirms_grow_the_set),
	};

	rs_log_init("rs_mq_test");
	rs_log_set_level(RS_LOG_ERROR);
	return cmocka_run_group_tests_name("rs_mq", tests, NULL, NULL);
}
