/* Scheduled backups' names and retention: names sort by time, prune keeps
 * the newest N and touches nothing else in the dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
touch(const char *dir, const char *name)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static bool
exists(const char *dir, const char *name)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void
test_backup_names_sort_by_time(void **state)
{
	char a[128], b[128], c[128];

	(void) state;
	rs_orch_backup_name(1796054400123LL, 99, a, sizeof(a));
	assert_string_equal(
	    a, "rideshare-20261130T160000.123Z-seq99.rsbackup");
	rs_orch_backup_name(1796054400124LL, 7, b, sizeof(b));
	rs_orch_backup_name(1796054401000LL, 5, c, sizeof(c));
	assert_true(strcmp(a, b) < 0);
	assert_true(strcmp(b, c) < 0);
}

static void
test_prune_keeps_the_newest_and_nothing_else_goes(void **state)
{
	char dir[] = "/tmp/rs_backup_prune.XXXXXX";
	char names[5][128];

	(void) state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 5; i++) {
		rs_orch_backup_name(1796054400000LL + i * 1000,
		    (uint64_t) (10 - i), names[i], sizeof(names[i]));
		touch(dir, names[i]);
	}
	touch(dir, "notes.txt");
	touch(dir, ".backup-1.part");
	assert_int_equal(rs_orch_backup_prune(dir, 2), 3);
	for (int i = 0; i < 5; i++)
		assert_int_equal(exists(dir, names[i]), i >= 3);
	assert_true(exists(dir, "notes.txt"));
	assert_true(exists(dir, ".backup-1.part"));
	assert_int_equal(rs_orch_backup_prune(dir, 2), 0);
	assert_int_equal(rs_orch_backup_prune("/nonexistent/x", 2), -1);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_names_sort_by_time),
		cmocka_unit_test(
		    test_prune_keeps_the_newest_and_nothing_else_goes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
