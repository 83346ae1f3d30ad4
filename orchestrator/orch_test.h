/* What the orchestrator's unit tests share (test code only): a row of the
 * worker table as the supervisor holds it for a registered worker. */
#ifndef RS_ORCH_TEST_H
#define RS_ORCH_TEST_H

#include "workers.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A registered worker "w<pid>" with that role and state, all else 0. */
static inline rs_orch_worker
orch_test_worker(int64_t pid, int role, enum rs_orch_wstate st)
{
	rs_orch_worker w;

	memset(&w, 0, sizeof(w));
	snprintf(w.id, sizeof(w.id), "w%lld", (long long) pid);
	w.pid = pid;
	w.role = role;
	w.state = st;
	w.registered = true;
	return w;
}

#endif
