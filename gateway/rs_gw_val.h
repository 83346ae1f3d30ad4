/* Validation of client input of the public API (API.md): usernames,
 * passwords, area numbers, timestamps and ride ids. Pure functions, no
 * I/O; unit-tested in rs_gw_val_test.c. */
#ifndef RS_GW_VAL_H
#define RS_GW_VAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Usernames: non-empty, valid UTF-8 without NUL bytes, any length.
 * Returns 1 when valid. */
int rs_gw_username_valid(const char *s, size_t len);

/* Passwords: a SHA1 hex digest, exactly 40 hex digits in any case.
 * Returns 1 when valid. */
int rs_gw_password_valid(const char *s, size_t len);

/* Area numbers. From a JSON value (an integer, or a string of decimal
 * digits) or from a query-string value (decimal digits). RS_OK and *out
 * for an area of the reference data; RS_EINVAL when the value is not a
 * number of that form (wrong type, "3a", "", "-1", 3.0); RS_ENOTFOUND for a
 * well-formed number that is no area (0, 199, 2^64 and beyond: never
 * overflows). */
int rs_gw_area_from_json(const json_t *v, int32_t *out);
int rs_gw_area_from_text(const char *s, size_t len, int32_t *out);

/* Ride ids in paths: RS_OK and *out for a positive decimal integer that
 * fits in int64; RS_ENOTFOUND for anything else ("0", "-1", "abc",
 * 99999999999999999999999): no ride has such an id. */
int rs_gw_ride_id_parse(const char *s, size_t len, int64_t *out);

/* Makes TZ default to UTC when it is unset or empty (API.md: timestamps are
 * interpreted in TZ, default UTC). Call once at start, before threads. */
void rs_gw_time_init(void);

/* Parses "DD-MM-YYYY:SS-MM-HH" (two-digit day, month, second, minute,
 * hour; four-digit year) as local time in TZ. Rejects anything else:
 * other separators or lengths, signs or spaces, impossible dates (31-04,
 * 29-02 of a non-leap year), seconds > 59, minutes > 59, hours > 23, year
 * 0000, and local times skipped by a DST change. RS_OK and *out = seconds
 * since the epoch, else RS_EINVAL. */
int rs_gw_time_parse(const char *s, size_t len, int64_t *out);

#define RS_GW_TIME_LEN 19 /* "DD-MM-YYYY:SS-MM-HH" */

/* Formats t (seconds since the epoch) the same way, in TZ. RS_EINVAL when
 * t is outside years 1..9999. out needs RS_GW_TIME_LEN + 1 bytes. */
int rs_gw_time_format(int64_t t, char out[RS_GW_TIME_LEN + 1]);

#endif
