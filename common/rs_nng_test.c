/* nng pub/sub over real TCP on 127.0.0.1, inside one process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_err.h"
#include "rs_log.h"
#include "rs_nng.h"
#include "rs_time.h"

#include <nng/protocol/pubsub0/pub.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Publishes s until sub receives something (subscriptions take a moment
 * to reach the publisher); returns what arrived. */
static int
send_until_received(
    nng_socket pub, nng_socket sub, const char *s, char *buf, size_t len)
{
	int rc = RS_ETIMEDOUT;

	for (int64_t end = rs_time_now_ms() + 5000;
	     rc == RS_ETIMEDOUT && rs_time_now_ms() < end;) {
		assert_int_equal(rs_nng_send_str(pub, s), RS_OK);
		rc = rs_nng_recv_str(sub, buf, len, 20);
	}
	return rc;
}

/* A publisher on a free local port and a subscriber dialled to it. */
static void
connected_pair(nng_socket *pub, nng_socket *sub)
{
	char url[128];

	assert_int_equal(
	    rs_nng_pub_open("127.0.0.1", pub, url, sizeof(url)), RS_OK);
	assert_int_equal(rs_nng_sub_open(sub), RS_OK);
	assert_int_equal(rs_nng_sub_dial(*sub, url), RS_OK);
}

static void
test_pub_reports_the_port_the_kernel_chose(void **state)
{
	char url[128];
	nng_socket pub;
	int port = 0;

	(void) state;
	assert_int_equal(
	    rs_nng_pub_open("127.0.0.1", &pub, url, sizeof(url)), RS_OK);
	assert_int_equal(strncmp(url, "tcp://127.0.0.1:", 16), 0);
	assert_int_equal(sscanf(url + 16, "%d", &port), 1);
	assert_true(port > 0 && port < 65536);
	nng_close(pub);
}

static void
test_pub_rejects_a_url_buffer_too_small(void **state)
{
	nng_socket pub;
	char url[12];

	(void) state;
	assert_int_equal(
	    rs_nng_pub_open("127.0.0.1", &pub, url, sizeof(url)), RS_EINVAL);
	assert_int_equal(
	    rs_nng_pub_open("", &pub, url, sizeof(url)), RS_EINVAL);
}

static void
test_messages_arrive_in_order(void **state)
{
	nng_socket pub, sub;
	char buf[64], want[64];

	(void) state;
	connected_pair(&pub, &sub);
	assert_int_equal(
	    send_until_received(pub, sub, "hello", buf, sizeof(buf)), RS_OK);
	assert_string_equal(buf, "hello");
	/* Drain the repeats of the warm-up message. */
	while (rs_nng_recv_str(sub, buf, sizeof(buf), 100) == RS_OK)
		assert_string_equal(buf, "hello");

	for (int i = 1; i <= 20; i++) {
		snprintf(buf, sizeof(buf), "head 3 %d", i);
		assert_int_equal(rs_nng_send_str(pub, buf), RS_OK);
	}
	for (int i = 1; i <= 20; i++) {
		snprintf(want, sizeof(want), "head 3 %d", i);
		assert_int_equal(
		    rs_nng_recv_str(sub, buf, sizeof(buf), 2000), RS_OK);
		assert_string_equal(buf, want);
	}
	nng_close(sub);
	nng_close(pub);
}

static void
test_long_messages_are_truncated_and_nul_terminated(void **state)
{
	nng_socket pub, sub;
	char buf[8];

	(void) state;
	connected_pair(&pub, &sub);
	assert_int_equal(send_until_received(pub, sub, "status w1 SLAVE 12 3",
	                     buf, sizeof(buf)),
	    RS_OK);
	assert_string_equal(buf, "status ");
	/* A sender that includes the NUL reads the same. */
	while (rs_nng_recv_str(sub, buf, sizeof(buf), 100) == RS_OK) { }
	assert_int_equal(nng_send(pub, "abc", 4, 0), 0);
	assert_int_equal(rs_nng_recv_str(sub, buf, sizeof(buf), 2000), RS_OK);
	assert_string_equal(buf, "abc");
	nng_close(sub);
	nng_close(pub);
}

static void
test_recv_times_out_and_polls(void **state)
{
	nng_socket sub;
	char buf[16];
	int64_t t0;

	(void) state;
	assert_int_equal(rs_nng_sub_open(&sub), RS_OK);
	t0 = rs_time_now_ms();
	assert_int_equal(
	    rs_nng_recv_str(sub, buf, sizeof(buf), 150), RS_ETIMEDOUT);
	assert_true(rs_time_now_ms() - t0 >= 140);
	t0 = rs_time_now_ms();
	assert_int_equal(
	    rs_nng_recv_str(sub, buf, sizeof(buf), 0), RS_ETIMEDOUT);
	assert_true(rs_time_now_ms() - t0 < 100);
	nng_close(sub);
	assert_int_equal(
	    rs_nng_recv_str(sub, buf, sizeof(buf), 10), RS_ECLOSED);
}

static void
test_sub_dials_before_the_publisher_exists(void **state)
{
	nng_socket pub, sub;
	char url[128], buf[32];

	(void) state;
	/* Learn a free port, then free it. */
	assert_int_equal(
	    rs_nng_pub_open("127.0.0.1", &pub, url, sizeof(url)), RS_OK);
	nng_close(pub);

	assert_int_equal(rs_nng_sub_open(&sub), RS_OK);
	assert_int_equal(rs_nng_sub_dial(sub, url), RS_OK);
	assert_int_equal(nng_pub0_open(&pub), 0);
	assert_int_equal(nng_listen(pub, url, NULL, 0), 0);
	assert_int_equal(
	    send_until_received(pub, sub, "late", buf, sizeof(buf)), RS_OK);
	assert_string_equal(buf, "late");
	nng_close(sub);
	nng_close(pub);
}

static void
test_send_without_subscribers_is_fine(void **state)
{
	nng_socket pub;
	char url[128];

	(void) state;
	assert_int_equal(
	    rs_nng_pub_open("127.0.0.1", &pub, url, sizeof(url)), RS_OK);
	for (int i = 0; i < 100; i++)
		assert_int_equal(
		    rs_nng_send_str(pub, "nobody listens"), RS_OK);
	nng_close(pub);
	assert_int_equal(rs_nng_send_str(pub, "closed"), RS_ECLOSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pub_reports_the_port_the_kernel_chose),
		cmocka_unit_test(test_pub_rejects_a_url_buffer_too_small),
		cmocka_unit_test(test_messages_arrive_in_order),
		cmocka_unit_test(
		    test_long_messages_are_truncated_and_nul_terminated),
		cmocka_unit_test(test_recv_times_out_and_polls),
		cmocka_unit_test(test_sub_dials_before_the_publisher_exists),
		cmocka_unit_test(test_send_without_subscribers_is_fine),
	};

	rs_log_init("rs_nng_test");
	rs_log_set_level(RS_LOG_ERROR);
	return cmocka_run_group_tests_name("rs_nng", tests, NULL, NULL);
}
