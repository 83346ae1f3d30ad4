/* The slave drops its cached read plans once per RS_WORKER_PLAN_REFRESH_MS
 * and no more often (store.h). Without a server: a NULL connection makes
 * every attempt fail with RS_EINVAL, which tells attempts from skips. */
#include "store.h"

#include "rs_err.h"
#include "rs_time.h"

#include "rs_test.h"

static void
test_first_call_refreshes_then_waits_for_the_interval(void **state)
{
	int64_t last = 0;

	(void) state;
	assert_int_equal(
	    rs_worker_store_refresh_plans(NULL, &last), RS_EINVAL);
	assert_true(last != 0);
	int64_t first = last;
	assert_int_equal(rs_worker_store_refresh_plans(NULL, &last), RS_OK);
	assert_true(last == first);
}

static void
test_refreshes_again_once_the_interval_passed(void **state)
{
	int64_t last = rs_time_now_ms() - RS_WORKER_PLAN_REFRESH_MS + 5000;

	(void) state;
	assert_int_equal(rs_worker_store_refresh_plans(NULL, &last), RS_OK);
	last = rs_time_now_ms() - RS_WORKER_PLAN_REFRESH_MS - 1;
	assert_int_equal(
	    rs_worker_store_refresh_plans(NULL, &last), RS_EINVAL);
	assert_true(rs_time_now_ms() - last < 1000);
}

RS_TEST_MAIN(
    cmocka_unit_test(test_first_call_refreshes_then_waits_for_the_interval),
    cmocka_unit_test(test_refreshes_again_once_the_interval_passed))
