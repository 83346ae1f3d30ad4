/* Small helpers shared by the bench programs: a monotonic clock, latency
 * sample arrays with percentiles, a run deadline, argument parsing. */
#ifndef RS_BENCH_UTIL_H
#define RS_BENCH_UTIL_H

#include <stddef.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Latency samples in milliseconds; grows as needed. */
typedef struct bench_lat {
	double *v;
	size_t n, cap;
} bench_lat;

/* Appends one sample (ignored when memory runs out). */
void bench_lat_add(bench_lat *l, double ms);
/* Appends every sample of src to dst. */
void bench_lat_merge(bench_lat *dst, const bench_lat *src);
/* Percentile p (0..100) of the samples (sorts them in place); 0 when
 * there are none. */
double bench_lat_pct(bench_lat *l, double p);
void bench_lat_free(bench_lat *l);

/* Parses a long option value: exits 2 with a message when s is not an
 * integer within [lo, hi]. */
long bench_arg_long(const char *opt, const char *s, long lo, long hi);

#endif
