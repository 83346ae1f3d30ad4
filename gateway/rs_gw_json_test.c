/* Unit tests of strict JSON body parsing. */
#include <stdint.h>
#include <string.h>

#include "rs_test.h"

#include "rs_err.h"
#include "rs_gw_json.h"

static int
parse(const char *s, size_t len)
{
	char why[RS_GW_WHY_LEN] = "";
	json_t *o = NULL;
	int rc = rs_gw_json_object(s, len, &o, why);
	if (rc == RS_OK) {
		assert_non_null(o);
		json_decref(o);
	} else {
		assert_true(strlen(why) > 0);
	}
	return rc;
}

#define P(s) parse((s), sizeof(s) - 1)

static void
test_object_bodies_parse(void **state)
{
	assert_int_equal(P("{}"), RS_OK);
	assert_int_equal(P(" {\"username\": \"u\"} \n"), RS_OK);
	assert_int_equal(P("{\"a\": \"\\u00e9\"}"), RS_OK);
}

static void
test_non_objects_are_rejected(void **state)
{
	assert_int_equal(P(""), RS_EINVAL);
	assert_int_equal(P("   "), RS_EINVAL);
	assert_int_equal(P("[]"), RS_EINVAL);
	assert_int_equal(P("[{\"username\": \"u\"}]"), RS_EINVAL);
	assert_int_equal(P("3"), RS_EINVAL);
	assert_int_equal(P("\"s\""), RS_EINVAL);
	assert_int_equal(P("null"), RS_EINVAL);
	assert_int_equal(P("true"), RS_EINVAL);
}

static void
test_invalid_json_is_rejected(void **state)
{
	assert_int_equal(P("{"), RS_EINVAL);
	assert_int_equal(P("{\"a\": }"), RS_EINVAL);
	assert_int_equal(P("{'a': 1}"), RS_EINVAL);
	assert_int_equal(P("{\"a\": 1,}"), RS_EINVAL);
	assert_int_equal(P("{} {}"), RS_EINVAL);
	assert_int_equal(P("{\"a\": 1} x"), RS_EINVAL);
	assert_int_equal(P("{\"a\": 1, \"a\": 2}"), RS_EINVAL); /* duplicate */
	assert_int_equal(P("{\"a\": \"\\u0000\"}"), RS_EINVAL); /* NUL */
	assert_int_equal(P("{\"a\": NaN}"), RS_EINVAL);
}

static void
test_non_utf8_is_rejected(void **state)
{
	assert_int_equal(P("{\"a\": \"\xff\xfe\"}"), RS_EINVAL);
	assert_int_equal(P("{\"\xc3\": 1}"), RS_EINVAL);
	assert_int_equal(P("{\"a\": \"\xed\xa0\x80\"}"), RS_EINVAL);
}

static void
test_numbers_beyond_64_bits_are_rejected(void **state)
{
	assert_int_equal(P("{\"source\": 18446744073709551616}"), RS_EINVAL);
	assert_int_equal(P("{\"source\": 1e400}"), RS_EINVAL);
	assert_int_equal(
	    P("{\"source\": -99999999999999999999999}"), RS_EINVAL);
}

static void
test_only_allowed_keys(void **state)
{
	static const char *const allowed[] = { "username", "password", NULL };
	char why[RS_GW_WHY_LEN];
	json_t *o = json_pack("{s:s, s:s}", "username", "u", "password", "p");
	assert_int_equal(rs_gw_json_only(o, allowed, why), RS_OK);
	json_object_set_new(o, "admin", json_true());
	assert_int_equal(rs_gw_json_only(o, allowed, why), RS_EINVAL);
	assert_non_null(strstr(why, "admin"));
	json_decref(o);
}

static void
test_string_field_missing_or_wrong_type(void **state)
{
	char why[RS_GW_WHY_LEN];
	const char *s;
	size_t n;
	json_t *o = json_pack(
	    "{s:s, s:i, s:[], s:{}, s:n}", "a", "x", "b", 1, "c", "d", "e");
	assert_int_equal(rs_gw_json_string(o, "a", &s, &n, why), RS_OK);
	assert_string_equal(s, "x");
	assert_int_equal(n, 1);
	assert_int_equal(rs_gw_json_string(o, "b", &s, &n, why), RS_EINVAL);
	assert_non_null(strstr(why, "must be a string"));
	assert_int_equal(rs_gw_json_string(o, "c", &s, &n, why), RS_EINVAL);
	assert_int_equal(rs_gw_json_string(o, "d", &s, &n, why), RS_EINVAL);
	assert_int_equal(rs_gw_json_string(o, "e", &s, &n, why), RS_EINVAL);
	assert_int_equal(rs_gw_json_string(o, "zz", &s, &n, why), RS_EINVAL);
	assert_non_null(strstr(why, "missing"));
	json_decref(o);
}

static void
test_empty_body_or_empty_object(void **state)
{
	char why[RS_GW_WHY_LEN];
	assert_int_equal(rs_gw_json_empty("", 0, why), RS_OK);
	assert_int_equal(rs_gw_json_empty(NULL, 0, why), RS_OK);
	assert_int_equal(rs_gw_json_empty(" {} ", 4, why), RS_OK);
	assert_int_equal(rs_gw_json_empty("{\"a\":1}", 7, why), RS_EINVAL);
	assert_int_equal(rs_gw_json_empty("[]", 2, why), RS_EINVAL);
	assert_int_equal(rs_gw_json_empty("x", 1, why), RS_EINVAL);
}

RS_TEST_MAIN(cmocka_unit_test(test_object_bodies_parse),
    cmocka_unit_test(test_non_objects_are_rejected),
    cmocka_unit_test(test_invalid_json_is_rejected),
    cmocka_unit_test(test_non_utf8_is_rejected),
    cmocka_unit_test(test_numbers_beyond_64_bits_are_rejected),
    cmocka_unit_test(test_only_allowed_keys),
    cmocka_unit_test(test_string_field_missing_or_wrong_type),
    cmocka_unit_test(test_empty_body_or_empty_object))
