/* libFuzzer harness: the proto3 JSON codec (proto/rs_pbjson.c) as the
 * orchestrator's admin API and rsctl use it. Input: one selector byte
 * (which message type), then a JSON text. Checked properties:
 *  - rs_pbjson_loadb never lets jansson see nesting beyond the limit, and
 *    whatever it accepts is no deeper than that;
 *  - decode either fails with a reason or yields a message that survives
 *    encode -> text -> bounded load -> decode unchanged (same packed bytes);
 *  - no crash, leak or undefined behaviour (ASan/UBSan build). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rideshare.pb-c.h"
#include "rs_pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[] = {
	&rideshare__db_request__descriptor,
	&rideshare__db_response__descriptor,
	&rideshare__sync_event__descriptor,
	&rideshare__worker_info__descriptor,
};

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *b;

	*len = protobuf_c_message_get_packed_size(m);
	b = malloc(*len ? *len : 1);
	if (b == NULL)
		abort();
	protobuf_c_message_pack(m, b);
	return b;
}

/* Depth of a parsed value (what jansson built). */
static size_t
depth_of(const json_t *j)
{
	size_t d = 0, c;
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach((json_t *) j, k, v)
		{
			c = depth_of(v);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			c = depth_of(v);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m = NULL, *back = NULL;
	json_error_t jerr;
	json_t *j, *enc = NULL, *re;
	uint8_t *p1, *p2;
	size_t n1, n2;
	char err[256];
	char *text;

	if (size < 1)
		return 0;
	d = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	j = rs_pbjson_loadb(
	    (const char *) data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return 0;
	if (depth_of(j) > rs_pbjson_max_depth())
		abort();
	if (!json_is_object(j)
	    || rs_pbjson_decode(d, j, &m, err, sizeof(err)) != 0) {
		json_decref(j);
		return 0;
	}
	json_decref(j);
	if (rs_pbjson_encode(m, &enc) != 0)
		abort(); /* a decoded message must always encode */
	text = json_dumps(enc, JSON_COMPACT);
	json_decref(enc);
	if (text == NULL)
		abort();
	re = rs_pbjson_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, NULL);
	if (re == NULL
	    || rs_pbjson_decode(d, re, &back, err, sizeof(err)) != 0)
		abort(); /* our own output must decode */
	p1 = pack(m, &n1);
	p2 = pack(back, &n2);
	if (n1 != n2 || memcmp(p1, p2, n1) != 0)
		abort(); /* the round trip changed the message */
	free(p1);
	free(p2);
	free(text);
	json_decref(re);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(back, NULL);
	return 0;
}
