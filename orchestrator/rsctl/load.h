/* rsctl load: a small closed-loop load generator through the orchestrator
 * queue. N client threads (one rs_rpc each) run M operations in total; a
 * fraction R of them are writes (add_user of fresh names), the rest reads
 * (get_user of a user the client created). Prints reads/s, writes/s and
 * p50/p99 latencies. */
#ifndef RSCTL_LOAD_H
#define RSCTL_LOAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct rsctl_load_cfg {
	const char *amqp_url;
	int clients;
	long ops;
	double write_ratio;
	int timeout_ms;
} rsctl_load_cfg;

typedef struct rsctl_load_result {
	long reads, writes, errors;
	double elapsed_s;
	double read_p50_ms, read_p99_ms, write_p50_ms, write_p99_ms;
} rsctl_load_result;

/* Runs the load; RS_OK when every client could connect. */
int rsctl_load_run(const rsctl_load_cfg *cfg, rsctl_load_result *res);

/* Whether op number i (0-based) is a write for ratio r: spreads the
 * writes evenly (exactly floor(n * r) of the first n ops). */
int rsctl_load_is_write(long i, double r);

/* Percentile p (0..100) of v[0..n) (sorted in place); 0 when n == 0. */
double rsctl_percentile(double *v, size_t n, double p);

#endif
