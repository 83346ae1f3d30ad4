/* Reads waiting for the sync stream: a read stamped with min_seq is answered
 * only once applied_seq >= min_seq. The list is kept sorted by min_seq (then
 * arrival), so releasing is popping from the front; bounded by the readQ
 * prefetch, so a sorted array is enough. */
#ifndef RS_WORKER_PARK_H
#define RS_WORKER_PARK_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_worker_parked {
	uint64_t min_seq;
	uint64_t delivery_tag;
	void *data; /* owned by the caller (e.g. the decoded request) */
	int64_t since_ms; /* monotonic time it was parked */
} rs_worker_parked;

typedef struct rs_worker_park {
	rs_worker_parked *items;
	size_t len;
	size_t cap;
} rs_worker_park;

#define RS_WORKER_PARK_INIT \
	{                   \
		NULL, 0, 0  \
	}

/* Adds p after every entry with min_seq <= p->min_seq. RS_ENOMEM. */
int rs_worker_park_add(rs_worker_park *pk, const rs_worker_parked *p);
/* Removes the first entry into *out when its min_seq <= applied_seq;
 * returns 1 then, 0 when nothing is ready. */
int rs_worker_park_pop_ready(
    rs_worker_park *pk, uint64_t applied_seq, rs_worker_parked *out);
/* Removes the first entry (in min_seq order) parked at or before
 * cutoff_ms into *out: returns 1 then, 0 when none is that old. Bounds how
 * long a read waits for a seq that does not come. */
int rs_worker_park_pop_expired(
    rs_worker_park *pk, int64_t cutoff_ms, rs_worker_parked *out);
/* Removes the first entry whatever its min_seq; 0 when empty. */
int rs_worker_park_pop(rs_worker_park *pk, rs_worker_parked *out);
void rs_worker_park_fini(rs_worker_park *pk);

#endif
