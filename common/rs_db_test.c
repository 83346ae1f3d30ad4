/* libpq helpers that need no server: conninfo rewriting, name checks, and
 * connection failures against a port where nothing listens. */

#include "rs_test.h"

#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Value of keyword in conninfo as libpq itself parses it (malloc'd). */
static char *
conninfo_value(const char *conninfo, const char *keyword)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	char *v = NULL;

	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
			v = strdup(o->val);
	}
	PQconninfoFree(opts);
	return v;
}

static void
assert_value(const char *conninfo, const char *keyword, const char *want)
{
	char *v = conninfo_value(conninfo, keyword);

	if (want == NULL) {
		assert_null(v);
		return;
	}
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* rs_db_conninfo_with_db(conninfo, db), which must succeed (caller frees). */
static char *
with_db(const char *conninfo, const char *db)
{
	char *out = NULL;

	assert_int_equal(rs_db_conninfo_with_db(conninfo, db, &out), RS_OK);
	assert_non_null(out);
	return out;
}

/* rs_db_conninfo_with_db(conninfo, db) and what the result must hold:
 * up to 6 keyword = value pairs (value NULL: the keyword is absent). */
static const struct {
	const char *conninfo, *db;
	const char *kv[6][2];
} with_db_cases[] = {
	/* replaces dbname, keeps the rest */
	{ "host=127.0.0.1 port=8100 user=postgres dbname=postgres",
	    "rideshare_w1",
	    { { "dbname", "rideshare_w1" }, { "host", "127.0.0.1" },
	        { "port", "8100" }, { "user", "postgres" },
	        { "password", NULL } } },
	/* adds dbname when absent */
	{ "host=/tmp port=5432", "x_1",
	    { { "dbname", "x_1" }, { "host", "/tmp" } } },
	/* quotes spaces, quotes and backslashes */
	{ "host=h password='a b\\'c\\\\d' application_name='my app'",
	    "odd 'name'\\",
	    { { "password", "a b'c\\d" }, { "application_name", "my app" },
	        { "dbname", "odd 'name'\\" } } },
	/* accepts URIs */
	{ "postgresql://postgres@127.0.0.1:8100/postgres?connect_timeout=3",
	    "rideshare_w2",
	    { { "dbname", "rideshare_w2" }, { "user", "postgres" },
	        { "host", "127.0.0.1" }, { "port", "8100" },
	        { "connect_timeout", "3" } } },
};

static void
test_conninfo_with_db_sets_dbname_and_keeps_the_rest(void **state)
{
	char *out;

	(void) state;
	for (size_t i = 0;
	     i < sizeof(with_db_cases) / sizeof(with_db_cases[0]); i++) {
		out = with_db(with_db_cases[i].conninfo, with_db_cases[i].db);
		for (size_t k = 0; k < 6 && with_db_cases[i].kv[k][0]; k++)
			assert_value(out, with_db_cases[i].kv[k][0],
			    with_db_cases[i].kv[k][1]);
		free(out);
	}
	/* The exact text: keywords in libpq's order, values quoted. */
	out = with_db("host=127.0.0.1 port=8100 user=postgres dbname=postgres",
	    "rideshare_w1");
	assert_string_equal(out,
	    "user='postgres' host='127.0.0.1' port='8100' "
	    "dbname='rideshare_w1'");
	free(out);
	out = with_db("", "x_2");
	assert_string_equal(out, "dbname='x_2'");
	free(out);
}

static void
test_conninfo_with_db_rejects_bad_input(void **state)
{
	char *out = (char *) "untouched";

	(void) state;
	assert_int_equal(
	    rs_db_conninfo_with_db("nonsense", "db", &out), RS_EINVAL);
	assert_int_equal(
	    rs_db_conninfo_with_db("host='unterminated", "db", &out),
	    RS_EINVAL);
	assert_int_equal(
	    rs_db_conninfo_with_db("nosuchkeyword=1", "db", &out), RS_EINVAL);
	assert_int_equal(
	    rs_db_conninfo_with_db("host=h", "", &out), RS_EINVAL);
	assert_int_equal(
	    rs_db_conninfo_with_db("host=h", NULL, &out), RS_EINVAL);
	assert_string_equal(out, "untouched");
}

static void
test_database_names_are_validated_before_connecting(void **state)
{
	static const char *const bad[] = { "", "Upper", "a-b", "a b", "a;drop",
		"x234567890123456789012345678901234567890123456789012345678901"
		"234" };
	int fd, port = rs_test_local_port(false, &fd);
	char ci[128];

	(void) state;
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d", port);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rs_db_create_database(ci, bad[i]), RS_EINVAL);
		assert_int_equal(rs_db_drop_database(ci, bad[i]), RS_EINVAL);
	}
	assert_int_equal(rs_db_create_database(ci, NULL), RS_EINVAL);
	/* A good name gets as far as connecting. */
	assert_int_equal(rs_db_create_database(ci, "rideshare_w1"), RS_ECONN);
	close(fd);
}

static void
test_connect_to_a_closed_port_fails_and_retry_gives_up(void **state)
{
	int fd, port = rs_test_local_port(false, &fd);
	PGconn *db = (PGconn *) 0x1;
	struct timespec t0, t1;
	char ci[128];
	long ms;

	(void) state;
	snprintf(ci, sizeof(ci),
	    "host=127.0.0.1 port=%d user=postgres dbname=postgres", port);
	assert_int_equal(rs_db_connect(ci, &db), RS_ECONN);
	assert_ptr_equal(db, (PGconn *) 0x1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rs_db_connect_retry(ci, 300, &db), RS_ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000
	    + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 290 && ms < 3000);
	assert_ptr_equal(db, (PGconn *) 0x1);
	assert_string_equal(rs_db_last_sqlstate(), "");
	close(fd);
}

static void
test_int8_decodes_a_binary_column_and_rejects_other_widths(void **state)
{
	static const char be[8] = { 0, 0, 0, 1, 0, 0, 0, 2 };
	static const char top[8] = { (char) 0xff, 0, 0, 0, 0, 0, 0, 0 };
	PGresAttDesc col = { .name = "v",
		.format = 1,
		.typid = 20,
		.typlen = 8,
		.atttypmod = -1 };
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	(void) state;
	assert_non_null(r);
	assert_true(PQsetResultAttrs(r, 1, &col));
	assert_true(PQsetvalue(r, 0, 0, (char *) be, 8));
	assert_true(PQsetvalue(r, 1, 0, (char *) top, 8));
	assert_true(PQsetvalue(r, 2, 0, "12", 2)); /* text, not int8 */
	assert_true(PQsetvalue(r, 3, 0, NULL, -1)); /* SQL NULL */
	assert_int_equal(rs_db_int8(r, 0, 0), 0x100000002ULL);
	assert_int_equal(rs_db_int8(r, 1, 0), 0xff00000000000000ULL);
	assert_int_equal(rs_db_int8(r, 2, 0), 0);
	assert_int_equal(rs_db_int8(r, 3, 0), 0);
	PQclear(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_conninfo_with_db_sets_dbname_and_keeps_the_rest),
		cmocka_unit_test(test_conninfo_with_db_rejects_bad_input),
		cmocka_unit_test(
		    test_database_names_are_validated_before_connecting),
		cmocka_unit_test(
		    test_connect_to_a_closed_port_fails_and_retry_gives_up),
		cmocka_unit_test(
		    test_int8_decodes_a_binary_column_and_rejects_other_widths),
	};

	rs_log_init("rs_db_test");
	return cmocka_run_group_tests_name("rs_db", tests, NULL, NULL);
}
