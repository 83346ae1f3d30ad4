/* Held read replies leave in order, once commit_seq covers them or once
 * they were held for the bound. */
#include "held.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"

static void
add(rs_worker_held *q, uint64_t seq, uint64_t tag, int64_t now)
{
	static const uint8_t body[] = { 1, 2, 3 };
	assert_int_equal(rs_worker_held_add(q, seq, tag, now, "amq.reply",
	                     "rid-x", body, sizeof(body)),
	    0);
}

/* The tag of the reply pop_ready hands out at commit_seq commit and time
 * now (bound 2000 ms), freed; 0 when none. *late as pop_ready says. */
static uint64_t
ready_tag(rs_worker_held *q, uint64_t commit, int64_t now, bool *late)
{
	rs_worker_held_reply *h
	    = rs_worker_held_pop_ready(q, commit, now, 2000, late);
	uint64_t tag = h != NULL ? h->tag : 0;

	free(h);
	return tag;
}

static void
test_reply_waits_until_commit_covers_it(void **state)
{
	rs_worker_held q = RS_WORKER_HELD_INIT;
	rs_worker_held_reply *h;
	bool late;

	(void) state;
	add(&q, 10, 1, 0);
	assert_null(rs_worker_held_pop_ready(&q, 9, 100, 2000, &late));
	h = rs_worker_held_pop_ready(&q, 10, 100, 2000, &late);
	assert_non_null(h);
	assert_false(late);
	assert_int_equal(h->tag, 1);
	assert_string_equal(h->request_id, "rid-x");
	assert_string_equal(h->reply_to, "amq.reply");
	assert_int_equal(h->len, 3);
	assert_memory_equal(h->body, "\x01\x02\x03", 3);
	free(h);
	assert_null(rs_worker_held_pop(&q));
}

/* Replies held (seq, tag, now) in this order; then pop_ready calls at
 * (commit, now), each with the tag it must hand out (0: none) and, for a
 * reply, whether it left late; then rs_worker_held_pop hands out the tags
 * of left[] in order, and the queue is empty. */
typedef struct held_script {
	const char *what;
	uint64_t held[4][3];
	size_t n_held;
	struct {
		uint64_t commit;
		int64_t now;
		uint64_t tag;
		bool late;
	} pops[4];
	size_t n_pops;
	uint64_t left[4];
	size_t n_left;
} held_script;

static const held_script held_scripts[] = {
	{ "a reply held past the bound leaves, late", { { 10, 1, 0 } }, 1,
	    { { 0, 1999, 0, false }, { 0, 2000, 1, true } }, 2, { 0 }, 0 },
	{ "replies leave in order; pop takes the rest",
	    { { 5, 1, 0 }, { 7, 2, 10 }, { 9, 3, 20 } }, 3,
	    { { 8, 30, 1, false }, { 8, 30, 2, false }, { 8, 30, 0, false } },
	    3, { 3 }, 1 },
};

static void
test_held_scripts(void **state)
{
	(void) state;
	RS_TEST_EACH(held_script, c, held_scripts)
	{
		rs_worker_held q = RS_WORKER_HELD_INIT;
		bool late;

		for (size_t k = 0; k < c->n_held; k++)
			add(&q, c->held[k][0], c->held[k][1],
			    (int64_t) c->held[k][2]);
		for (size_t k = 0; k < c->n_pops; k++) {
			assert_int_equal(ready_tag(&q, c->pops[k].commit,
			                     c->pops[k].now, &late),
			    c->pops[k].tag);
			if (c->pops[k].tag != 0)
				assert_int_equal(late, c->pops[k].late);
		}
		for (size_t k = 0; k < c->n_left; k++) {
			rs_worker_held_reply *h = rs_worker_held_pop(&q);

			assert_non_null(h);
			assert_int_equal(h->tag, c->left[k]);
			free(h);
		}
		assert_null(q.head);
		assert_null(q.tail);
	}
}

RS_TEST_MAIN(cmocka_unit_test(test_reply_waits_until_commit_covers_it),
    cmocka_unit_test(test_held_scripts))
