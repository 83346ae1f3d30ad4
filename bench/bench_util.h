/* Small helpers shared by the bench programs: a monotonic clock, latency
 * sample arrays with percentiles, a run deadline, argument parsing. */
#ifndef RS_BENCH_UTIL_H
#define RS_BENCH_UTIL_H

#include <stdbool.h>
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

/* One command-line option of a bench program, for bench_args. */
typedef enum bench_opt_kind {
	BENCH_STR, /* to: const char **, the next argument */
	BENCH_INT, /* to: int *, the next argument within [lo, hi] */
	BENCH_LONG, /* to: long *, the next argument within [lo, hi] */
	BENCH_FLAG, /* to: int *, set to 1; takes no argument */
	BENCH_FN, /* fn(name, next argument, to); false: a usage error */
} bench_opt_kind;

typedef struct bench_opt {
	const char *name; /* "--clients"; NULL ends the table */
	bench_opt_kind kind;
	void *to;
	long lo, hi;
	bool (*fn)(const char *name, const char *value, void *to);
} bench_opt;

/* The bench programs' one argument parser: takes argv[1..] against opts.
 * Returns 0; or 2 after printing "usage: <prog> <usage>" (an unknown
 * option, a missing or refused value) or "<prog>: <required> is required"
 * (required: an option's name that must be given, or NULL). A number out
 * of range exits 2 (bench_arg_long). */
int bench_args(int argc, char **argv, const bench_opt *opts, const char *prog,
    const char *usage, const char *required);

#endif
