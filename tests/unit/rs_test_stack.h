/* What the tests against the broker of tests/with-stack.sh share (header
 * only: they are plain executables, not rs_unit_test ones; include it
 * after rs_cfg.h's and rs_log.h's folder is on the path). */
#ifndef RS_TEST_STACK_H
#define RS_TEST_STACK_H

#include "rs_cfg.h"
#include "rs_log.h"

#include <stdio.h>
#include <stdlib.h>

/* Starts such a test: logs as prog, warnings and worse only, and returns
 * the broker's URL (RIDESHARE_AMQP_URL, or its _FILE). Without it, says
 * so on stderr and exits 2 (not run: neither a pass nor a failure). */
static inline const char *
rs_test_amqp_init(const char *prog)
{
	const char *url = rs_cfg_str("RIDESHARE_AMQP_URL", NULL);

	if (url == NULL) {
		fprintf(stderr,
		    "%s: needs RIDESHARE_AMQP_URL (run it with "
		    "tests/with-stack.sh)\n",
		    prog);
		exit(2);
	}
	rs_log_init(prog);
	rs_log_set_level(RS_LOG_WARN);
	return url;
}

#endif
