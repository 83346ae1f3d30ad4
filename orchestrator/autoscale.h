/* Read-driven autoscaling (docs/autoscaling.md).
 *
 * The router counts every db read it routes; the window starts at the
 * first read after start and then runs back to back. At each window end
 * the supervisor asks for a decision: slaves = max(1, ceil(reads / 20)),
 * clamped to [min_slaves, max_slaves], and the count restarts at 0. */
#ifndef RS_ORCH_AUTOSCALE_H
#define RS_ORCH_AUTOSCALE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define RS_ORCH_READS_PER_SLAVE 20

typedef struct rs_orch_autoscale {
	int64_t window_ms;
	int min_slaves;
	int max_slaves;
	_Atomic int64_t window_start_ms; /* 0 until the first read */
	_Atomic uint64_t reads; /* reads in the current window */
	_Atomic int target; /* slaves wanted now */
} rs_orch_autoscale;

/* One scaling decision, for logs and metrics. */
typedef struct rs_orch_scale_decision {
	uint64_t reads;
	int previous;
	int target;
} rs_orch_scale_decision;

/* Pure rule: max(1, ceil(reads / 20)), then clamped to [min, max]
 * (min is raised to 1: never 0 slaves). */
int rs_orch_scale_target(uint64_t reads, int min_slaves, int max_slaves);

void rs_orch_autoscale_init(
    rs_orch_autoscale *a, int64_t window_ms, int min_slaves, int max_slaves);

/* Router thread: counts one read routed at now_ms (starts the first
 * window). Lock-free. */
void rs_orch_autoscale_count_read(rs_orch_autoscale *a, int64_t now_ms);

/* Supervisor thread: when a window ended at or before now_ms, decides,
 * resets the count, starts the next window and returns true with *d
 * filled. False while no window ended (or none started). */
bool rs_orch_autoscale_tick(
    rs_orch_autoscale *a, int64_t now_ms, rs_orch_scale_decision *d);

/* Slaves wanted now (min_slaves before the first decision). */
int rs_orch_autoscale_target(rs_orch_autoscale *a);

#endif
