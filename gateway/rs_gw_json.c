/* Strict JSON request bodies. See rs_gw_json.h. */
#include "rs_gw_json.h"

#include "rs_err.h"
#include "rs_pbjson.h"

#include <stdio.h>
#include <string.h>

static int
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r'
		    && s[i] != '\n')
			return 0;
	}
	return 1;
}

int
rs_gw_json_object(
    const char *body, size_t len, json_t **out, char why[RS_GW_WHY_LEN])
{
	json_error_t err;
	json_t *j;

	if (body == NULL || blank(body, len)) {
		snprintf(
		    why, RS_GW_WHY_LEN, "request body must be a JSON object");
		return RS_EINVAL;
	}
	/* Bounded depth: jansson recurses per level (rs_pbjson.h). */
	j = rs_pbjson_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		/* err.text may quote the input; rs_http_reply_error keeps the
		 * reply valid JSON whatever bytes it holds. */
		snprintf(why, RS_GW_WHY_LEN, "invalid JSON: %s (at byte %d)",
		    err.text, err.position);
		return RS_EINVAL;
	}
	if (!json_is_object(j)) {
		snprintf(
		    why, RS_GW_WHY_LEN, "request body must be a JSON object");
		json_decref(j);
		return RS_EINVAL;
	}
	*out = j;
	return RS_OK;
}

int
rs_gw_json_only(
    const json_t *obj, const char *const *allowed, char why[RS_GW_WHY_LEN])
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *) obj, key, v)
	{
		int ok = 0;
		for (size_t i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0) {
				ok = 1;
				break;
			}
		}
		if (!ok) {
			size_t n = strlen(key), cut = n > 64 ? 64 : n;
			/* Never cut inside a UTF-8 sequence. */
			while (cut > 0 && cut < n
			    && ((unsigned char) key[cut] & 0xc0) == 0x80)
				cut--;
			snprintf(why, RS_GW_WHY_LEN,
			    "unexpected field '%.*s%s'", (int) cut, key,
			    cut < n ? "..." : "");
			return RS_EINVAL;
		}
	}
	return RS_OK;
}

int
rs_gw_json_string(const json_t *obj, const char *key, const char **s,
    size_t *len, char why[RS_GW_WHY_LEN])
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		snprintf(why, RS_GW_WHY_LEN, "missing field '%s'", key);
		return RS_EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(
		    why, RS_GW_WHY_LEN, "field '%s' must be a string", key);
		return RS_EINVAL;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return RS_OK;
}

int
rs_gw_json_empty(const char *body, size_t len, char why[RS_GW_WHY_LEN])
{
	json_t *j;
	int rv;

	if (body == NULL || blank(body, len))
		return RS_OK;
	rv = rs_gw_json_object(body, len, &j, why);
	if (rv != RS_OK)
		return rv;
	if (json_object_size(j) != 0) {
		snprintf(
		    why, RS_GW_WHY_LEN, "request body must be {} or empty");
		rv = RS_EINVAL;
	}
	json_decref(j);
	return rv;
}

int
rs_gw_json_ascii(rs_buf *b, const char *s)
{
	const char *run = s;

	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
			return RS_EINVAL;
	}
	if (rs_buf_append(b, "\"", 1) != RS_OK)
		return RS_ENOMEM;
	for (const char *p = s;; p++) {
		if (*p != '"' && *p != '\\' && *p != '\0')
			continue;
		/* The run before p, then a backslash: p starts the next. */
		if (rs_buf_append(b, run, (size_t) (p - run)) != RS_OK)
			return RS_ENOMEM;
		if (*p == '\0')
			break;
		if (rs_buf_append(b, "\\", 1) != RS_OK)
			return RS_ENOMEM;
		run = p;
	}
	return rs_buf_append(b, "\"", 1) == RS_OK ? RS_OK : RS_ENOMEM;
}
