/* The response arena hands out zeroed, aligned memory and frees it all at
 * once (ASan checks the freeing). */
#include "arena.h"

#include <stdint.h>
#include <string.h>

#include "rs_test.h"

static void
test_allocations_are_zeroed_and_aligned(void **state)
{
	rs_worker_arena a = RS_WORKER_ARENA_INIT;

	(void) state;
	for (int i = 1; i < 300; i++) {
		unsigned char *p = rs_worker_arena_alloc(&a, (size_t) i);
		assert_non_null(p);
		assert_int_equal((uintptr_t) p % 16, 0);
		for (int j = 0; j < i; j++)
			assert_int_equal(p[j], 0);
		memset(p, 0xff, (size_t) i);
	}
	rs_worker_arena_fini(&a);
	assert_null(a.head);
}

static void
test_big_strings_are_copied_whole(void **state)
{
	rs_worker_arena a = RS_WORKER_ARENA_INIT;
	static char big[200000];

	(void) state;
	memset(big, 'u', sizeof(big) - 1);
	char *small = rs_worker_arena_strdup(&a, "alice");
	char *copy = rs_worker_arena_strdup(&a, big);
	char *after = rs_worker_arena_strdup(&a, "bob");
	assert_string_equal(small, "alice");
	assert_string_equal(copy, big);
	assert_string_equal(after, "bob");
	assert_string_equal(rs_worker_arena_strndup(&a, "carol", 3), "car");
	rs_worker_arena_fini(&a);
}

RS_TEST_MAIN(cmocka_unit_test(test_allocations_are_zeroed_and_aligned),
    cmocka_unit_test(test_big_strings_are_copied_whole))
