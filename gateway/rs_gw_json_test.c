/* Unit tests of strict JSON body parsing. */
#include <stdint.h>
#include <stdlib.h>
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

/* Every body parses to an object (ACCEPTED) or is refused with a reason
 * (REJECTED). No body here holds a NUL byte: strlen is its length. */
static void
all_parse_to(int want, const char *const *bodies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(parse(bodies[i], strlen(bodies[i])), want);
}

#define ALL_PARSE_TO(want, ...)                                     \
	do {                                                        \
		static const char *const b_[] = { __VA_ARGS__ };    \
		all_parse_to(want, b_, sizeof(b_) / sizeof(b_[0])); \
	} while (0)
#define ACCEPTED(...) ALL_PARSE_TO(RS_OK, __VA_ARGS__)
#define REJECTED(...) ALL_PARSE_TO(RS_EINVAL, __VA_ARGS__)

static void
test_object_bodies_parse(void **state)
{
	ACCEPTED("{}", " {\"username\": \"u\"} \n", "{\"a\": \"\\u00e9\"}");
}

static void
test_non_objects_are_rejected(void **state)
{
	REJECTED("", "   ", "[]", "[{\"username\": \"u\"}]", "3", "\"s\"",
	    "null", "true");
}

static void
test_invalid_json_is_rejected(void **state)
{
	REJECTED("{", "{\"a\": }", "{'a': 1}", "{\"a\": 1,}", "{} {}",
	    "{\"a\": 1} x", "{\"a\": 1, \"a\": 2}", /* duplicate */
	    "{\"a\": \"\\u0000\"}", /* NUL */
	    "{\"a\": NaN}");
}

static void
test_non_utf8_is_rejected(void **state)
{
	REJECTED("{\"a\": \"\xff\xfe\"}", "{\"\xc3\": 1}",
	    "{\"a\": \"\xed\xa0\x80\"}");
}

static void
test_numbers_beyond_64_bits_are_rejected(void **state)
{
	REJECTED("{\"source\": 18446744073709551616}", "{\"source\": 1e400}",
	    "{\"source\": -99999999999999999999999}");
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

/* Plain ASCII strings come out as json_dumps writes them; anything else is
 * left to jansson. */
static void
test_ascii_strings_match_jansson(void **state)
{
	const char *in[] = { "", "alice", "a\"b", "back\\slash", "\\\"",
		"sp ace/~!", "\"\"" };
	const char *bad[] = { "tab\t", "nl\n", "\x7f", "caf\xc3\xa9" };

	(void) state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		rs_buf b = RS_BUF_INIT;
		json_t *j = json_string(in[i]);
		char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

		assert_int_equal(rs_gw_json_ascii(&b, in[i]), RS_OK);
		assert_string_equal(b.data, want);
		free(want);
		json_decref(j);
		rs_buf_fini(&b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs_buf b = RS_BUF_INIT;

		assert_int_equal(rs_gw_json_ascii(&b, bad[i]), RS_EINVAL);
		assert_int_equal(b.len, 0);
	}
}

RS_TEST_MAIN(cmocka_unit_test(test_object_bodies_parse),
    cmocka_unit_test(test_ascii_strings_match_jansson),
    cmocka_unit_test(test_non_objects_are_rejected),
    cmocka_unit_test(test_invalid_json_is_rejected),
    cmocka_unit_test(test_non_utf8_is_rejected),
    cmocka_unit_test(test_numbers_beyond_64_bits_are_rejected),
    cmocka_unit_test(test_only_allowed_keys),
    cmocka_unit_test(test_string_field_missing_or_wrong_type),
    cmocka_unit_test(test_empty_body_or_empty_object))
