/* Read-driven autoscaling (docs/autoscaling.md).
 *
 * The router counts every db read it routes; the window starts at the
 * first read after start and then runs back to back. At each window end
 * the supervisor asks for a decision: wanted = max(1, ceil(reads / 20))
 * (the demand signal, raised to min_slaves), target = wanted capped at
 * max_slaves (what the hosts can use: capacity.h), and the count restarts
 * at 0. */
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
	_Atomic int wanted; /* demand of the last window, before the cap */
	_Atomic int target; /* slaves aimed at now (wanted, capped) */
} rs_orch_autoscale;

/* One scaling decision, for logs and metrics. */
typedef struct rs_orch_scale_decision {
	uint64_t reads;
	int previous;
	int wanted; /* the course rule, before the cap */
	int target; /* wanted capped: wanted > target means the cap binds */
} rs_orch_scale_decision;

/* Pure rule (the demand signal): max(1, ceil(reads / 20)), raised to
 * min_slaves (itself raised to 1: never 0 slaves); never capped. */
int rs_orch_scale_wanted(uint64_t reads, int min_slaves);

/* Pure rule: rs_orch_scale_wanted, then capped at max_slaves (a max below
 * the min counts as the min). */
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

/* Slaves aimed at now (min_slaves before the first decision). */
int rs_orch_autoscale_target(rs_orch_autoscale *a);

/* The last window's demand before the cap (min_slaves before the first
 * decision). */
int rs_orch_autoscale_wanted(rs_orch_autoscale *a);

#endif
