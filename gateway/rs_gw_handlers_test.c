/* The JSON pieces of the shared handler shape (the call-and-answer path
 * needs a broker and is covered by the api system test). */

#include "rs_test.h"

#include "rs_gw_handlers.h"

#include <stdlib.h>

static void
test_json_strings_keeps_order_and_count(void **state)
{
	char *v[] = { "alice", "bob", "" };
	json_t *a;
	char *s;

	(void) state;
	a = rs_gw_json_strings(v, 3);
	s = json_dumps(a, JSON_COMPACT);
	assert_string_equal(s, "[\"alice\",\"bob\",\"\"]");
	free(s);
	json_decref(a);
}

static void
test_json_strings_of_none_is_an_empty_array(void **state)
{
	json_t *a;

	(void) state;
	a = rs_gw_json_strings(NULL, 0);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
}

RS_TEST_MAIN(cmocka_unit_test(test_json_strings_keeps_order_and_count),
    cmocka_unit_test(test_json_strings_of_none_is_an_empty_array))
