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

static void
test_nothing_is_ready_below_min_seq(void **state)
{
	rs_worker_park pk = RS_WORKER_PARK_INIT;

	(void) state;
	add(&pk, 10, 1);
	assert_int_equal(ready_tag(&pk, 9), 0);
	assert_int_equal(ready_tag(&pk, 10), 1);
	assert_int_equal(ready_tag(&pk, 100), 0);
	rs_worker_park_fini(&pk);
}

static void
test_reads_are_released_in_min_seq_order(void **state)
{
	rs_worker_park pk = RS_WORKER_PARK_INIT;

	(void) state;
	add(&pk, 30, 1);
	add(&pk, 10, 2);
	add(&pk, 20, 3);
	assert_int_equal(ready_tag(&pk, 25), 2);
	assert_int_equal(ready_tag(&pk, 25), 3);
	assert_int_equal(ready_tag(&pk, 25), 0);
	assert_int_equal(ready_tag(&pk, 30), 1);
	assert_int_equal(pk.len, 0);
	rs_worker_park_fini(&pk);
}

static void
test_equal_min_seq_keeps_arrival_order(void **state)
{
	rs_worker_park pk = RS_WORKER_PARK_INIT;

	(void) state;
	for (uint64_t t = 1; t <= 5; t++)
		add(&pk, 7, t);
	add(&pk, 3, 99);
	assert_int_equal(ready_tag(&pk, 7), 99);
	for (uint64_t t = 1; t <= 5; t++)
		assert_int_equal(ready_tag(&pk, 7), t);
	rs_worker_park_fini(&pk);
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

RS_TEST_MAIN(cmocka_unit_test(test_nothing_is_ready_below_min_seq),
    cmocka_unit_test(test_reads_are_released_in_min_seq_order),
    cmocka_unit_test(test_equal_min_seq_keeps_arrival_order),
    cmocka_unit_test(test_many_parked_reads_grow_the_list),
    cmocka_unit_test(
        test_expired_reads_leave_oldest_first_whatever_their_min_seq))
