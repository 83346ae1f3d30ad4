/* Validation of API input. See rs_gw_val.h. */
#include "rs_gw_val.h"

#include "rs_err.h"
#include "rs_gw_area.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *
rs_gw_area_name(int64_t no)
{
	/* The table is in CSV order; 198 rows, a linear scan is fine, but the
	 * reference data is sorted, so try the direct slot first. */
	if (no >= 1 && (size_t) no <= rs_gw_areas_count
	    && rs_gw_areas[no - 1].no == no)
		return rs_gw_areas[no - 1].name;
	for (size_t i = 0; i < rs_gw_areas_count; i++) {
		if (rs_gw_areas[i].no == no)
			return rs_gw_areas[i].name;
	}
	return NULL;
}

int
rs_gw_username_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0;

	if (s == NULL || len == 0)
		return 0;
	/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, <= U+10FFFF,
	 * and no NUL (C strings and PostgreSQL text cannot hold one). */
	while (i < len) {
		unsigned c = p[i];
		size_t n;
		unsigned cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
		    || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
rs_gw_password_valid(const char *s, size_t len)
{
	if (s == NULL || len != 40)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
		        || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* Decimal digits only (at least one) into *out; *big = 1 when the value
 * does not fit in int64 (then *out is meaningless). 0 when not digits. */
static int
parse_digits(const char *s, size_t len, int64_t *out, int *big)
{
	int64_t v = 0;

	*big = 0;
	if (s == NULL || len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int d;
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = s[i] - '0';
		if (*big)
			continue;
		if (v > (INT64_MAX - d) / 10)
			*big = 1;
		else
			v = v * 10 + d;
	}
	*out = v;
	return 1;
}

static int
area_check(int64_t v, int32_t *out)
{
	if (rs_gw_area_name(v) == NULL)
		return RS_ENOTFOUND;
	*out = (int32_t) v;
	return RS_OK;
}

int
rs_gw_area_from_text(const char *s, size_t len, int32_t *out)
{
	int64_t v;
	int big;

	if (!parse_digits(s, len, &v, &big))
		return RS_EINVAL;
	if (big)
		return RS_ENOTFOUND;
	return area_check(v, out);
}

int
rs_gw_area_from_json(const json_t *v, int32_t *out)
{
	if (json_is_integer(v))
		return area_check((int64_t) json_integer_value(v), out);
	if (json_is_string(v))
		return rs_gw_area_from_text(
		    json_string_value(v), json_string_length(v), out);
	return RS_EINVAL;
}

int
rs_gw_ride_id_parse(const char *s, size_t len, int64_t *out)
{
	int64_t v;
	int big;

	if (!parse_digits(s, len, &v, &big) || big || v <= 0)
		return RS_ENOTFOUND;
	*out = v;
	return RS_OK;
}

void
rs_gw_time_init(void)
{
	const char *tz = getenv("TZ");

	if (tz == NULL || *tz == '\0')
		setenv("TZ", "UTC", 1);
	tzset();
}

static int
two(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return 0;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return 1;
}

int
rs_gw_time_parse(const char *s, size_t len, int64_t *out)
{
	int d, mo, y1, y2, sec, min, h;
	struct tm tm, back;
	time_t t;

	/* DD-MM-YYYY:SS-MM-HH */
	if (s == NULL || len != RS_GW_TIME_LEN || s[2] != '-' || s[5] != '-'
	    || s[10] != ':' || s[13] != '-' || s[16] != '-')
		return RS_EINVAL;
	if (!two(s, &d) || !two(s + 3, &mo) || !two(s + 6, &y1)
	    || !two(s + 8, &y2) || !two(s + 11, &sec) || !two(s + 14, &min)
	    || !two(s + 17, &h))
		return RS_EINVAL;
	if (y1 * 100 + y2 < 1 || mo < 1 || mo > 12 || d < 1 || d > 31
	    || sec > 59 || min > 59 || h > 23)
		return RS_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y1 * 100 + y2 - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	/* mktime normalises 31-04 into 01-05 and a time skipped by DST into
	 * another hour: only an exact round trip is a real local time. */
	if (localtime_r(&t, &back) == NULL)
		return RS_EINVAL;
	if (back.tm_year != y1 * 100 + y2 - 1900 || back.tm_mon != mo - 1
	    || back.tm_mday != d || back.tm_hour != h || back.tm_min != min
	    || back.tm_sec != sec)
		return RS_EINVAL;
	*out = (int64_t) t;
	return RS_OK;
}

int
rs_gw_time_format(int64_t t, char out[RS_GW_TIME_LEN + 1])
{
	time_t tt = (time_t) t;
	struct tm tm;
	char buf[64];

	if (localtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 < 1
	    || tm.tm_year + 1900 > 9999)
		return RS_EINVAL;
	snprintf(buf, sizeof(buf), "%02d-%02d-%04d:%02d-%02d-%02d", tm.tm_mday,
	    tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_sec, tm.tm_min,
	    tm.tm_hour);
	memcpy(out, buf, RS_GW_TIME_LEN);
	out[RS_GW_TIME_LEN] = '\0';
	return RS_OK;
}
