/* Parked reads are released in min_seq order, equal stamps in arrival
 * order, and only once the applied seq reaches them. */
#include "park.h"

#include <stdint.h>

#include "rs_test.h"

static void
add_at(rs_worker_park *pk, uint64_t min_seq, uint64_t tag, int64_t since)
{
	rs_worker_parked p = { min_seq, tag, NULL, since };
	assert_int_equal(rs_worker_park_add(pk, &p), 0);
}

static void
add(rs_worker_park *pk, uint64_t min_seq, uint64_t tag)
{
	add_at(pk, min_seq, tag, 0);
}

/* The delivery tag of the read pop_ready (seq: the applied seq) or
 * pop_expired (now) hands out, 0 when none (the tests' tags are > 0). */
static uint64_t
ready_tag(rs_worker_park *pk, uint64_t seq)
{
	rs_worker_parked p;

	return rs_worker_park_pop_ready(pk, seq, &p) == 1 ? p.delivery_tag : 0;
}

static uint64_t
expired_tag(rs_worker_park *pk, int64_t now)
{
	rs_worker_parked p;

	return rs_worker_park_pop_expired(pk, now, &p) == 1 ? p.delivery_tag
	                                                    : 0;
}

static void
test_expired_reads_leave_oldest_first_whatever_their_min_seq(void **state)
{
	rs_worker_park pk = RS_WORKER_PARK_INIT;
	rs_worker_parked p;

	(void) state;
	add_at(&pk, 5, 1, 1000); /* young, low min_seq */
	add_at(&pk, 1000000, 2, 100); /* old, never reachable */
	add_at(&pk, 7, 3, 200);
	assert_int_equal(expired_tag(&pk, 50), 0);
	assert_int_equal(expired_tag(&pk, 150), 2);
	assert_int_equal(expired_tag(&pk, 150), 0);
	assert_int_equal(
	    expired_tag(&pk, 5000), 1); /* min_seq order among the old */
	assert_int_equal(ready_tag(&pk, 7), 3);
	assert_int_equal(rs_worker_park_pop(&pk, &p), 0);
	rs_worker_park_fini(&pk);
}

/* Reads parked (min_seq, tag) in this order, then pops at applied seqs,
 * each with the tag it must hand out (0: none); the park is empty at the
 * end. */
typedef struct ready_script {
	const char *what;
	uint64_t parked[8][2];
	size_t n_parked;
	uint64_t pops[8][2];
	size_t n_pops;
} ready_script;

static const ready_script ready_scripts[] = {
	{ "nothing is ready below its min_seq", { { 10, 1 } }, 1,
	    { { 9, 0 }, { 10, 1 }, { 100, 0 } }, 3 },
	{ "reads are released in min_seq order",
	    { { 30, 1 }, { 10, 2 }, { 20, 3 } }, 3,
	    { { 25, 2 }, { 25, 3 }, { 25, 0 }, { 30, 1 } }, 4 },
	{ "equal min_seq keeps arrival order",
	    { { 7, 1 }, { 7, 2 }, { 7, 3 }, { 7, 4 }, { 7, 5 }, { 3, 99 } }, 6,
	    { { 7, 99 }, { 7, 1 }, { 7, 2 }, { 7, 3 }, { 7, 4 }, { 7, 5 } },
	    6 },
};

static void
test_ready_scripts(void **state)
{
	(void) state;
	RS_TEST_EACH(ready_script, c, ready_scripts)
	{
		rs_worker_park pk = RS_WORKER_PARK_INIT;

		for (size_t k = 0; k < c->n_parked; k++)
			add(&pk, c->parked[k][0], c->parked[k][1]);
		for (size_t k = 0; k < c->n_pops; k++)
			assert_int_equal(
			    ready_tag(&pk, c->pops[k][0]), c->pops[k][1]);
		assert_int_equal(pk.len, 0);
		rs_worker_park_fini(&pk);
	}
}

static void
test_many_parked_reads_grow_the_list(void **state)
{
	rs_worker_park pk = RS_WORKER_PARK_INIT;
	rs_worker_parked p;

	(void) state;
	for (uint64_t i = 0; i < 1000; i++)
		add(&pk, 1000 - i, i);
	uint64_t last = 0;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(rs_worker_park_pop(&pk, &p), 1);
		assert_true(p.min_seq >= last);
		last = p.min_seq;
	}
	assert_int_equal(rs_worker_park_pop(&pk, &p), 0);
	rs_worker_park_fini(&pk);
}

RS_TEST_MAIN(cmocka_unit_test(test_ready_scripts),
    cmocka_unit_test(test_many_parked_reads_grow_the_list),
    cmocka_unit_test(
        test_expired_reads_leave_oldest_first_whatever_their_min_seq))
