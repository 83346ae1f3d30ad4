/* Unit tests of the proto3 JSON codec: every DbRequest op survives a
 * round trip protobuf -> JSON -> protobuf, and malformed JSON is refused
 * with a reason naming the field. */
#include <stdint.h>
#include "rs_test.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rideshare.pb-c.h"
#include "rs_op.h"
#include "rs_pbjson.h"
#include "rs_test_ops.h"

/* Packs both messages and compares the bytes: protobuf-c serializes
 * fields in field-number order, so equal bytes mean equal messages. */
static void
assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = protobuf_c_message_get_packed_size(a);
	size_t nb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);

	assert_int_equal(na, nb);
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	assert_memory_equal(pa, pb, na);
	free(pa);
	free(pb);
}

static ProtobufCMessage *
round_trip(const ProtobufCMessage *m)
{
	json_t *j = NULL;
	ProtobufCMessage *back = NULL;
	char err[256];
	char *text;
	json_t *reparsed;

	assert_int_equal(rs_pbjson_encode(m, &j), 0);
	/* Through text too, as the HTTP API does. */
	text = json_dumps(j, JSON_COMPACT);
	reparsed = json_loads(text, 0, NULL);
	assert_non_null(reparsed);
	assert_int_equal(
	    rs_pbjson_decode(m->descriptor, reparsed, &back, err, sizeof(err)),
	    0);
	assert_same_message(m, back);
	json_decref(j);
	json_decref(reparsed);
	free(text);
	return back;
}

static void
test_every_request_op_round_trips(void **state)
{
	rs_test_ops o;
	size_t seen = 0;

	(void) state;
	rs_test_ops_init(&o);
	const rs_test_op *ops = o.each;
	const size_t nops = RS_TEST_N_OPS;

	for (size_t i = 0; i < nops; i++) {
		Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT;
		Rideshare__DbRequest *back;

		r.request_id = "req-1";
		r.min_seq = UINT64_MAX;
		r.reply_to = "amq.rabbitmq.reply-to.abc";
		rs_test_set_op(&r, ops[i].op, ops[i].m);
		assert_true(rs_op_is_known(r.op_case));
		back = (Rideshare__DbRequest *) round_trip(&r.base);
		assert_int_equal(back->op_case, ops[i].op);
		rideshare__db_request__free_unpacked(back, NULL);
	}
	/* Every op the contract knows is in the table. */
	for (unsigned i = 0; i < rideshare__db_request__descriptor.n_fields;
	     i++) {
		unsigned id = rideshare__db_request__descriptor.fields[i].id;
		if (rs_op_is_known((Rideshare__DbRequest__OpCase) id))
			seen++;
	}
	assert_int_equal(seen, nops);
}

static void
test_response_with_repeated_and_enum_round_trips(void **state)
{
	Rideshare__DbResponse r = RIDESHARE__DB_RESPONSE__INIT;
	Rideshare__RideList rl = RIDESHARE__RIDE_LIST__INIT;
	Rideshare__Ride a = RIDESHARE__RIDE__INIT, b = RIDESHARE__RIDE__INIT;
	Rideshare__Ride *rides[2] = { &a, &b };
	char *users[3] = { "u1", "u2", "u3" };
	Rideshare__DbResponse *back;
	json_t *j;

	(void) state;
	a.ride_id = 1;
	a.created_by = "x";
	a.n_users = 3;
	a.users = users;
	b.ride_id = 2;
	rl.n_rides = 2;
	rl.rides = rides;
	r.request_id = "r";
	r.status = RIDESHARE__STATUS__NOT_FOUND;
	r.error = "no such ride";
	r.result_case = RIDESHARE__DB_RESPONSE__RESULT_RIDES;
	r.rides = &rl;
	r.seq = 99;
	back = (Rideshare__DbResponse *) round_trip(&r.base);
	rideshare__db_response__free_unpacked(back, NULL);

	assert_int_equal(rs_pbjson_encode(&r.base, &j), 0);
	assert_string_equal(
	    json_string_value(json_object_get(j, "status")), "NOT_FOUND");
	assert_string_equal(
	    json_string_value(json_object_get(j, "requestId")), "r");
	/* 64-bit integers travel as strings in proto3 JSON. */
	assert_string_equal(
	    json_string_value(json_object_get(j, "seq")), "99");
	json_decref(j);
}

static void
test_oneof_member_with_default_value_is_kept(void **state)
{
	Rideshare__DbResponse r = RIDESHARE__DB_RESPONSE__INIT;
	json_t *j;

	(void) state;
	r.result_case = RIDESHARE__DB_RESPONSE__RESULT_COUNT;
	r.count = 0;
	assert_int_equal(rs_pbjson_encode(&r.base, &j), 0);
	assert_string_equal(
	    json_string_value(json_object_get(j, "count")), "0");
	/* Proto3 defaults of plain fields are left out. */
	assert_null(json_object_get(j, "status"));
	json_decref(j);
}

static int
decode_text(
    const char *text, Rideshare__DbRequest **out, char *err, size_t errlen)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	int rv;

	assert_non_null(j);
	rv = rs_pbjson_decode(&rideshare__db_request__descriptor, j,
	    (ProtobufCMessage **) out, err, errlen);
	json_decref(j);
	return rv;
}

static void
test_snake_case_and_numeric_strings_are_accepted(void **state)
{
	Rideshare__DbRequest *r;
	char err[256];

	(void) state;
	assert_int_equal(
	    decode_text(
	        "{\"request_id\":\"x\",\"createRide\":{\"createdBy\":\"a\","
	        "\"timestamp\":\"1800000000\",\"source\":\"3\","
	        "\"destination\":4},\"minSeq\":7}",
	        &r, err, sizeof(err)),
	    0);
	assert_string_equal(r->request_id, "x");
	assert_int_equal(r->op_case, RIDESHARE__DB_REQUEST__OP_CREATE_RIDE);
	assert_int_equal(r->create_ride->timestamp, 1800000000);
	assert_int_equal(r->create_ride->source, 3);
	assert_int_equal(r->min_seq, 7);
	rideshare__db_request__free_unpacked(r, NULL);
}

static void
expect_rejected(const char *text, const char *needle)
{
	Rideshare__DbRequest *r = NULL;
	char err[256];

	assert_int_not_equal(decode_text(text, &r, err, sizeof(err)), 0);
	assert_null(r);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void
test_malformed_requests_are_rejected_with_the_field_named(void **state)
{
	(void) state;
	expect_rejected("[]", "expected an object");
	expect_rejected("{\"bogus\":1}", "bogus");
	expect_rejected("{\"requestId\":5}", "requestId");
	expect_rejected(
	    "{\"getRide\":{\"rideId\":\"12x\"}}", "getRide.rideId");
	expect_rejected("{\"getRide\":{\"rideId\":\"99999999999999999999\"}}",
	    "getRide.rideId");
	expect_rejected(
	    "{\"createRide\":{\"source\":4294967296}}", "createRide.source");
	expect_rejected(
	    "{\"createRide\":{\"source\":1.5}}", "createRide.source");
	expect_rejected("{\"minSeq\":-1}", "minSeq");
	expect_rejected("{\"addUser\":{},\"clear\":{}}", "oneof");
	expect_rejected(
	    "{\"addUser\":{\"username\":[\"a\"]}}", "addUser.username");
	expect_rejected("{\"addUser\":{\"username\":\"a\\u0000b\"}}", "NUL");
	expect_rejected("{\"addUser\":\"alice\"}", "addUser");
}

static void
test_partial_decode_failure_frees_everything(void **state)
{
	(void) state;
	/* Fails after strings were allocated: run under ASan to see leaks. */
	expect_rejected("{\"requestId\":\"r\",\"joinRide\":{\"username\":"
	                "\"u\",\"rideId\":true}}",
	    "joinRide.rideId");
}

/* "[[[...]]]" nested depth levels (caller frees). */
static char *
nested(size_t depth, size_t *len)
{
	char *s = malloc(2 * depth + 1);

	assert_non_null(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	*len = 2 * depth;
	return s;
}

static void
test_depth_check_counts_brackets_outside_strings(void **state)
{
	const char *ok = "{\"a\": \"[[[[{{{{\", \"b\": [1, {\"c\": []}]}";
	const char *esc = "{\"a\": \"\\\"[[[[\"}";
	const char *deep = "{\"a\": [[1]]}";

	assert_int_equal(rs_pbjson_depth_exceeded(ok, strlen(ok), 4), 0);
	assert_int_not_equal(rs_pbjson_depth_exceeded(ok, strlen(ok), 3), 0);
	/* An escaped quote does not end the string. */
	assert_int_equal(rs_pbjson_depth_exceeded(esc, strlen(esc), 1), 0);
	assert_int_equal(rs_pbjson_depth_exceeded(deep, strlen(deep), 3), 0);
	/* The third opening bracket is the one too deep: offset 7, +1. */
	assert_int_equal(rs_pbjson_depth_exceeded(deep, strlen(deep), 2), 8);
	/* Stray closers never make depth negative. */
	assert_int_equal(rs_pbjson_depth_exceeded("]]]][[", 6, 2), 0);
	assert_int_equal(rs_pbjson_depth_exceeded("]]]][[[", 7, 2), 7);
}

static void
test_loadb_refuses_documents_deeper_than_the_limit(void **state)
{
	size_t max = rs_pbjson_max_depth(), len;
	json_error_t err;
	char *s;
	json_t *j;

	assert_int_equal(max, RS_PBJSON_MAX_DEPTH_DEFAULT);
	s = nested(max, &len);
	j = rs_pbjson_loadb(s, len, 0, &err);
	assert_non_null(j);
	json_decref(j);
	free(s);
	/* One more level, and depths that overflow a thread stack in jansson:
	 * refused by the scan, before jansson runs. */
	for (size_t d = max + 1; d <= 200000; d = d < 1000 ? 1000 : d * 20) {
		s = nested(d, &len);
		assert_null(rs_pbjson_loadb(s, len, 0, &err));
		assert_non_null(strstr(err.text, "nested deeper than"));
		assert_int_equal(err.position, (int) max);
		free(s);
	}
	/* Unbalanced: only the opening brackets count. */
	s = nested(200000, &len);
	assert_null(rs_pbjson_loadb(s, len / 2, 0, NULL));
	free(s);
}

/* The deepest accepted document, parsed, decoded as a DbRequest (refused:
 * the codec nests no arrays in arrays), dumped and freed on a thread with
 * CivetWeb's 100 KiB stack: what one request may cost a service. */
static void *
deepest_path(void *arg)
{
	size_t depth = rs_pbjson_max_depth() - 1, len;
	char *s = nested(depth, &len);
	char *body = malloc(len + 64), *text;
	ProtobufCMessage *m = NULL;
	char err[256];
	json_t *j;

	snprintf(body, len + 64, "{\"requestId\": %s}", s);
	j = rs_pbjson_loadb(body, strlen(body), JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL) {
		text = json_dumps(j, JSON_COMPACT);
		free(text);
		if (rs_pbjson_decode(&rideshare__db_request__descriptor, j, &m,
		        err, sizeof(err))
		    == 0)
			protobuf_c_message_free_unpacked(m, NULL);
		json_decref(j);
	}
	free(body);
	free(s);
	return j;
}

static void
test_the_deepest_accepted_document_fits_a_small_thread_stack(void **state)
{
	pthread_attr_t attr;
	pthread_t t;
	void *ok = NULL;

	assert_int_equal(pthread_attr_init(&attr), 0);
#if defined(__SANITIZE_ADDRESS__)
	/* ASan frames are several times larger. */
	assert_int_equal(pthread_attr_setstacksize(&attr, 400 * 1024), 0);
#else
	assert_int_equal(pthread_attr_setstacksize(&attr, 100 * 1024), 0);
#endif
	assert_int_equal(pthread_create(&t, &attr, deepest_path, NULL), 0);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_non_null(ok);
	pthread_attr_destroy(&attr);
}

/* Found by fuzz/fuzz_pbjson: JSON reals were converted to both int64_t
 * and uint64_t whatever the field type (undefined for -8.0 -> uint64_t). */
static void
test_real_numbers_convert_only_within_the_field_range(void **state)
{
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
		{ "{\"getRide\": {\"rideId\": -8.0}}", true },
		{ "{\"getRide\": {\"rideId\": -9223372036854775808.0}}",
		    true },
		{ "{\"listUsers\": {}, \"minSeq\": 1e19}", true },
		{ "{\"getRide\": {\"rideId\": 9223372036854775808.0}}",
		    false },
		{ "{\"getRide\": {\"rideId\": -1e19}}", false },
		{ "{\"listUsers\": {}, \"minSeq\": -1.0}", false },
		{ "{\"listUsers\": {}, \"minSeq\": 18446744073709551616.0}",
		    false },
		{ "{\"listUsers\": {}, \"minSeq\": 1.5}", false },
	};
	Rideshare__DbRequest *r;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = NULL;
		assert_int_equal(
		    decode_text(cases[i].text, &r, err, sizeof(err)) == 0,
		    cases[i].ok);
		if (i == 0)
			assert_int_equal(r->get_ride->ride_id, -8);
		if (r != NULL)
			rideshare__db_request__free_unpacked(r, NULL);
	}
}

RS_TEST_MAIN(cmocka_unit_test(test_every_request_op_round_trips),
    cmocka_unit_test(test_response_with_repeated_and_enum_round_trips),
    cmocka_unit_test(test_oneof_member_with_default_value_is_kept),
    cmocka_unit_test(test_snake_case_and_numeric_strings_are_accepted),
    cmocka_unit_test(
        test_malformed_requests_are_rejected_with_the_field_named),
    cmocka_unit_test(test_partial_decode_failure_frees_everything),
    cmocka_unit_test(test_depth_check_counts_brackets_outside_strings),
    cmocka_unit_test(test_real_numbers_convert_only_within_the_field_range),
    cmocka_unit_test(test_loadb_refuses_documents_deeper_than_the_limit),
    cmocka_unit_test(
        test_the_deepest_accepted_document_fits_a_small_thread_stack))
