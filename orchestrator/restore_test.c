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
	rs_orch_restore_seen s;

	(void) state;
	memset(&s, 0, sizeof(s));
	assert_null(rs_orch_restore_not_empty(&s));
	s.commit_seq = 1;
	assert_non_null(strstr(rs_orch_restore_not_empty(&s), "commit_seq"));
	memset(&s, 0, sizeof(s));
	s.head_seq = 3;
	assert_non_null(strstr(rs_orch_restore_not_empty(&s), "head"));
	memset(&s, 0, sizeof(s));
	/* A cluster whose copies were lost still has its history: never
	 * "empty" (its acknowledged writes must come back, not a file). */
	s.history_seq = 7;
	assert_non_null(strstr(rs_orch_restore_not_empty(&s), "history"));
	memset(&s, 0, sizeof(s));
	s.worker_seq = 2;
	assert_non_null(strstr(rs_orch_restore_not_empty(&s), "worker"));
	memset(&s, 0, sizeof(s));
	/* A stopped worker's database alone counts too. */
	s.copy_seq = 9;
	assert_non_null(strstr(rs_orch_restore_not_empty(&s), "database"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_only_when_every_seq_is_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
