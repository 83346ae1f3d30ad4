/* ZooKeeper helper without a server: argument checks and a bounded wait
 * when nothing answers. */

#include "rs_test.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"
#include "rs_zk.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void
test_bad_arguments_are_einval(void **state)
{
	rs_zk *zk = (rs_zk *) 0x1;

	(void) state;
	assert_int_equal(
	    rs_zk_connect(NULL, 800, 100, NULL, NULL, &zk), RS_EINVAL);
	assert_int_equal(
	    rs_zk_connect("", 800, 100, NULL, NULL, &zk), RS_EINVAL);
	assert_int_equal(
	    rs_zk_connect("127.0.0.1:1", 0, 100, NULL, NULL, &zk), RS_EINVAL);
	assert_ptr_equal(zk, (rs_zk *) 0x1);
}

static void
test_connect_to_a_closed_port_times_out(void **state)
{
	rs_zk *zk = (rs_zk *) 0x1;
	char hosts[64];
	int64_t t0;
	int fd;

	(void) state;
	/* Bound, not listening: connections are refused. */
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d",
	    rs_test_local_port(false, &fd));
	t0 = rs_time_now_ms();
	assert_int_equal(
	    rs_zk_connect(hosts, 800, 300, NULL, NULL, &zk), RS_ETIMEDOUT);
	assert_true(rs_time_now_ms() - t0 >= 290);
	assert_true(rs_time_now_ms() - t0 < 3000);
	assert_ptr_equal(zk, (rs_zk *) 0x1);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_arguments_are_einval),
		cmocka_unit_test(test_connect_to_a_closed_port_times_out),
	};

	rs_log_init("rs_zk_test");
	rs_log_set_level(RS_LOG_ERROR);
	return cmocka_run_group_tests_name("rs_zk", tests, NULL, NULL);
}
