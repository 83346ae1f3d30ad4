/* bench_args: every kind of option lands where it points, the required
 * option is enforced, and unknown options or missing values are usage
 * errors (2). */

#include "rs_test.h"

#include "bench_util.h"

#include <string.h>

/* A BENCH_FN: takes a one-letter mode, refuses anything longer. */
static bool
one_letter(const char *name, const char *value, void *to)
{
	(void) name;
	*(char *) to = value[0];
	return value[0] != '\0' && value[1] == '\0';
}

typedef struct parsed {
	const char *url;
	int clients, relay;
	char mode;
	long users;
} parsed;

static int
parse(parsed *p, int argc, char **argv)
{
	const bench_opt opts[] = {
		{ "--url", BENCH_STR, &p->url, 0, 0, NULL },
		{ "--clients", BENCH_INT, &p->clients, 1, 64, NULL },
		{ "--users", BENCH_LONG, &p->users, 0, 1000000, NULL },
		{ "--relay", BENCH_FLAG, &p->relay, 0, 0, NULL },
		{ "--mode", BENCH_FN, &p->mode, 0, 0, one_letter },
		{ NULL, BENCH_STR, NULL, 0, 0, NULL },
	};

	memset(p, 0, sizeof(*p));
	return bench_args(argc, argv, opts, "t", "--url U [...]", "--url");
}

static void
test_every_kind_lands_where_it_points(void **state)
{
	char *argv[] = { "t", "--relay", "--url", "amqp://x", "--clients", "7",
		"--users", "123456", "--mode", "b" };
	parsed p;

	(void) state;
	assert_int_equal(parse(&p, 10, argv), 0);
	assert_string_equal(p.url, "amqp://x");
	assert_int_equal(p.clients, 7);
	assert_int_equal(p.users, 123456);
	assert_int_equal(p.relay, 1);
	assert_int_equal(p.mode, 'b');
}

static void
test_required_unknown_and_missing_values_are_refused(void **state)
{
	char *none[] = { "t", "--clients", "3" };
	char *unknown[] = { "t", "--url", "u", "--nope" };
	char *missing[] = { "t", "--url" };
	char *refused[] = { "t", "--url", "u", "--mode", "bb" };
	parsed p;

	(void) state;
	assert_int_equal(parse(&p, 3, none), 2);
	assert_int_equal(parse(&p, 4, unknown), 2);
	assert_int_equal(parse(&p, 2, missing), 2);
	assert_int_equal(parse(&p, 5, refused), 2);
}

RS_TEST_MAIN(cmocka_unit_test(test_every_kind_lands_where_it_points),
    cmocka_unit_test(test_required_unknown_and_missing_values_are_refused))
