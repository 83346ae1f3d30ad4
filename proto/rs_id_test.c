/* Request/worker ids: shape, uniqueness, validation. */
#include "rs_test.h"

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

/* rs_id_valid of an id of n 'x's (n < 200). */
static bool
valid_of_length(size_t n)
{
	char id[200];

	memset(id, 'x', n);
	id[n] = '\0';
	return rs_id_valid(id);
}

static void
test_valid_accepts_the_documented_alphabet(void **state)
{
	(void) state;
	assert_true(rs_id_valid("a"));
	assert_true(rs_id_valid("req-1.2_3:Z"));
	assert_true(valid_of_length(128));
}

static void
test_valid_rejects_empty_long_and_odd_characters(void **state)
{
	(void) state;
	assert_false(rs_id_valid(""));
	assert_false(rs_id_valid("a b"));
	assert_false(rs_id_valid("a/b"));
	assert_false(rs_id_valid("a\"b"));
	assert_false(rs_id_valid("é"));
	assert_false(valid_of_length(129));
}

RS_TEST_MAIN(cmocka_unit_test(test_new_ids_are_32_lowercase_hex_and_differ),
    cmocka_unit_test(test_valid_accepts_the_documented_alphabet),
    cmocka_unit_test(test_valid_rejects_empty_long_and_odd_characters))
