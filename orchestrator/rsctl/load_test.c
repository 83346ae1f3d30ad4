/* rsctl load's pure parts: the write mix and the percentiles it reports. */
#include "load.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_write_ratio_spreads_writes_exactly(void **state)
{
	long w = 0;

	(void) state;
	for (long i = 0; i < 1000; i++)
		w += rsctl_load_is_write(i, 0.2);
	assert_int_equal(w, 200);
	for (long i = 0; i < 100; i++) {
		assert_false(rsctl_load_is_write(i, 0.0));
		assert_true(rsctl_load_is_write(i, 1.0));
	}
}

static void
test_percentiles(void **state)
{
	double v[100];

	(void) state;
	for (int i = 0; i < 100; i++)
		v[i] = 100 - i; /* 100..1, unsorted */
	assert_true(rsctl_percentile(v, 100, 50) == 50.0);
	assert_true(rsctl_percentile(v, 100, 99) == 99.0);
	assert_true(rsctl_percentile(v, 0, 50) == 0.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_ratio_spreads_writes_exactly),
		cmocka_unit_test(test_percentiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
