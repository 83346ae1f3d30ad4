/* rs_op: what is a write, and which requests are dead-lettered. */
#include "rs_op.h"

#include "rs_contract.h"
#include "rs_err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"
#include "rs_test_ops.h"

static void
test_request_problems_are_named(void **state)
{
	Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;

	(void) state;
	assert_string_equal(rs_op_request_problem(NULL), "undecodable");
	assert_string_equal(rs_op_request_problem(&r), "no_request_id");
	r.request_id = "has space";
	assert_string_equal(rs_op_request_problem(&r), "bad_request_id");
	r.request_id = "rid-1";
	assert_string_equal(rs_op_request_problem(&r), "no_op");
	r.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	r.count_rides = &c;
	assert_null(rs_op_request_problem(&r));
	assert_false(rs_op_is_write(r.op_case));
	assert_true(rs_op_is_write(RIDESHARE__DB_REQUEST__OP_ADD_USER));
}

static void
test_sync_event_problems_are_named(void **state)
{
	Rideshare__SyncEvent ev = RIDESHARE__SYNC_EVENT__INIT;
	Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__DbResponse ok = RIDESHARE__DB_RESPONSE__INIT;
	rs_test_ops o;

	(void) state;
	rs_test_ops_init(&o);
	assert_string_equal(rs_op_sync_event_problem(NULL), "undecodable");
	assert_string_equal(rs_op_sync_event_problem(&ev), "incomplete");
	ev.request = &r;
	ev.result = &ok;
	assert_string_equal(rs_op_sync_event_problem(&ev), "no_seq");
	ev.seq = 7;
	assert_string_equal(rs_op_sync_event_problem(&ev), "no_request_id");
	r.request_id = "rid-7";
	rs_test_set_op(&r, RIDESHARE__DB_REQUEST__OP_COUNT_RIDES, &o.cn.base);
	assert_string_equal(rs_op_sync_event_problem(&ev), "not_a_write");
	rs_test_set_op(&r, RIDESHARE__DB_REQUEST__OP_ADD_USER, &o.au.base);
	assert_null(rs_op_sync_event_problem(&ev));
}

static void
test_decode_gives_the_message_or_the_problem(void **state)
{
	Rideshare__DbRequest r = RIDESHARE__DB_REQUEST__INIT, *back = NULL;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	uint8_t buf[128];
	size_t n;

	(void) state;
	assert_string_equal(
	    rs_op_request_decode(junk, sizeof(junk), &back), "undecodable");
	r.request_id = "rid-9";
	n = rideshare__db_request__pack(&r, buf);
	assert_string_equal(rs_op_request_decode(buf, n, &back), "no_op");
	assert_null(back);
	r.op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
	r.count_rides = &c;
	n = rideshare__db_request__pack(&r, buf);
	assert_null(rs_op_request_decode(buf, n, &back));
	assert_non_null(back);
	assert_string_equal(back->request_id, "rid-9");
	rideshare__db_request__free_unpacked(back, NULL);
}

/* Packs a batch of n reads (entry bad_at, if < n, spoiled by spoil) and
 * returns what rs_op_read_batch_decode says. */
static const char *
batch_verdict(size_t n, size_t bad_at, int spoil)
{
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
	Rideshare__AddUser au = RIDESHARE__ADD_USER__INIT;
	Rideshare__DbRequest req[RS_READ_BATCH_MAX + 1];
	Rideshare__BatchedRead e[RS_READ_BATCH_MAX + 1],
	    *ep[RS_READ_BATCH_MAX + 1];
	Rideshare__ReadBatch b = RIDESHARE__READ_BATCH__INIT, *back = NULL;
	static char long_reply[RS_REPLY_TO_MAX + 2];
	static uint8_t buf[8192];
	const char *why;

	memset(long_reply, 'q', sizeof(long_reply) - 1);
	for (size_t i = 0; i < n; i++) {
		rideshare__db_request__init(&req[i]);
		rideshare__batched_read__init(&e[i]);
		req[i].request_id = "rid-b";
		req[i].op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
		req[i].count_rides = &c;
		e[i].request = &req[i];
		e[i].reply_to = "amq.rabbitmq.reply-to.x";
		ep[i] = &e[i];
	}
	if (bad_at < n) {
		switch (spoil) {
		case 0: e[bad_at].reply_to = ""; break;
		case 1: e[bad_at].reply_to = long_reply; break;
		case 2:
			req[bad_at].op_case
			    = RIDESHARE__DB_REQUEST__OP_ADD_USER;
			req[bad_at].add_user = &au;
			break;
		case 3: req[bad_at].request_id = "bad id"; break;
		default: e[bad_at].request = NULL; break;
		}
	}
	b.n_reads = n;
	b.reads = ep;
	size_t len = rideshare__read_batch__pack(&b, buf);
	why = rs_op_read_batch_decode(buf, len, &back);
	if (why == NULL) {
		assert_int_equal(back->n_reads, n);
		assert_string_equal(
		    back->reads[n - 1]->request->request_id, "rid-b");
		rideshare__read_batch__free_unpacked(back, NULL);
	} else {
		assert_null(back);
	}
	return why;
}

static void
test_read_batches_are_checked_whole(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	Rideshare__ReadBatch *back = NULL;

	(void) state;
	assert_null(batch_verdict(2, 9, 0));
	assert_null(batch_verdict(RS_READ_BATCH_MAX, 99, 0));
	assert_string_equal(
	    rs_op_read_batch_decode(junk, sizeof(junk), &back), "undecodable");
	assert_string_equal(batch_verdict(1, 9, 0), "batch_size");
	assert_string_equal(
	    batch_verdict(RS_READ_BATCH_MAX + 1, 99, 0), "batch_size");
	assert_string_equal(batch_verdict(3, 1, 0), "no_reply_to");
	assert_string_equal(batch_verdict(3, 2, 1), "no_reply_to");
	assert_string_equal(batch_verdict(3, 0, 2), "not_a_read");
	assert_string_equal(batch_verdict(3, 1, 3), "bad_request_id");
	assert_string_equal(batch_verdict(3, 2, 4), "undecodable");
}

/* A write batch of n add_user writes, each with its caller's address;
 * entry bad_at (if < n) spoiled by spoil: what rs_op_write_batch_decode
 * says. */
static const char *
write_batch_verdict(size_t n, size_t bad_at, int spoil)
{
	Rideshare__AddUser au = RIDESHARE__ADD_USER__INIT;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
	Rideshare__DbRequest req[RS_WRITE_BATCH_MAX + 1],
	    *rp[RS_WRITE_BATCH_MAX + 1];
	Rideshare__WriteBatch b = RIDESHARE__WRITE_BATCH__INIT, *back = NULL;
	static uint8_t buf[16384];
	const char *why;

	for (size_t i = 0; i < n; i++) {
		rideshare__db_request__init(&req[i]);
		req[i].request_id = "rid-w";
		req[i].reply_to = "amq.rabbitmq.reply-to.w";
		req[i].op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
		req[i].add_user = &au;
		rp[i] = &req[i];
	}
	if (bad_at < n) {
		switch (spoil) {
		case 0:
			req[bad_at].op_case
			    = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
			req[bad_at].count_rides = &c;
			break;
		case 1: req[bad_at].request_id = "bad id"; break;
		case 2: req[bad_at].request_id = ""; break;
		default: req[bad_at].op_case = 0; break;
		}
	}
	b.n_writes = n;
	b.writes = rp;
	size_t len = rideshare__write_batch__pack(&b, buf);
	why = rs_op_write_batch_decode(buf, len, &back);
	if (why == NULL) {
		assert_int_equal(back->n_writes, n);
		for (size_t i = 0; i < n; i++) {
			assert_true(rs_op_is_write(back->writes[i]->op_case));
			assert_string_equal(back->writes[i]->reply_to,
			    "amq.rabbitmq.reply-to.w");
		}
		rideshare__write_batch__free_unpacked(back, NULL);
	} else {
		assert_null(back);
	}
	return why;
}

static void
test_write_batches_are_checked_whole(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	Rideshare__WriteBatch *back = NULL;

	(void) state;
	assert_null(write_batch_verdict(2, 9, 0));
	assert_null(write_batch_verdict(RS_WRITE_BATCH_MAX, 999, 0));
	assert_string_equal(
	    rs_op_write_batch_decode(junk, sizeof(junk), &back),
	    "undecodable");
	assert_string_equal(write_batch_verdict(0, 9, 0), "batch_size");
	assert_string_equal(write_batch_verdict(1, 9, 0), "batch_size");
	assert_string_equal(
	    write_batch_verdict(RS_WRITE_BATCH_MAX + 1, 999, 0), "batch_size");
	assert_string_equal(write_batch_verdict(3, 0, 0), "not_a_write");
	assert_string_equal(write_batch_verdict(3, 2, 0), "not_a_write");
	assert_string_equal(write_batch_verdict(3, 1, 1), "bad_request_id");
	assert_string_equal(write_batch_verdict(3, 2, 2), "no_request_id");
	assert_string_equal(write_batch_verdict(3, 1, 3), "no_op");
}

/* A request batch of n count requests (entry bad_at, if < n, with a bad
 * request id): what rs_op_request_batch_decode says. */
static const char *
request_batch_verdict(size_t n, size_t bad_at)
{
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
	Rideshare__DbRequest req[RS_REQUEST_BATCH_MAX + 1],
	    *rp[RS_REQUEST_BATCH_MAX + 1];
	Rideshare__RequestBatch b = RIDESHARE__REQUEST_BATCH__INIT,
	                        *back = NULL;
	static uint8_t buf[16384];
	const char *why;

	for (size_t i = 0; i < n; i++) {
		rideshare__db_request__init(&req[i]);
		req[i].request_id = i == bad_at ? "bad id" : "rid-r";
		req[i].op_case = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
		req[i].count_rides = &c;
		rp[i] = &req[i];
	}
	b.n_requests = n;
	b.requests = rp;
	size_t len = rideshare__request_batch__pack(&b, buf);
	why = rs_op_request_batch_decode(buf, len, &back);
	if (why == NULL) {
		assert_int_equal(back->n_requests, n);
		assert_string_equal(
		    back->requests[n - 1]->request_id, "rid-r");
		rideshare__request_batch__free_unpacked(back, NULL);
	} else {
		assert_null(back);
	}
	return why;
}

static void
test_request_batches_are_checked_whole(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	Rideshare__RequestBatch *back = NULL;

	(void) state;
	assert_null(request_batch_verdict(2, 99));
	assert_null(request_batch_verdict(RS_REQUEST_BATCH_MAX, 999));
	assert_string_equal(
	    rs_op_request_batch_decode(junk, sizeof(junk), &back),
	    "undecodable");
	assert_string_equal(request_batch_verdict(1, 99), "batch_size");
	assert_string_equal(
	    request_batch_verdict(RS_REQUEST_BATCH_MAX + 1, 999),
	    "batch_size");
	assert_string_equal(request_batch_verdict(5, 3), "bad_request_id");
}

/* A response batch of n responses, entry bad_at (if < n) without an id. */
static const char *
response_batch_verdict(size_t n, size_t bad_at)
{
	Rideshare__DbResponse r[RS_RESPONSE_BATCH_MAX + 1],
	    *rp[RS_RESPONSE_BATCH_MAX + 1];
	Rideshare__ResponseBatch b = RIDESHARE__RESPONSE_BATCH__INIT,
	                         *back = NULL;
	static uint8_t buf[16384];
	const char *why;

	for (size_t i = 0; i < n; i++) {
		rideshare__db_response__init(&r[i]);
		r[i].request_id = i == bad_at ? "" : "rid-s";
		rp[i] = &r[i];
	}
	b.n_responses = n;
	b.responses = rp;
	size_t len = rideshare__response_batch__pack(&b, buf);
	why = rs_op_response_batch_decode(buf, len, &back);
	if (why == NULL) {
		assert_int_equal(back->n_responses, n);
		rideshare__response_batch__free_unpacked(back, NULL);
	} else {
		assert_null(back);
	}
	return why;
}

static void
test_response_batches_need_ids(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	Rideshare__ResponseBatch *back = NULL;

	(void) state;
	assert_null(response_batch_verdict(2, 99));
	assert_null(response_batch_verdict(RS_RESPONSE_BATCH_MAX, 999));
	assert_string_equal(
	    rs_op_response_batch_decode(junk, sizeof(junk), &back),
	    "undecodable");
	assert_string_equal(response_batch_verdict(1, 99), "batch_size");
	assert_string_equal(
	    response_batch_verdict(RS_RESPONSE_BATCH_MAX + 1, 999),
	    "batch_size");
	assert_string_equal(response_batch_verdict(4, 2), "no_request_id");
}

static void
test_one_reply_packs_plain_with_its_correlation_id(void **state)
{
	Rideshare__DbResponse r = RIDESHARE__DB_RESPONSE__INIT, *rp = &r,
	                      *back;
	rs_op_reply_msg msg;
	uint8_t *buf = NULL;
	size_t cap = 0;

	(void) state;
	r.request_id = "rid-1";
	r.seq = 42;
	assert_int_equal(rs_op_pack_replies(&rp, 1, &buf, &cap, &msg), RS_OK);
	assert_non_null(buf);
	assert_true(cap >= msg.len);
	assert_string_equal(msg.correlation_id, "rid-1");
	assert_null(msg.content_type);
	back = rideshare__db_response__unpack(NULL, msg.len, buf);
	assert_non_null(back);
	assert_string_equal(back->request_id, "rid-1");
	assert_int_equal(back->seq, 42);
	rideshare__db_response__free_unpacked(back, NULL);
	free(buf);
}

/* Several replies: one ResponseBatch the receiver's checked decoder takes,
 * entries in order; a buffer big enough already is reused as it is. */
static void
test_replies_pack_as_one_batch_in_order(void **state)
{
	static char *ids[] = { "rid-a", "rid-b", "rid-c" };
	Rideshare__DbResponse r[3], *rp[3];
	Rideshare__ResponseBatch *back = NULL;
	rs_op_reply_msg msg;
	size_t cap = 4096;
	uint8_t *buf = malloc(cap), *was = buf;

	(void) state;
	assert_non_null(buf);
	for (size_t i = 0; i < 3; i++) {
		rideshare__db_response__init(&r[i]);
		r[i].request_id = ids[i];
		rp[i] = &r[i];
	}
	assert_int_equal(rs_op_pack_replies(rp, 3, &buf, &cap, &msg), RS_OK);
	assert_ptr_equal(buf, was);
	assert_int_equal(cap, 4096);
	assert_null(msg.correlation_id);
	assert_string_equal(msg.content_type, RS_CT_RESPONSE_BATCH);
	assert_null(rs_op_response_batch_decode(buf, msg.len, &back));
	assert_int_equal(back->n_responses, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(back->responses[i]->request_id, ids[i]);
	rideshare__response_batch__free_unpacked(back, NULL);
	free(buf);
}

/* Entry lengths are varints: one byte up to 127, more beyond; the size
 * said beforehand is the size written. */
static void
test_batch_entry_lengths_are_varints(void **state)
{
	static uint8_t body[300], out[400];
	size_t n;

	(void) state;
	memset(body, 7, sizeof(body));
	n = rs_op_put_batch_entry(out, body, sizeof(body));
	assert_int_equal(n, 3 + sizeof(body));
	assert_int_equal(rs_op_batch_entry_size(sizeof(body)), n);
	assert_int_equal(out[0], 0x0a);
	assert_int_equal(out[1], 0xac); /* 300 = 0b10_0101100 */
	assert_int_equal(out[2], 0x02);
	assert_memory_equal(out + 3, body, sizeof(body));
	assert_int_equal(rs_op_put_batch_entry(out, body, 127), 2 + 127);
	assert_int_equal(rs_op_batch_entry_size(127), 2 + 127);
	assert_int_equal(rs_op_batch_entry_size(128), 3 + 128);
}

/* Framed packed replies are the ResponseBatch protobuf-c would pack. */
static void
test_framed_replies_are_a_response_batch(void **state)
{
	Rideshare__DbResponse r[2], *rp[2];
	Rideshare__ResponseBatch b = RIDESHARE__RESPONSE_BATCH__INIT;
	static uint8_t one[64], framed[256], packed[256];
	size_t len = 0, n;

	(void) state;
	for (size_t i = 0; i < 2; i++) {
		rideshare__db_response__init(&r[i]);
		r[i].request_id = i == 0 ? "rid-x" : "rid-y";
		r[i].seq = 5 + i;
		rp[i] = &r[i];
		n = rideshare__db_response__pack(&r[i], one);
		len += rs_op_put_batch_entry(framed + len, one, n);
	}
	b.n_responses = 2;
	b.responses = rp;
	n = rideshare__response_batch__pack(&b, packed);
	assert_int_equal(len, n);
	assert_memory_equal(framed, packed, n);
}

/* A sync batch of n add_user events of epoch 3, seqs 10, 11, ...; entry
 * bad_at (if < n) spoiled by spoil: what rs_op_sync_batch_decode says. */
static const char *
sync_batch_verdict(size_t n, size_t bad_at, int spoil)
{
	Rideshare__AddUser au = RIDESHARE__ADD_USER__INIT;
	Rideshare__CountRides c = RIDESHARE__COUNT_RIDES__INIT;
	Rideshare__DbRequest req[RS_SYNC_BATCH_MAX + 1];
	Rideshare__DbResponse ok = RIDESHARE__DB_RESPONSE__INIT;
	Rideshare__SyncEvent e[RS_SYNC_BATCH_MAX + 1],
	    *ep[RS_SYNC_BATCH_MAX + 1];
	Rideshare__SyncEventBatch b = RIDESHARE__SYNC_EVENT_BATCH__INIT,
	                          *back = NULL;
	static uint8_t buf[16384];
	const char *why;

	for (size_t i = 0; i < n; i++) {
		rideshare__db_request__init(&req[i]);
		rideshare__sync_event__init(&e[i]);
		req[i].request_id = "rid-e";
		req[i].op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
		req[i].add_user = &au;
		e[i].epoch = 3;
		e[i].seq = 10 + i;
		e[i].request = &req[i];
		e[i].result = &ok;
		ep[i] = &e[i];
	}
	if (bad_at < n) {
		switch (spoil) {
		case 0: e[bad_at].seq += 1; break;
		case 1: e[bad_at].epoch = 4; break;
		case 2: e[bad_at].result = NULL; break;
		case 3:
			req[bad_at].op_case
			    = RIDESHARE__DB_REQUEST__OP_COUNT_RIDES;
			req[bad_at].count_rides = &c;
			break;
		case 4: e[bad_at].seq = 0; break;
		default: req[bad_at].request_id = "bad id"; break;
		}
	}
	b.n_events = n;
	b.events = ep;
	size_t len = rideshare__sync_event_batch__pack(&b, buf);
	why = rs_op_sync_batch_decode(buf, len, &back);
	if (why == NULL) {
		assert_int_equal(back->n_events, n);
		assert_int_equal(back->events[n - 1]->seq, 10 + n - 1);
		rideshare__sync_event_batch__free_unpacked(back, NULL);
	} else {
		assert_null(back);
	}
	return why;
}

static void
test_sync_batches_are_checked_whole(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	Rideshare__SyncEventBatch *back = NULL;

	(void) state;
	assert_null(sync_batch_verdict(2, 99, 0));
	assert_null(sync_batch_verdict(RS_SYNC_BATCH_MAX, 999, 0));
	assert_string_equal(
	    rs_op_sync_batch_decode(junk, sizeof(junk), &back), "undecodable");
	assert_string_equal(sync_batch_verdict(1, 99, 0), "batch_size");
	assert_string_equal(
	    sync_batch_verdict(RS_SYNC_BATCH_MAX + 1, 999, 0), "batch_size");
	/* a hole before an entry, another epoch (first entry or later) */
	assert_string_equal(
	    sync_batch_verdict(4, 2, 0), "seq_not_consecutive");
	assert_string_equal(
	    sync_batch_verdict(4, 3, 0), "seq_not_consecutive");
	assert_string_equal(sync_batch_verdict(3, 1, 1), "mixed_epochs");
	assert_string_equal(sync_batch_verdict(3, 0, 1), "mixed_epochs");
	/* every entry passes rs_op_sync_event_problem */
	assert_string_equal(sync_batch_verdict(3, 2, 2), "incomplete");
	assert_string_equal(sync_batch_verdict(3, 1, 3), "not_a_write");
	assert_string_equal(sync_batch_verdict(3, 0, 4), "no_seq");
	assert_string_equal(sync_batch_verdict(3, 2, 5), "bad_request_id");
}

RS_TEST_MAIN(cmocka_unit_test(test_decode_gives_the_message_or_the_problem),
    cmocka_unit_test(test_request_problems_are_named),
    cmocka_unit_test(test_sync_event_problems_are_named),
    cmocka_unit_test(test_read_batches_are_checked_whole),
    cmocka_unit_test(test_write_batches_are_checked_whole),
    cmocka_unit_test(test_request_batches_are_checked_whole),
    cmocka_unit_test(test_response_batches_need_ids),
    cmocka_unit_test(test_one_reply_packs_plain_with_its_correlation_id),
    cmocka_unit_test(test_replies_pack_as_one_batch_in_order),
    cmocka_unit_test(test_batch_entry_lengths_are_varints),
    cmocka_unit_test(test_framed_replies_are_a_response_batch),
    cmocka_unit_test(test_sync_batches_are_checked_whole))
