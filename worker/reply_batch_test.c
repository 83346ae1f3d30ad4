/* Read replies gathered in one step leave as one message per reply
 * address: a lone reply as the plain DbResponse, several as one
 * ResponseBatch that decodes to them in order, never more than
 * RS_RESPONSE_BATCH_MAX or RS_WORKER_REPLY_BATCH_BYTES in one. */
#include "reply_batch.h"

#include "rideshare.pb-c.h"
#include "rs_contract.h"
#include "rs_op.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"

/* Gathers the packed DbResponse of request_id (with error text of pad
 * bytes, to make it big) for reply_to from delivery tag. */
static void
add(rs_worker_replies *g, uint64_t tag, const char *reply_to,
    const char *request_id, size_t pad)
{
	Rideshare__DbResponse r = RIDESHARE__DB_RESPONSE__INIT;
	char *error = NULL;

	r.request_id = (char *) request_id;
	r.seq = tag;
	if (pad > 0) {
		error = malloc(pad + 1);
		assert_non_null(error);
		memset(error, 'x', pad);
		error[pad] = '\0';
		r.error = error;
	}
	size_t len = rideshare__db_response__get_packed_size(&r);
	uint8_t *dst
	    = rs_worker_replies_add(g, tag, reply_to, request_id, len);
	assert_non_null(dst);
	rideshare__db_response__pack(&r, dst);
	free(error);
}

/* The request ids m carries, decoded from its body, joined by ",", and
 * checked against the tags and ids of m->replies. */
static void
ids_of(const rs_worker_reply_msg *m, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	if (m->n == 1) {
		Rideshare__DbResponse *r
		    = rideshare__db_response__unpack(NULL, m->len, m->body);
		assert_non_null(r);
		assert_null(m->content_type);
		assert_string_equal(m->correlation_id, r->request_id);
		assert_string_equal(m->replies[0]->request_id, r->request_id);
		assert_int_equal(m->replies[0]->tag, r->seq);
		snprintf(out, outlen, "%s", r->request_id);
		rideshare__db_response__free_unpacked(r, NULL);
		return;
	}
	Rideshare__ResponseBatch *b = NULL;
	assert_null(rs_op_response_batch_decode(m->body, m->len, &b));
	assert_string_equal(m->content_type, RS_CT_RESPONSE_BATCH);
	assert_null(m->correlation_id);
	assert_int_equal(b->n_responses, m->n);
	for (size_t i = 0; i < b->n_responses; i++) {
		const Rideshare__DbResponse *r = b->responses[i];
		assert_string_equal(m->replies[i]->request_id, r->request_id);
		assert_int_equal(m->replies[i]->tag, r->seq);
		used += (size_t) snprintf(out + used, outlen - used, "%s%s",
		    i > 0 ? "," : "", r->request_id);
		assert_true(used < outlen);
	}
	rideshare__response_batch__free_unpacked(b, NULL);
}

static void
test_lone_reply_is_the_plain_response(void **state)
{
	rs_worker_replies g = RS_WORKER_REPLIES_INIT;
	rs_worker_reply_msg m;
	char ids[64];

	(void) state;
	add(&g, 7, "amq.rabbitmq.reply-to.A", "r1", 0);
	assert_true(rs_worker_replies_next(&g, &m));
	assert_string_equal(m.reply_to, "amq.rabbitmq.reply-to.A");
	assert_int_equal(m.n, 1);
	ids_of(&m, ids, sizeof(ids));
	assert_string_equal(ids, "r1");
	assert_false(rs_worker_replies_next(&g, &m));
	rs_worker_replies_fini(&g);
}

/* Gathered (reply address, id) in this order; the messages that must
 * leave, each "address:id,id,...". */
typedef struct group_case {
	const char *what;
	const char *adds[8][2];
	const char *msgs[8];
} group_case;

static const group_case group_cases[] = {
	{ "two of one address, one of another",
	    { { "A", "a1" }, { "B", "b1" }, { "A", "a2" } },
	    { "A:a1,a2", "B:b1" } },
	{ "every address once: as today",
	    { { "A", "a1" }, { "B", "b1" }, { "C", "c1" } },
	    { "A:a1", "B:b1", "C:c1" } },
	{ "interleaved: each address in its order",
	    { { "B", "b1" }, { "A", "a1" }, { "B", "b2" }, { "A", "a2" },
	        { "C", "c1" }, { "B", "b3" } },
	    { "B:b1,b2,b3", "A:a1,a2", "C:c1" } },
	{ "the same id twice (a read and its resend)",
	    { { "A", "a1" }, { "A", "a1" } }, { "A:a1,a1" } },
};

static void
test_replies_are_grouped_by_address_in_order(void **state)
{
	(void) state;
	RS_TEST_EACH(group_case, c, group_cases)
	{
		rs_worker_replies g = RS_WORKER_REPLIES_INIT;
		rs_worker_reply_msg m;
		size_t i = 0, k;
		char ids[128], got[160];

		for (k = 0; c->adds[k][0] != NULL; k++)
			add(&g, 100 + k, c->adds[k][0], c->adds[k][1], 0);
		for (; rs_worker_replies_next(&g, &m); i++) {
			assert_non_null(c->msgs[i]);
			ids_of(&m, ids, sizeof(ids));
			snprintf(got, sizeof(got), "%s:%s", m.reply_to, ids);
			assert_string_equal(got, c->msgs[i]);
		}
		assert_null(c->msgs[i]);
		rs_worker_reply *const *left;
		assert_int_equal(rs_worker_replies_unsent(&g, &left), 0);
		rs_worker_replies_fini(&g);
	}
}

static void
test_batch_never_passes_its_limit(void **state)
{
	enum { N = RS_RESPONSE_BATCH_MAX + 3 };
	rs_worker_replies g = RS_WORKER_REPLIES_INIT;
	rs_worker_reply_msg m;
	char id[16];

	(void) state;
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		add(&g, (uint64_t) i + 1, "A", id, 0);
	}
	assert_true(rs_worker_replies_next(&g, &m));
	assert_int_equal(m.n, RS_RESPONSE_BATCH_MAX);
	assert_int_equal(m.replies[0]->tag, 1);
	assert_true(rs_worker_replies_next(&g, &m));
	assert_int_equal(m.n, 3);
	assert_int_equal(m.replies[0]->tag, RS_RESPONSE_BATCH_MAX + 1);
	assert_false(rs_worker_replies_next(&g, &m));
	rs_worker_replies_fini(&g);
}

/* Big replies: a batch stops before its body would pass the byte bound;
 * the next reply of the address leaves next, not after the others. */
static void
test_batch_never_passes_its_byte_bound(void **state)
{
	size_t third = RS_WORKER_REPLY_BATCH_BYTES / 3;
	rs_worker_replies g = RS_WORKER_REPLIES_INIT;
	rs_worker_reply_msg m;
	char ids[128];

	(void) state;
	add(&g, 1, "A", "a1", third);
	add(&g, 2, "A", "a2", third);
	add(&g, 3, "A", "a3", third); /* would pass the bound */
	add(&g, 4, "B", "b1", 0);
	add(&g, 5, "A", "a4", 0);
	add(&g, 6, "C", "c1", RS_WORKER_REPLY_BATCH_BYTES); /* alone */
	assert_true(rs_worker_replies_next(&g, &m));
	assert_true(m.len <= RS_WORKER_REPLY_BATCH_BYTES);
	ids_of(&m, ids, sizeof(ids));
	assert_string_equal(ids, "a1,a2");
	assert_true(rs_worker_replies_next(&g, &m));
	ids_of(&m, ids, sizeof(ids));
	assert_string_equal(ids, "a3,a4");
	assert_true(rs_worker_replies_next(&g, &m));
	ids_of(&m, ids, sizeof(ids));
	assert_string_equal(ids, "b1");
	assert_true(rs_worker_replies_next(&g, &m));
	assert_true(m.len > RS_WORKER_REPLY_BATCH_BYTES);
	ids_of(&m, ids, sizeof(ids));
	assert_string_equal(ids, "c1");
	assert_false(rs_worker_replies_next(&g, &m));
	rs_worker_replies_fini(&g);
}

/* What was not handed out can be listed (to give its reads back), and a
 * cleared gatherer starts over. */
static void
test_unsent_replies_are_listed_and_clear_starts_over(void **state)
{
	rs_worker_replies g = RS_WORKER_REPLIES_INIT;
	rs_worker_reply_msg m;
	rs_worker_reply *const *left;
	char ids[64];

	(void) state;
	add(&g, 1, "A", "a1", 0);
	add(&g, 2, "B", "b1", 0);
	add(&g, 3, "A", "a2", 0);
	assert_true(rs_worker_replies_next(&g, &m));
	assert_int_equal(rs_worker_replies_unsent(&g, &left), 1);
	assert_int_equal(left[0]->tag, 2);
	rs_worker_replies_clear(&g);
	assert_int_equal(rs_worker_replies_unsent(&g, &left), 0);
	assert_false(rs_worker_replies_next(&g, &m));
	add(&g, 9, "C", "c1", 0);
	assert_true(rs_worker_replies_next(&g, &m));
	ids_of(&m, ids, sizeof(ids));
	assert_string_equal(ids, "c1");
	rs_worker_replies_fini(&g);
}

RS_TEST_MAIN(cmocka_unit_test(test_lone_reply_is_the_plain_response),
    cmocka_unit_test(test_replies_are_grouped_by_address_in_order),
    cmocka_unit_test(test_batch_never_passes_its_limit),
    cmocka_unit_test(test_batch_never_passes_its_byte_bound),
    cmocka_unit_test(test_unsent_replies_are_listed_and_clear_starts_over))
