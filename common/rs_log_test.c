/* RIDESHARE_LOG_FORMAT=json: the key=value line turned into one object. */
#include "rs_log.h"

#include <stdint.h>
#include <string.h>

#include "rs_test.h"

static void
test_pairs_become_the_same_keys(void **state)
{
	char out[512];

	(void) state;
	rs_log_kv_to_json("ts=2026-11-30T11:00:00.000Z level=info comp=orch "
	                  "rid=- event=switchover_done pid=42 "
	                  "reason=\"kernel \\\"upgrade\\\"\" seq=007",
	    out, sizeof(out));
	assert_string_equal(out,
	    "{\"ts\":\"2026-11-30T11:00:00.000Z\",\"level\":\"info\","
	    "\"comp\":\"orch\",\"rid\":\"-\",\"event\":\"switchover_done\","
	    "\"pid\":42,\"reason\":\"kernel \\\"upgrade\\\"\","
	    "\"seq\":\"007\"}");
}

static void
test_free_text_goes_to_msg(void **state)
{
	char out[128];

	(void) state;
	rs_log_kv_to_json(
	    "level=warn something odd happened", out, sizeof(out));
	assert_string_equal(
	    out, "{\"level\":\"warn\",\"msg\":\"something odd happened\"}");
}

static void
test_long_line_is_cut_but_stays_an_object(void **state)
{
	char in[3000], out[64];
	size_t n;

	(void) state;
	memset(in, 'a', sizeof(in) - 1);
	memcpy(in, "k=", 2);
	in[sizeof(in) - 1] = '\0';
	n = rs_log_kv_to_json(in, out, sizeof(out));
	assert_true(n < sizeof(out));
	assert_int_equal(out[0], '{');
	assert_int_equal(out[n - 1], '}');
}

RS_TEST_MAIN(cmocka_unit_test(test_pairs_become_the_same_keys),
    cmocka_unit_test(test_free_text_goes_to_msg),
    cmocka_unit_test(test_long_line_is_cut_but_stays_an_object))
