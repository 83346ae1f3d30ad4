#include "park.h"

#include "rs_buf.h"
#include "rs_err.h"

#include <stdlib.h>
#include <string.h>

int
rs_worker_park_add(rs_worker_park *pk, const rs_worker_parked *p)
{
	rs_worker_parked *n
	    = rs_grow(pk->items, &pk->cap, pk->len, sizeof(*n), 16);

	if (n == NULL)
		return RS_ENOMEM;
	pk->items = n;
	/* Stable insertion: after every entry with the same or a lower
	 * min_seq, so equal stamps are answered in arrival order. */
	size_t i = pk->len;
	while (i > 0 && pk->items[i - 1].min_seq > p->min_seq)
		i--;
	memmove(&pk->items[i + 1], &pk->items[i],
	    (pk->len - i) * sizeof(*pk->items));
	pk->items[i] = *p;
	pk->len++;
	return RS_OK;
}

int
rs_worker_park_pop(rs_worker_park *pk, rs_worker_parked *out)
{
	if (pk->len == 0)
		return 0;
	*out = pk->items[0];
	pk->len--;
	memmove(&pk->items[0], &pk->items[1], pk->len * sizeof(*pk->items));
	return 1;
}

int
rs_worker_park_pop_ready(
    rs_worker_park *pk, uint64_t applied_seq, rs_worker_parked *out)
{
	if (pk->len == 0 || pk->items[0].min_seq > applied_seq)
		return 0;
	return rs_worker_park_pop(pk, out);
}

int
rs_worker_park_pop_expired(
    rs_worker_park *pk, int64_t cutoff_ms, rs_worker_parked *out)
{
	for (size_t i = 0; i < pk->len; i++) {
		if (pk->items[i].since_ms > cutoff_ms)
			continue;
		*out = pk->items[i];
		pk->len--;
		memmove(&pk->items[i], &pk->items[i + 1],
		    (pk->len - i) * sizeof(*pk->items));
		return 1;
	}
	return 0;
}

void
rs_worker_park_fini(rs_worker_park *pk)
{
	free(pk->items);
	pk->items = NULL;
	pk->len = pk->cap = 0;
}
