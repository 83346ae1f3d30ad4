/* rs_metrics_help / rs_metrics_one: the HELP and TYPE lines, then the
 * value, in Prometheus text format. */

#include "rs_test.h"

#include "rs_buf.h"
#include "rs_metrics.h"

#include <string.h>

static void
test_one_is_help_type_and_an_unlabelled_line(void **state)
{
	rs_buf out = RS_BUF_INIT;

	(void) state;
	assert_int_equal(rs_metrics_one(&out, "x_total", "counter",
	                     "Things done (ok or not).", 42),
	    0);
	assert_int_equal(out.err, 0);
	assert_string_equal(out.data,
	    "# HELP x_total Things done (ok or not).\n"
	    "# TYPE x_total counter\n"
	    "x_total 42\n");
	rs_buf_fini(&out);
}

static void
test_help_goes_once_before_labelled_lines(void **state)
{
	rs_buf out = RS_BUF_INIT;

	(void) state;
	rs_metrics_help(&out, "y", "gauge", "By kind.");
	rs_metrics_line(&out, "y", "kind=\"a\"", 1);
	rs_metrics_line(&out, "y", "kind=\"b\"", 0.5);
	assert_string_equal(out.data,
	    "# HELP y By kind.\n# TYPE y gauge\ny{kind=\"a\"} 1\n"
	    "y{kind=\"b\"} 0.5\n");
	rs_buf_fini(&out);
}

RS_TEST_MAIN(cmocka_unit_test(test_one_is_help_type_and_an_unlabelled_line),
    cmocka_unit_test(test_help_goes_once_before_labelled_lines))
