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

static void
test_reply_held_past_the_bound_leaves_late(void **state)
{
	rs_worker_held q = RS_WORKER_HELD_INIT;
	bool late;

	(void) state;
	add(&q, 10, 1, 0);
	assert_int_equal(ready_tag(&q, 0, 1999, &late), 0);
	assert_int_equal(ready_tag(&q, 0, 2000, &late), 1);
	assert_true(late);
}

static void
test_replies_leave_in_order_and_can_be_given_back(void **state)
{
	rs_worker_held q = RS_WORKER_HELD_INIT;
	rs_worker_held_reply *h;
	bool late;

	(void) state;
	add(&q, 5, 1, 0);
	add(&q, 7, 2, 10);
	add(&q, 9, 3, 20);
	assert_int_equal(ready_tag(&q, 8, 30, &late), 1);
	assert_int_equal(ready_tag(&q, 8, 30, &late), 2);
	assert_int_equal(ready_tag(&q, 8, 30, &late), 0);
	h = rs_worker_held_pop(&q);
	assert_int_equal(h->tag, 3);
	free(h);
	assert_null(q.head);
	assert_null(q.tail);
}

RS_TEST_MAIN(cmocka_unit_test(test_reply_waits_until_commit_covers_it),
    cmocka_unit_test(test_reply_held_past_the_bound_leaves_late),
    cmocka_unit_test(test_replies_leave_in_order_and_can_be_given_back))
