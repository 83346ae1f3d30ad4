#include "autoscale.h"

/* Above any cap config.c accepts (32): saturating here keeps the int
 * conversion exact for any read count. */
#define WANT_SATURATE 1000000

int
rs_orch_scale_wanted(uint64_t reads, int min_slaves)
{
	uint64_t want = reads / RS_ORCH_READS_PER_SLAVE
	    + (reads % RS_ORCH_READS_PER_SLAVE != 0);

	if (min_slaves < 1)
		min_slaves = 1;
	if (want < (uint64_t) min_slaves)
		return min_slaves;
	if (want > WANT_SATURATE)
		return WANT_SATURATE;
	return (int) want;
}

int
rs_orch_scale_target(uint64_t reads, int min_slaves, int max_slaves)
{
	int want = rs_orch_scale_wanted(reads, min_slaves);

	if (min_slaves < 1)
		min_slaves = 1;
	if (max_slaves < min_slaves)
		max_slaves = min_slaves;
	return want > max_slaves ? max_slaves : want;
}

void
rs_orch_autoscale_init(
    rs_orch_autoscale *a, int64_t window_ms, int min_slaves, int max_slaves)
{
	a->window_ms = window_ms > 0 ? window_ms : 1;
	a->min_slaves = min_slaves < 1 ? 1 : min_slaves;
	a->max_slaves
	    = max_slaves < a->min_slaves ? a->min_slaves : max_slaves;
	atomic_init(&a->window_start_ms, 0);
	atomic_init(&a->reads, 0);
	atomic_init(&a->wanted, a->min_slaves);
	atomic_init(&a->target, a->min_slaves);
}

void
rs_orch_autoscale_count_read(rs_orch_autoscale *a, int64_t now_ms)
{
	int64_t zero = 0;

	if (atomic_load_explicit(&a->window_start_ms, memory_order_relaxed)
	    == 0)
		atomic_compare_exchange_strong(
		    &a->window_start_ms, &zero, now_ms > 0 ? now_ms : 1);
	atomic_fetch_add_explicit(&a->reads, 1, memory_order_relaxed);
}

bool
rs_orch_autoscale_tick(
    rs_orch_autoscale *a, int64_t now_ms, rs_orch_scale_decision *d)
{
	int64_t start = atomic_load(&a->window_start_ms);
	int64_t next;

	if (start == 0 || now_ms < start + a->window_ms)
		return false;
	/* Windows run back to back; after a long stall (more than one
	 * window behind) the next one starts now rather than firing a burst
	 * of empty decisions. */
	next = start + a->window_ms;
	if (now_ms >= next + a->window_ms)
		next = now_ms;
	atomic_store(&a->window_start_ms, next);
	d->reads = atomic_exchange(&a->reads, 0);
	d->previous = atomic_load(&a->target);
	d->wanted = rs_orch_scale_wanted(d->reads, a->min_slaves);
	d->target
	    = rs_orch_scale_target(d->reads, a->min_slaves, a->max_slaves);
	atomic_store(&a->wanted, d->wanted);
	atomic_store(&a->target, d->target);
	return true;
}

int
rs_orch_autoscale_target(rs_orch_autoscale *a)
{
	return atomic_load(&a->target);
}

int
rs_orch_autoscale_wanted(rs_orch_autoscale *a)
{
	return atomic_load(&a->wanted);
}
