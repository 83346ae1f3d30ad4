/* Strict JSON request bodies (jansson). Every failure comes with a reason
 * for the client's {"error": ...}. */
#ifndef RS_GW_JSON_H
#define RS_GW_JSON_H

#include "rs_buf.h"

#include <jansson.h>
#include <stddef.h>

#define RS_GW_WHY_LEN 256

/* Parses body[0..len) as exactly one JSON object (duplicate keys, invalid
 * UTF-8, NUL escapes, trailing garbage and numbers beyond 64 bits are
 * rejected). RS_OK and *out (a new reference; json_decref it), else
 * RS_EINVAL with a reason in why. */
int rs_gw_json_object(
    const char *body, size_t len, json_t **out, char why[RS_GW_WHY_LEN]);

/* RS_OK when obj has no key outside the NULL-terminated list allowed; else
 * RS_EINVAL, "unexpected field 'x'". */
int rs_gw_json_only(
    const json_t *obj, const char *const *allowed, char why[RS_GW_WHY_LEN]);

/* Required string field key: RS_OK with *s / *len pointing into obj;
 * RS_EINVAL with "missing field 'key'" or "field 'key' must be a
 * string". Empty strings are returned as such (the caller decides). */
int rs_gw_json_string(const json_t *obj, const char *key, const char **s,
    size_t *len, char why[RS_GW_WHY_LEN]);

/* An empty body or one JSON object with no members: RS_OK; else RS_EINVAL
 * (used by POST /api/v1/db/clear). */
int rs_gw_json_empty(const char *body, size_t len, char why[RS_GW_WHY_LEN]);

/* Appends s as a JSON string, the text jansson's json_dumps writes for
 * it, when s is plain printable ASCII (0x20-0x7e; '"' and '\\' escaped):
 * RS_OK. RS_EINVAL (b untouched) for any other byte: the caller then
 * encodes with jansson. RS_ENOMEM when b cannot grow. */
int rs_gw_json_ascii(rs_buf *b, const char *s);

#endif
