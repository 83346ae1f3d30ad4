/* What the cmocka unit tests share (each *_test.c beside its code includes
 * this after <cmocka.h>'s own prerequisites). rs_unit_test() in
 * cmake/RideShareHelpers.cmake puts this folder on the include path. */
#ifndef RS_TEST_H
#define RS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The main() of a test file whose tests need no group setup: runs the
 * given cmocka_unit_test(...) entries as one group; exits 0 when all
 * pass, else the number that failed (cmocka's convention). */
#define RS_TEST_MAIN(...)                                          \
	int main(void)                                             \
	{                                                          \
		const struct CMUnitTest tests[] = { __VA_ARGS__ }; \
		return cmocka_run_group_tests(tests, NULL, NULL);  \
	}

/* Loops with the pointer c (const type *) over each case of the array
 * table, first naming it in the output by its member `what`, so that a
 * failing assertion says which case of a table-driven test it was. */
#define RS_TEST_EACH(type, c, table)                          \
	for (const type *c = (table);                         \
	     c < (table) + sizeof(table) / sizeof((table)[0]) \
	     && (print_message("case: %s\n", c->what), true); \
	     c++)

/* A TCP port on 127.0.0.1 no one else can take while the test runs:
 * refusing (bound only) or silent (listening, never answering: the kernel
 * completes the handshake, nobody speaks). The socket goes to *fd_out for
 * the caller to close; returns the port. */
int rs_test_local_port(bool listening, int *fd_out);

#endif
