/* Unit test of the emptiness rule of POST /api/v1/restore (restore.h):
 * any seq that is not 0 means the cluster holds data. */
#include "restore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

static void
test_empty_only_when_every_seq_is_zero(void **state)
{
	/* Each seq alone makes the cluster non-empty, and the reason names
	 * it. */
	static const struct {
		rs_orch_restore_seen seen;
		const char *named;
	} one[] = {
		{ { .commit_seq = 1 }, "commit_seq" },
		{ { .head_seq = 3 }, "head" },
		/* A cluster whose copies were lost still has its history:
		 * never "empty" (its acknowledged writes must come back, not
		 * a file). */
		{ { .history_seq = 7 }, "history" },
		{ { .worker_seq = 2 }, "worker" },
		/* A stopped worker's database alone counts too. */
		{ { .copy_seq = 9 }, "database" },
	};
	rs_orch_restore_seen none;

	(void) state;
	memset(&none, 0, sizeof(none));
	assert_null(rs_orch_restore_not_empty(&none));
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		const char *why = rs_orch_restore_not_empty(&one[i].seen);
		assert_non_null(why);
		assert_non_null(strstr(why, one[i].named));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_only_when_every_seq_is_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
