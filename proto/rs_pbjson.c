/* proto3 JSON <-> protobuf-c messages, walking the generated descriptors.
 * See rs_pbjson.h for the mapping rules. */
#include "rs_pbjson.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Error codes mirror common/rs_err.h without depending on rs_common. */
enum { PBJ_OK = 0, PBJ_EINVAL = 1, PBJ_ENOMEM = 2 };

#define MEMBER(type, msg, off) (*(type *) ((char *) (msg) + (off)))
#define CMEMBER(type, msg, off) \
	(*(const type *) ((const char *) (msg) + (off)))

/* "request_id" -> "requestId" (proto3 json_name). */
static void
json_name(const char *name, char *out, size_t outlen)
{
	size_t j = 0;
	bool up = false;

	for (size_t i = 0; name[i] != '\0' && j + 1 < outlen; i++) {
		if (name[i] == '_') {
			up = true;
			continue;
		}
		out[j++]
		    = up ? (char) toupper((unsigned char) name[i]) : name[i];
		up = false;
	}
	out[j] = '\0';
}

static const char b64[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *
bytes_to_json(const ProtobufCBinaryData *bd)
{
	size_t n = 4 * ((bd->len + 2) / 3);
	char *s = malloc(n + 1);
	json_t *j;
	size_t o = 0;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < bd->len; i += 3) {
		uint32_t v = (uint32_t) bd->data[i] << 16;
		if (i + 1 < bd->len)
			v |= (uint32_t) bd->data[i + 1] << 8;
		if (i + 2 < bd->len)
			v |= bd->data[i + 2];
		s[o++] = b64[(v >> 18) & 63];
		s[o++] = b64[(v >> 12) & 63];
		s[o++] = i + 1 < bd->len ? b64[(v >> 6) & 63] : '=';
		s[o++] = i + 2 < bd->len ? b64[v & 63] : '=';
	}
	s[o] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

static int
bytes_from_json(const char *s, ProtobufCBinaryData *out)
{
	size_t n = strlen(s), o = 0;
	uint32_t acc = 0;
	int bits = 0;
	uint8_t *d = malloc(n * 3 / 4 + 1);

	if (d == NULL)
		return PBJ_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *p;
		char c = s[i];

		if (c == '=')
			break;
		if (c == '-')
			c = '+'; /* accept the URL-safe alphabet too */
		else if (c == '_')
			c = '/';
		p = strchr(b64, c);
		if (p == NULL || c == '\0') {
			free(d);
			return PBJ_EINVAL;
		}
		acc = (acc << 6) | (uint32_t) (p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (uint8_t) (acc >> bits);
		}
	}
	out->data = d;
	out->len = o;
	return PBJ_OK;
}

static json_t *encode_message(const ProtobufCMessage *msg);

/* Encodes one value of field f stored at p. */
static json_t *
encode_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	char num[32];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *) p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *) p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(num, sizeof(num), "%" PRId64, *(const int64_t *) p);
		return json_string(num);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(num, sizeof(num), "%" PRIu64, *(const uint64_t *) p);
		return json_string(num);
	case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *) p);
	case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *) p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *) p);
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *) p;
		const ProtobufCEnumValue *ev
		    = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return ev ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *) p;
		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: return bytes_to_json(p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
		return m ? encode_message(m) : json_object();
	}
	}
	return NULL;
}

/* True when a proto3 singular field holds its default (and is omitted). */
static bool
is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return *(const uint32_t *) p == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *) p == 0;
	case PROTOBUF_C_TYPE_FLOAT: return *(const float *) p == 0;
	case PROTOBUF_C_TYPE_DOUBLE: return *(const double *) p == 0;
	case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *) p;
	case PROTOBUF_C_TYPE_ENUM: return *(const int *) p == 0;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *) p;
		return s == NULL || *s == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *) p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *) p == NULL;
	}
	return true;
}

static size_t
value_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return 8;
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	default: return 4;
	}
}

static json_t *
encode_message(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	json_t *obj = json_object();
	char name[128];

	if (obj == NULL)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = (const char *) msg + f->offset;
		json_t *v;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = CMEMBER(size_t, msg, f->quantifier_offset);
			const char *arr = *(char *const *) p;
			if (n == 0)
				continue;
			v = json_array();
			for (size_t k = 0; v != NULL && k < n; k++) {
				if (json_array_append_new(v,
				        encode_value(
				            f, arr + k * value_size(f->type)))
				    != 0) {
					json_decref(v);
					v = NULL;
				}
			}
		} else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (CMEMBER(uint32_t, msg, f->quantifier_offset)
			    != f->id)
				continue;
			v = encode_value(f, p);
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL
		    && f->type != PROTOBUF_C_TYPE_MESSAGE
		    && f->type != PROTOBUF_C_TYPE_STRING) {
			if (!CMEMBER(
			        protobuf_c_boolean, msg, f->quantifier_offset))
				continue;
			v = encode_value(f, p);
		} else {
			if (is_default(f, p))
				continue;
			v = encode_value(f, p);
		}
		json_name(f->name, name, sizeof(name));
		if (v == NULL || json_object_set_new(obj, name, v) != 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

int
rs_pbjson_encode(const ProtobufCMessage *msg, json_t **out)
{
	json_t *j = encode_message(msg);

	if (j == NULL)
		return PBJ_ENOMEM;
	*out = j;
	return PBJ_OK;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct {
	char *err;
	size_t errlen;
} dctx;

static int
fail(dctx *c, const char *path, const char *why)
{
	snprintf(c->err, c->errlen, "field '%s': %s", path, why);
	return PBJ_EINVAL;
}

/* Integer from a JSON number or numeric string, as proto3 JSON allows. */
static int
json_int(dctx *c, const char *path, const json_t *j, bool is_unsigned,
    int64_t *sv, uint64_t *uv)
{
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);
		if (is_unsigned && v < 0)
			return fail(c, path, "must not be negative");
		*sv = v;
		*uv = (uint64_t) v;
		return PBJ_OK;
	}
	if (json_is_real(j)) {
		double d = json_real_value(j);
		/* Convert only within the target type's range: a double
		 * outside it (e.g. -8.0 to uint64_t) is undefined behaviour
		 * (found by fuzz/fuzz_pbjson). 2^63 and 2^64 are exact. */
		if (d != floor(d))
			return fail(c, path, "not an integer in range");
		if (is_unsigned) {
			if (d < 0)
				return fail(c, path, "must not be negative");
			if (d >= 18446744073709551616.0)
				return fail(
				    c, path, "not an integer in range");
			*uv = (uint64_t) d;
			*sv = (int64_t) *uv;
		} else {
			if (d < -9223372036854775808.0
			    || d >= 9223372036854775808.0)
				return fail(
				    c, path, "not an integer in range");
			*sv = (int64_t) d;
			*uv = (uint64_t) *sv;
		}
		return PBJ_OK;
	}
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end;
		errno = 0;
		if (*s == '\0' || isspace((unsigned char) *s))
			return fail(c, path, "not an integer");
		if (is_unsigned) {
			if (*s == '-')
				return fail(c, path, "must not be negative");
			*uv = strtoull(s, &end, 10);
			*sv = (int64_t) *uv;
		} else {
			*sv = strtoll(s, &end, 10);
			*uv = (uint64_t) *sv;
		}
		if (errno != 0 || *end != '\0')
			return fail(c, path, "not an integer in range");
		return PBJ_OK;
	}
	return fail(c, path, "expected an integer");
}

static int decode_into(dctx *c, const char *path,
    const ProtobufCMessageDescriptor *d, const json_t *in,
    ProtobufCMessage *msg);

static int
decode_new(dctx *c, const char *path, const ProtobufCMessageDescriptor *d,
    const json_t *in, ProtobufCMessage **out)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);
	int rv;

	if (m == NULL)
		return PBJ_ENOMEM;
	d->message_init(m);
	rv = decode_into(c, path, d, in, m);
	if (rv != PBJ_OK) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*out = m;
	return PBJ_OK;
}

/* Decodes one value of field f from j into p (storage of value_size). */
static int
decode_value(dctx *c, const char *path, const ProtobufCFieldDescriptor *f,
    const json_t *j, void *p)
{
	int64_t sv = 0;
	uint64_t uv = 0;
	int rv;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if ((rv = json_int(c, path, j, false, &sv, &uv)) != PBJ_OK)
			return rv;
		if (sv < INT32_MIN || sv > INT32_MAX)
			return fail(c, path, "out of 32-bit range");
		*(int32_t *) p = (int32_t) sv;
		return PBJ_OK;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if ((rv = json_int(c, path, j, true, &sv, &uv)) != PBJ_OK)
			return rv;
		if (uv > UINT32_MAX)
			return fail(c, path, "out of 32-bit range");
		*(uint32_t *) p = (uint32_t) uv;
		return PBJ_OK;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if ((rv = json_int(c, path, j, false, &sv, &uv)) != PBJ_OK)
			return rv;
		*(int64_t *) p = sv;
		return PBJ_OK;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if ((rv = json_int(c, path, j, true, &sv, &uv)) != PBJ_OK)
			return rv;
		*(uint64_t *) p = uv;
		return PBJ_OK;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(j))
			return fail(c, path, "expected a number");
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *) p = (float) json_number_value(j);
		else
			*(double *) p = json_number_value(j);
		return PBJ_OK;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(j))
			return fail(c, path, "expected true or false");
		*(protobuf_c_boolean *) p = json_is_true(j);
		return PBJ_OK;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = NULL;
		if (json_is_string(j))
			ev = protobuf_c_enum_descriptor_get_value_by_name(
			    f->descriptor, json_string_value(j));
		else if (json_is_integer(j)
		    && json_integer_value(j) >= INT32_MIN
		    && json_integer_value(j) <= INT32_MAX)
			ev = protobuf_c_enum_descriptor_get_value(
			    f->descriptor, (int) json_integer_value(j));
		if (ev == NULL)
			return fail(c, path, "unknown enum value");
		*(int *) p = ev->value;
		return PBJ_OK;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *s;
		if (!json_is_string(j))
			return fail(c, path, "expected a string");
		/* jansson rejects invalid UTF-8 and keeps embedded NULs in
		 * the length; a NUL would silently truncate the C string. */
		if (strlen(json_string_value(j)) != json_string_length(j))
			return fail(c, path, "contains a NUL character");
		s = strdup(json_string_value(j));
		if (s == NULL)
			return PBJ_ENOMEM;
		*(char **) p = s;
		return PBJ_OK;
	}
	case PROTOBUF_C_TYPE_BYTES:
		if (!json_is_string(j))
			return fail(c, path, "expected a base64 string");
		rv = bytes_from_json(json_string_value(j), p);
		return rv == PBJ_EINVAL ? fail(c, path, "invalid base64") : rv;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (json_is_null(j))
			return PBJ_OK;
		return decode_new(
		    c, path, f->descriptor, j, (ProtobufCMessage **) p);
	}
	return fail(c, path, "unsupported type");
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
	char name[128];

	for (unsigned i = 0; i < d->n_fields; i++) {
		json_name(d->fields[i].name, name, sizeof(name));
		if (strcmp(key, name) == 0
		    || strcmp(key, d->fields[i].name) == 0)
			return &d->fields[i];
	}
	return NULL;
}

static int
decode_repeated(dctx *c, const char *path, const ProtobufCFieldDescriptor *f,
    const json_t *j, ProtobufCMessage *msg)
{
	size_t n, sz = value_size(f->type);
	char *arr;

	if (!json_is_array(j))
		return fail(c, path, "expected an array");
	n = json_array_size(j);
	if (n == 0)
		return PBJ_OK;
	arr = calloc(n, sz);
	if (arr == NULL)
		return PBJ_ENOMEM;
	/* Count grows as elements are filled, so free_unpacked can always
	 * release a partially decoded array. */
	MEMBER(char *, msg, f->offset) = arr;
	MEMBER(size_t, msg, f->quantifier_offset) = 0;
	for (size_t k = 0; k < n; k++) {
		json_t *e = json_array_get(j, k);
		int rv;

		if (json_is_null(e))
			return fail(c, path, "null array element");
		rv = decode_value(c, path, f, e, arr + k * sz);
		if (rv != PBJ_OK)
			return rv;
		MEMBER(size_t, msg, f->quantifier_offset) = k + 1;
	}
	return PBJ_OK;
}

static int
decode_into(dctx *c, const char *path, const ProtobufCMessageDescriptor *d,
    const json_t *in, ProtobufCMessage *msg)
{
	const char *key;
	json_t *j;

	if (!json_is_object(in))
		return fail(c, path, "expected an object");
	json_object_foreach((json_t *) in, key, j)
	{
		const ProtobufCFieldDescriptor *f = find_field(d, key);
		char sub[256];
		int rv;

		snprintf(
		    sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		if (f == NULL)
			return fail(c, sub, "unknown field");
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (json_is_null(j))
				continue;
			if (MEMBER(size_t, msg, f->quantifier_offset) != 0
			    || MEMBER(void *, msg, f->offset) != NULL)
				return fail(c, sub, "given twice");
			rv = decode_repeated(c, sub, f, j, msg);
		} else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *cs
			    = &MEMBER(uint32_t, msg, f->quantifier_offset);
			if (json_is_null(j))
				continue;
			if (*cs != 0)
				return fail(
				    c, sub, "more than one member of a oneof");
			if (f->type == PROTOBUF_C_TYPE_STRING)
				MEMBER(char *, msg, f->offset) = NULL;
			rv = decode_value(
			    c, sub, f, j, (char *) msg + f->offset);
			if (rv == PBJ_OK)
				*cs = f->id;
		} else {
			void *p = (char *) msg + f->offset;
			if (json_is_null(j))
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				char *old = *(char **) p;
				if (old != NULL && old != f->default_value)
					return fail(c, sub, "given twice");
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE
			    && *(void **) p != NULL) {
				return fail(c, sub, "given twice");
			}
			rv = decode_value(c, sub, f, j, p);
			if (rv == PBJ_OK
			    && f->label == PROTOBUF_C_LABEL_OPTIONAL
			    && f->type != PROTOBUF_C_TYPE_MESSAGE
			    && f->type != PROTOBUF_C_TYPE_STRING)
				MEMBER(protobuf_c_boolean, msg,
				    f->quantifier_offset)
				    = 1;
		}
		if (rv != PBJ_OK)
			return rv;
	}
	return PBJ_OK;
}

int
rs_pbjson_decode(const ProtobufCMessageDescriptor *desc, const json_t *in,
    ProtobufCMessage **out, char *err, size_t errlen)
{
	dctx c = { err, errlen };

	if (errlen > 0)
		err[0] = '\0';
	return decode_new(&c, "", desc, in, out);
}

/* ---- bounded JSON parsing ---------------------------------------------*/

static size_t max_depth = RS_PBJSON_MAX_DEPTH_DEFAULT;
static pthread_once_t max_depth_once = PTHREAD_ONCE_INIT;

static void
max_depth_init(void)
{
	const char *v = getenv("RIDESHARE_JSON_MAX_DEPTH");
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno == 0 && *end == '\0' && n >= 1
	    && n <= RS_PBJSON_MAX_DEPTH_CAP)
		max_depth = (size_t) n;
}

size_t
rs_pbjson_max_depth(void)
{
	pthread_once(&max_depth_once, max_depth_init);
	return max_depth;
}

size_t
rs_pbjson_depth_exceeded(const char *buf, size_t len, size_t max)
{
	size_t depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++; /* the escaped byte cannot end the string
				      */
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return i + 1;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

json_t *
rs_pbjson_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	size_t max = rs_pbjson_max_depth();
	size_t at = rs_pbjson_depth_exceeded(buf, len, max);

	if (at == 0)
		return json_loadb(buf, len, flags, err);
	if (err != NULL) {
		memset(err, 0, sizeof(*err));
		snprintf(err->text, sizeof(err->text),
		    "JSON nested deeper than %zu levels", max);
		snprintf(err->source, sizeof(err->source), "<buffer>");
		err->line = -1;
		err->column = -1;
		err->position
		    = (int) (at - 1 > (size_t) INT32_MAX ? INT32_MAX : at - 1);
	}
	return NULL;
}

int
rs_pbjson_decode_request(const char *text, size_t len,
    Rideshare__DbRequest **out, char *err, size_t errlen)
{
	ProtobufCMessage *m;
	json_error_t jerr;
	json_t *j = rs_pbjson_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int rv;

	if (j == NULL) {
		snprintf(err, errlen, "not JSON: %s", jerr.text);
		return PBJ_EINVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "not a JSON object (a DbRequest)");
		return PBJ_EINVAL;
	}
	rv = rs_pbjson_decode(
	    &rideshare__db_request__descriptor, j, &m, err, errlen);
	json_decref(j);
	if (rv != 0)
		return PBJ_EINVAL;
	*out = (Rideshare__DbRequest *) m;
	return 0;
}
