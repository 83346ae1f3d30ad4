/* Request/worker ids: shape, uniqueness, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_id.h"

#include <string.h>

static void
test_new_ids_are_32_lowercase_hex_and_differ(void **state)
{
	char a[RS_ID_LEN + 1], b[RS_ID_LEN + 1];

	(void) state;
	rs_id_new(a);
	rs_id_new(b);
	assert_int_equal(strlen(a), RS_ID_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), RS_ID_LEN);
	assert_string_not_equal(a, b);
	assert_true(rs_id_valid(a));
}

static void
test_valid_accepts_the_documented_alphabet(void **state)
{
	char longest[129];

	(void) state;
	assert_true(rs_id_valid("a"));
	assert_true(rs_id_valid("req-1.2_3:Z"));
	memset(longest, 'x', 128);
	longest[128] = '\0';
	assert_true(rs_id_valid(longest));
}

static void
test_valid_rejects_empty_long_and_odd_characters(void **state)
{
	char toolong[130];

	(void) state;
	assert_false(rs_id_valid(""));
	assert_false(rs_id_valid("a b"));
	assert_false(rs_id_valid("a/b"));
	assert_false(rs_id_valid("a\"b"));
	assert_false(rs_id_valid("é"));
	memset(toolong, 'x', 129);
	toolong[129] = '\0';
	assert_false(rs_id_valid(toolong));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_ids_are_32_lowercase_hex_and_differ),
		cmocka_unit_test(test_valid_accepts_the_documented_alphabet),
		cmocka_unit_test(
		    test_valid_rejects_empty_long_and_odd_characters),
	};

	return cmocka_run_group_tests_name("rs_id", tests, NULL, NULL);
}
