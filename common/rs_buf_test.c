/* Growable text buffer: appends, printf growth, take and fini. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_buf.h"
#include "rs_err.h"

#include <stdlib.h>
#include <string.h>

static void
test_append_and_printf_build_one_string(void **state)
{
	rs_buf b = RS_BUF_INIT;

	(void) state;
	assert_null(b.data);
	assert_int_equal(rs_buf_append(&b, "abc", 3), RS_OK);
	assert_int_equal(rs_buf_printf(&b, "-%d-%s", 42, "x"), RS_OK);
	assert_int_equal(rs_buf_append(&b, "zzz", 1), RS_OK);
	assert_string_equal(b.data, "abc-42-xz");
	assert_int_equal(b.len, 9);
	assert_int_equal(b.err, 0);
	rs_buf_fini(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_grows_past_the_first_allocation(void **state)
{
	rs_buf b = RS_BUF_INIT;
	char *s;

	(void) state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rs_buf_printf(&b, "%04d\n", i), RS_OK);
	assert_int_equal(b.len, 5000);
	assert_true(b.cap > b.len);
	assert_int_equal(strncmp(b.data + 4995, "0999\n", 5), 0);
	assert_int_equal(b.data[b.len], '\0');
	s = rs_buf_take(&b);
	assert_int_equal(strlen(s), 5000);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
}

static void
test_take_of_an_empty_buffer_is_an_empty_string(void **state)
{
	rs_buf b = RS_BUF_INIT;
	char *s = rs_buf_take(&b);

	(void) state;
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	/* Reusable after take. */
	assert_int_equal(rs_buf_append(&b, "again", 5), RS_OK);
	assert_string_equal(b.data, "again");
	rs_buf_fini(&b);
}

static void
test_an_impossible_size_is_sticky_enomem(void **state)
{
	rs_buf b = RS_BUF_INIT;

	(void) state;
	assert_int_equal(rs_buf_append(&b, "x", 1), RS_OK);
	assert_int_equal(rs_buf_append(&b, "x", (size_t) -1 / 2), RS_ENOMEM);
	assert_int_equal(b.err, RS_ENOMEM);
	assert_int_equal(rs_buf_append(&b, "y", 1), RS_ENOMEM);
	assert_string_equal(b.data, "x");
	rs_buf_fini(&b);
	assert_int_equal(b.err, 0);
}

/* rs_reserve keeps a buffer that is big enough and grows one that is not
 * to the size asked, contents kept. (Its RS_ENOMEM path is not driven
 * here: under ASan an impossible realloc aborts instead of failing.) */
static void
test_reserve_grows_only_when_needed(void **state)
{
	uint8_t *buf = NULL, *was;
	size_t cap = 0;

	(void) state;
	assert_int_equal(rs_reserve(&buf, &cap, 16), RS_OK);
	assert_non_null(buf);
	assert_int_equal(cap, 16);
	memcpy(buf, "0123456789abcdef", 16);
	was = buf;
	assert_int_equal(rs_reserve(&buf, &cap, 8), RS_OK);
	assert_ptr_equal(buf, was);
	assert_int_equal(cap, 16);
	assert_int_equal(rs_reserve(&buf, &cap, 100), RS_OK);
	assert_int_equal(cap, 100);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_printf_build_one_string),
		cmocka_unit_test(test_grows_past_the_first_allocation),
		cmocka_unit_test(
		    test_take_of_an_empty_buffer_is_an_empty_string),
		cmocka_unit_test(test_an_impossible_size_is_sticky_enomem),
		cmocka_unit_test(test_reserve_grows_only_when_needed),
	};

	return cmocka_run_group_tests_name("rs_buf", tests, NULL, NULL);
}
