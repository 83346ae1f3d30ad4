/* Prometheus text metrics. Each binary declares its metrics as static
 * rs_metric objects, registers them once at start (before threads), then
 * updates them lock-free from any thread. */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include "rs_buf.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct rs_metric {
	const char *name; /* e.g. "rideshare_http_requests_total" */
	const char *help;
	const char *type; /* "counter" or "gauge" */
	const char *labels; /* e.g. "route=\"users\"" or NULL */
	_Atomic uint64_t value;
	struct rs_metric *next_;
} rs_metric;

#define RS_METRIC(n, h, t, l)                                        \
	{                                                            \
		.name = (n), .help = (h), .type = (t), .labels = (l) \
	}

void rs_metric_register(rs_metric *m);

static inline void
rs_metric_add(rs_metric *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

static inline void
rs_metric_set(rs_metric *m, uint64_t v)
{
	atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

static inline uint64_t
rs_metric_get(rs_metric *m)
{
	return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/* Appends every registered metric, then process_resident_memory_bytes and
 * process_cpu_seconds_total, in Prometheus text format. */
int rs_metrics_render(rs_buf *out);

/* Appends one metric line "name{labels} value" (HELP/TYPE once per name are
 * the caller's business); for metrics computed at render time. */
int rs_metrics_line(
    rs_buf *out, const char *name, const char *labels, double value);

/* Appends the "# HELP name help" and "# TYPE name type" lines that go
 * once before all of a metric's lines (type: "counter", "gauge",
 * "histogram"). */
int rs_metrics_help(
    rs_buf *out, const char *name, const char *type, const char *help);

/* A metric with one unlabelled line: rs_metrics_help, then "name value". */
int rs_metrics_one(rs_buf *out, const char *name, const char *type,
    const char *help, double value);

#endif
