/* Configuration parsing: good values, bad values, and the fail-fast exit
 * (code 2, message naming the variable) of the environment getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_cfg.h"
#include "rs_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VAR "RIDESHARE_CFG_TEST_VALUE"

/* rs_cfg_parse_long(s) within [min, max], which must succeed. */
static long
parsed(const char *s, long min, long max)
{
	char err[128];
	long v = 0;

	assert_int_equal(
	    rs_cfg_parse_long(s, min, max, &v, err, sizeof(err)), RS_OK);
	return v;
}

/* rs_cfg_parse_long(s) within [min, max], which must fail with an error
 * naming `names` (NULL: any) and leave the output alone. */
static void
refused(const char *s, long min, long max, const char *names)
{
	char err[128] = "";
	long v = 7;

	assert_int_equal(
	    rs_cfg_parse_long(s, min, max, &v, err, sizeof(err)), RS_EINVAL);
	assert_int_equal(v, 7);
	assert_true(err[0] != '\0');
	if (names != NULL)
		assert_non_null(strstr(err, names));
}

static void
test_parse_long_accepts_integers_in_range(void **state)
{
	(void) state;
	assert_int_equal(parsed("42", 1, 100), 42);
	assert_int_equal(parsed("-5", -10, 10), -5);
	assert_int_equal(parsed("1", 1, 65535), 1);
	assert_int_equal(parsed("65535", 1, 65535), 65535);
}

static void
test_parse_long_rejects_non_numbers_and_keeps_out(void **state)
{
	static const char *const bad[] = { "abc", "12abc", "8080 ", " 8080",
		"+8080", "1.5", "0x10", "-", "" };

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i], 0, 100000, NULL);
	refused(NULL, 0, 10, "empty");
}

static void
test_parse_long_rejects_out_of_range(void **state)
{
	(void) state;
	refused("0", 1, 65535, "[1, 65535]");
	refused("65536", 1, 65535, NULL);
	refused("-1", 0, 10, NULL);
	/* Beyond long: strtol's ERANGE is an error, not a clamp. */
	refused("99999999999999999999999", 0, 10, NULL);
}

static void
test_parse_bool_accepts_every_spelling(void **state)
{
	static const char *const yes[]
	    = { "1", "true", "TRUE", "yes", "Yes", "on", "ON" };
	static const char *const no[]
	    = { "0", "false", "False", "no", "NO", "off", "Off" };
	char err[128];
	int v;

	(void) state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		assert_int_equal(
		    rs_cfg_parse_bool(yes[i], &v, err, sizeof(err)), RS_OK);
		assert_int_equal(v, 1);
		v = -1;
		assert_int_equal(
		    rs_cfg_parse_bool(no[i], &v, err, sizeof(err)), RS_OK);
		assert_int_equal(v, 0);
	}
}

static void
test_parse_bool_rejects_other_words(void **state)
{
	static const char *const bad[] = { "2", "", "y", "truee", "enabled" };
	char err[128];
	int v = -1;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    rs_cfg_parse_bool(bad[i], &v, err, sizeof(err)),
		    RS_EINVAL);
		assert_int_equal(v, -1);
	}
	assert_int_equal(
	    rs_cfg_parse_bool(NULL, &v, err, sizeof(err)), RS_EINVAL);
	assert_non_null(strstr(err, "boolean"));
}

static void
test_getters_return_default_when_unset_or_empty(void **state)
{
	(void) state;
	unsetenv(VAR);
	assert_int_equal(rs_cfg_long(VAR, 120, 1, 1000), 120);
	assert_int_equal(rs_cfg_port(VAR, 8081), 8081);
	assert_int_equal(rs_cfg_bool(VAR, 1), 1);
	assert_string_equal(rs_cfg_str(VAR, "dflt"), "dflt");
	assert_null(rs_cfg_str(VAR, NULL));
	setenv(VAR, "", 1);
	assert_int_equal(rs_cfg_port(VAR, 8082), 8082);
	assert_string_equal(rs_cfg_str(VAR, "dflt"), "dflt");
	unsetenv(VAR);
}

static void
test_getters_return_the_parsed_value(void **state)
{
	(void) state;
	setenv(VAR, "9100", 1);
	assert_int_equal(rs_cfg_port(VAR, 8081), 9100);
	assert_int_equal(rs_cfg_long(VAR, 1, 0, 100000), 9100);
	assert_string_equal(rs_cfg_str(VAR, "dflt"), "9100");
	setenv(VAR, "off", 1);
	assert_int_equal(rs_cfg_bool(VAR, 1), 0);
	unsetenv(VAR);
}

enum getter { GET_PORT, GET_LONG, GET_BOOL };

/* Runs a getter on value in a child process; returns its exit status and
 * what it wrote to stderr. */
static int
run_getter(enum getter g, const char *value, char *out, size_t outlen)
{
	int fds[2], status = -1;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		setenv(VAR, value, 1);
		if (g == GET_PORT)
			(void) rs_cfg_port(VAR, 8081);
		else if (g == GET_LONG)
			(void) rs_cfg_long(VAR, 120, 1, 3600);
		else
			(void) rs_cfg_bool(VAR, 0);
		_exit(0); /* the getter accepted the value */
	}
	close(fds[1]);
	while (got < outlen - 1
	    && (n = read(fds[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t) n;
	out[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_bad_value_exits_2_naming_the_variable(void **state)
{
	char err[512];

	(void) state;
	assert_int_equal(run_getter(GET_PORT, "abc", err, sizeof(err)), 2);
	assert_non_null(strstr(err, "config error: " VAR "=\"abc\""));
	assert_non_null(strstr(err, "not an integer"));

	assert_int_equal(run_getter(GET_PORT, "70000", err, sizeof(err)), 2);
	assert_non_null(strstr(err, VAR));
	assert_non_null(strstr(err, "out of range [1, 65535]"));

	assert_int_equal(run_getter(GET_LONG, "12s", err, sizeof(err)), 2);
	assert_non_null(strstr(err, VAR "=\"12s\""));

	assert_int_equal(run_getter(GET_BOOL, "maybe", err, sizeof(err)), 2);
	assert_non_null(strstr(err, VAR "=\"maybe\""));

	/* And a good value does not exit. */
	assert_int_equal(run_getter(GET_PORT, "8090", err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void
test_secret_comes_from_the_file_named_by_NAME_FILE(void **state)
{
	char path[] = "/tmp/rs_cfg_test_secretXXXXXX";
	int fd = mkstemp(path);

	(void) state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret-value\nsecond line\n", 25), 25);
	close(fd);
	unsetenv("RS_CFG_TEST_SECRET");
	setenv("RS_CFG_TEST_SECRET_FILE", path, 1);
	assert_string_equal(
	    rs_cfg_str("RS_CFG_TEST_SECRET", "def"), "s3cret-value");
	/* The variable itself wins over the file. */
	setenv("RS_CFG_TEST_SECRET", "direct", 1);
	assert_string_equal(rs_cfg_str("RS_CFG_TEST_SECRET", "def"), "direct");
	unsetenv("RS_CFG_TEST_SECRET");
	unsetenv("RS_CFG_TEST_SECRET_FILE");
	assert_string_equal(rs_cfg_str("RS_CFG_TEST_SECRET", "def"), "def");
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_long_accepts_integers_in_range),
		cmocka_unit_test(
		    test_parse_long_rejects_non_numbers_and_keeps_out),
		cmocka_unit_test(test_parse_long_rejects_out_of_range),
		cmocka_unit_test(test_parse_bool_accepts_every_spelling),
		cmocka_unit_test(test_parse_bool_rejects_other_words),
		cmocka_unit_test(
		    test_getters_return_default_when_unset_or_empty),
		cmocka_unit_test(test_getters_return_the_parsed_value),
		cmocka_unit_test(test_bad_value_exits_2_naming_the_variable),
		cmocka_unit_test(
		    test_secret_comes_from_the_file_named_by_NAME_FILE),
	};

	return cmocka_run_group_tests_name("rs_cfg", tests, NULL, NULL);
}
