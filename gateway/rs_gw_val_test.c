/* Unit tests of API input validation: timestamps, areas, passwords,
 * usernames, ride ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rs_err.h"
#include "rs_gw_area.h"
#include "rs_gw_val.h"

static int
setup_utc(void **state)
{
	setenv("TZ", "UTC", 1);
	rs_gw_time_init();
	return 0;
}

static int64_t
ts(const char *s)
{
	int64_t t = -42;
	assert_int_equal(rs_gw_time_parse(s, strlen(s), &t), RS_OK);
	return t;
}

static void
assert_bad_time(const char *s)
{
	int64_t t = -42;
	assert_int_equal(rs_gw_time_parse(s, strlen(s), &t), RS_EINVAL);
	assert_int_equal(t, -42); /* untouched on failure */
}

static void
test_time_parse_swaps_seconds_and_hours(void **state)
{
	/* 26 Jan 2027 14:30:00 UTC */
	assert_int_equal(ts("26-01-2027:00-30-14"), 1800973800);
	assert_int_equal(ts("01-01-1970:00-00-00"), 0);
	assert_int_equal(ts("01-01-1970:59-00-00"), 59);
	assert_int_equal(ts("01-01-1970:00-00-23"), 23 * 3600);
}

static void
test_time_leap_years(void **state)
{
	(void) ts("29-02-2024:00-00-00");
	(void) ts("29-02-2000:00-00-00");
	assert_bad_time("29-02-2023:00-00-00");
	assert_bad_time("29-02-1900:00-00-00");
	assert_bad_time("29-02-2100:00-00-00");
	assert_int_equal(
	    ts("01-03-2024:00-00-00") - ts("28-02-2024:00-00-00"), 2 * 86400);
}

static void
test_time_invalid_dates(void **state)
{
	assert_bad_time("31-04-2027:00-00-00");
	assert_bad_time("31-06-2027:00-00-00");
	assert_bad_time("32-01-2027:00-00-00");
	assert_bad_time("00-01-2027:00-00-00");
	assert_bad_time("01-00-2027:00-00-00");
	assert_bad_time("01-13-2027:00-00-00");
	assert_bad_time("01-01-0000:00-00-00");
	assert_bad_time("01-01-2027:60-00-00"); /* seconds */
	assert_bad_time("01-01-2027:00-60-00"); /* minutes */
	assert_bad_time("01-01-2027:00-00-24"); /* hours */
	(void) ts("31-12-9999:59-59-23");
	(void) ts("31-01-2027:00-00-00");
}

static void
test_time_wrong_format(void **state)
{
	const char *bad[] = {
		"",
		"26-01-2027",
		"26-01-2027 00-30-14",
		"26/01/2027:00-30-14",
		"26-01-2027:00:30:14",
		"26-01-2027-00-30-14",
		"2027-01-26:00-30-14",
		"6-01-2027:00-30-14",
		"26-1-2027:00-30-14",
		"26-01-27:00-30-14",
		"26-01-2027:0-30-14",
		"26-01-2027:00-30-14 ",
		" 26-01-2027:00-30-14",
		"26-01-2027:00-30-14Z",
		"+6-01-2027:00-30-14",
		"2a-01-2027:00-30-14",
		"26-01-20x7:00-30-14",
		"26-01-2027:00-30-1\xff",
		"26-01-2027:00-30-140",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_bad_time(bad[i]);
	/* An embedded NUL is not the end of the string. */
	{
		int64_t t;
		assert_int_equal(
		    rs_gw_time_parse("26-01-2027:00-30-1\0", 19, &t),
		    RS_EINVAL);
	}
}

static void
test_time_format_round_trip(void **state)
{
	const char *in[] = { "26-01-2027:00-30-14", "29-02-2024:59-59-23",
		"01-01-1970:00-00-00", "31-12-1969:59-59-23",
		"05-11-2030:07-08-09" };
	char out[RS_GW_TIME_LEN + 1];
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(rs_gw_time_format(ts(in[i]), out), RS_OK);
		assert_string_equal(out, in[i]);
	}
}

static void
test_time_uses_tz(void **state)
{
	char out[RS_GW_TIME_LEN + 1];
	int64_t t;

	setenv("TZ", "Asia/Kolkata", 1);
	rs_gw_time_init();
	/* 26 Jan 2027 14:30 IST = 09:00 UTC */
	t = ts("26-01-2027:00-30-14");
	assert_int_equal(t, 1800973800 - 5 * 3600 - 1800);
	assert_int_equal(rs_gw_time_format(t, out), RS_OK);
	assert_string_equal(out, "26-01-2027:00-30-14");
	/* A local time skipped by a DST change is not a real time. */
	setenv("TZ", "Europe/Berlin", 1);
	rs_gw_time_init();
	assert_bad_time("28-03-2027:00-30-02");
	(void) ts("28-03-2027:00-30-03");
	setenv("TZ", "UTC", 1);
	rs_gw_time_init();
}

static void
test_time_tz_defaults_to_utc(void **state)
{
	unsetenv("TZ");
	rs_gw_time_init();
	assert_string_equal(getenv("TZ"), "UTC");
	assert_int_equal(ts("26-01-2027:00-30-14"), 1800973800);
}

static void
test_area_table_has_198_areas(void **state)
{
	assert_int_equal(rs_gw_areas_count, 198);
	assert_int_equal(rs_gw_areas_max, 198);
	assert_string_equal(rs_gw_area_name(1), "Kempegowda Ward");
	assert_string_equal(rs_gw_area_name(198), "Hemmigepura");
	assert_null(rs_gw_area_name(0));
	assert_null(rs_gw_area_name(199));
	assert_null(rs_gw_area_name(-1));
	assert_null(rs_gw_area_name(INT64_MAX));
}

static int
area_json(const char *text, int32_t *out)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	int rc;
	assert_non_null(v);
	rc = rs_gw_area_from_json(v, out);
	json_decref(v);
	return rc;
}

static void
test_area_json_integers_and_strings(void **state)
{
	int32_t a = 0;
	assert_int_equal(area_json("3", &a), RS_OK);
	assert_int_equal(a, 3);
	assert_int_equal(area_json("\"3\"", &a), RS_OK);
	assert_int_equal(a, 3);
	assert_int_equal(area_json("198", &a), RS_OK);
	assert_int_equal(area_json("\"198\"", &a), RS_OK);
	assert_int_equal(area_json("1", &a), RS_OK);
	assert_int_equal(area_json("\"007\"", &a), RS_OK);
	assert_int_equal(a, 7);
}

static void
test_area_out_of_range_does_not_exist(void **state)
{
	int32_t a = 55;
	assert_int_equal(area_json("0", &a), RS_ENOTFOUND);
	assert_int_equal(area_json("199", &a), RS_ENOTFOUND);
	assert_int_equal(area_json("-1", &a), RS_ENOTFOUND);
	assert_int_equal(area_json("\"0\"", &a), RS_ENOTFOUND);
	assert_int_equal(area_json("\"199\"", &a), RS_ENOTFOUND);
	assert_int_equal(area_json("9223372036854775807", &a), RS_ENOTFOUND);
	/* 2^64 and far beyond, as strings: never overflow. */
	assert_int_equal(
	    area_json("\"18446744073709551616\"", &a), RS_ENOTFOUND);
	assert_int_equal(
	    area_json("\"18446744073709551619\"", &a), RS_ENOTFOUND);
	assert_int_equal(area_json("\"4294967299\"", &a), RS_ENOTFOUND);
	assert_int_equal(
	    area_json("\"1000000000000000000000000000000003\"", &a),
	    RS_ENOTFOUND);
	assert_int_equal(a, 55);
}

static void
test_area_wrong_types_and_forms_are_invalid(void **state)
{
	int32_t a = 55;
	const char *bad[] = { "\"3a\"", "\"\"", "\" 3\"", "\"3 \"", "\"+3\"",
		"\"-3\"", "\"3.0\"", "3.0", "3e0", "true", "null", "[3]",
		"{\"a\": 3}", "\"0x3\"", "\"\\u0033\\u0000\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_error_t e;
		json_t *v
		    = json_loads(bad[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
		assert_non_null(v);
		assert_int_equal(rs_gw_area_from_json(v, &a), RS_EINVAL);
		json_decref(v);
	}
	assert_int_equal(a, 55);
}

static void
test_area_beyond_64_bits_never_parses_as_json(void **state)
{
	json_error_t e;
	/* jansson refuses these outright; the request is then a 400. */
	assert_null(json_loads("18446744073709551616", JSON_DECODE_ANY, &e));
	assert_null(json_loads("1e400", JSON_DECODE_ANY, &e));
}

static void
test_area_from_query_text(void **state)
{
	int32_t a = 0;
	assert_int_equal(rs_gw_area_from_text("12", 2, &a), RS_OK);
	assert_int_equal(a, 12);
	assert_int_equal(rs_gw_area_from_text("3a", 2, &a), RS_EINVAL);
	assert_int_equal(rs_gw_area_from_text("", 0, &a), RS_EINVAL);
	assert_int_equal(rs_gw_area_from_text("1e400", 5, &a), RS_EINVAL);
	assert_int_equal(rs_gw_area_from_text("18446744073709551616", 20, &a),
	    RS_ENOTFOUND);
	assert_int_equal(rs_gw_area_from_text("199", 3, &a), RS_ENOTFOUND);
}

static void
test_password_exactly_40_hex_any_case(void **state)
{
	const char *ok1 = "3d725109c7e7c0bfb9d709836735b56d943d263f";
	const char *ok2 = "3D725109C7E7C0BFB9D709836735B56D943D263F";
	const char *ok3 = "3D725109c7e7c0bfb9d709836735b56d943d263F";
	assert_true(rs_gw_password_valid(ok1, 40));
	assert_true(rs_gw_password_valid(ok2, 40));
	assert_true(rs_gw_password_valid(ok3, 40));
	assert_false(rs_gw_password_valid(ok1, 39));
	assert_false(rs_gw_password_valid(
	    "3d725109c7e7c0bfb9d709836735b56d943d263f0", 41));
	assert_false(rs_gw_password_valid(
	    "3d725109c7e7c0bfb9d709836735b56d943d263g", 40));
	assert_false(rs_gw_password_valid(
	    "3d725109c7e7c0bfb9d709836735b56d943d263 ", 40));
	assert_false(rs_gw_password_valid(
	    "0x725109c7e7c0bfb9d709836735b56d943d263f", 40));
	assert_false(rs_gw_password_valid("", 0));
	assert_false(rs_gw_password_valid(NULL, 0));
}

static void
test_username_non_empty_utf8_any_length(void **state)
{
	size_t big = 200 * 1024;
	char *name = malloc(big);
	memset(name, 'a', big);
	assert_true(rs_gw_username_valid(name, big));
	free(name);
	assert_true(rs_gw_username_valid("a", 1));
	assert_true(rs_gw_username_valid(" ", 1));
	{
		const char *sql = "Robert'); DROP TABLE users;--";
		assert_true(rs_gw_username_valid(sql, strlen(sql)));
	}
	assert_true(rs_gw_username_valid("../../etc/passwd", 16));
	assert_true(
	    rs_gw_username_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x97", 9));
	assert_false(rs_gw_username_valid("", 0));
	assert_false(rs_gw_username_valid(NULL, 0));
	assert_false(rs_gw_username_valid("a\0b", 3));
	assert_false(rs_gw_username_valid("\xff", 1));
	assert_false(rs_gw_username_valid("\xc3", 1)); /* cut */
	assert_false(rs_gw_username_valid("\xc0\xaf", 2)); /* overlong */
	assert_false(rs_gw_username_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(
	    rs_gw_username_valid("\xf4\x90\x80\x80", 4)); /* > 10FFFF */
}

static void
test_ride_id_positive_int64_only(void **state)
{
	int64_t id = 77;
	assert_int_equal(rs_gw_ride_id_parse("1", 1, &id), RS_OK);
	assert_int_equal(id, 1);
	assert_int_equal(
	    rs_gw_ride_id_parse("9223372036854775807", 19, &id), RS_OK);
	assert_int_equal(id, INT64_MAX);
	id = 77;
	assert_int_equal(
	    rs_gw_ride_id_parse("9223372036854775808", 19, &id), RS_ENOTFOUND);
	assert_int_equal(rs_gw_ride_id_parse("18446744073709551617", 20, &id),
	    RS_ENOTFOUND);
	assert_int_equal(rs_gw_ride_id_parse("0", 1, &id), RS_ENOTFOUND);
	assert_int_equal(rs_gw_ride_id_parse("-1", 2, &id), RS_ENOTFOUND);
	assert_int_equal(rs_gw_ride_id_parse("abc", 3, &id), RS_ENOTFOUND);
	assert_int_equal(rs_gw_ride_id_parse("1a", 2, &id), RS_ENOTFOUND);
	assert_int_equal(rs_gw_ride_id_parse("", 0, &id), RS_ENOTFOUND);
	assert_int_equal(id, 77);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse_swaps_seconds_and_hours),
		cmocka_unit_test(test_time_leap_years),
		cmocka_unit_test(test_time_invalid_dates),
		cmocka_unit_test(test_time_wrong_format),
		cmocka_unit_test(test_time_format_round_trip),
		cmocka_unit_test(test_time_uses_tz),
		cmocka_unit_test(test_time_tz_defaults_to_utc),
		cmocka_unit_test(test_area_table_has_198_areas),
		cmocka_unit_test(test_area_json_integers_and_strings),
		cmocka_unit_test(test_area_out_of_range_does_not_exist),
		cmocka_unit_test(test_area_wrong_types_and_forms_are_invalid),
		cmocka_unit_test(
		    test_area_beyond_64_bits_never_parses_as_json),
		cmocka_unit_test(test_area_from_query_text),
		cmocka_unit_test(test_password_exactly_40_hex_any_case),
		cmocka_unit_test(test_username_non_empty_utf8_any_length),
		cmocka_unit_test(test_ride_id_positive_int64_only),
	};
	return cmocka_run_group_tests(tests, setup_utc, NULL);
}
