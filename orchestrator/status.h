/* The cluster at a glance: the body of GET /api/v1/status and the
 * self-contained HTML page of GET / that renders it (docs/operations.md).
 * Pure: the admin API gathers the inputs, this module shapes them. */
#ifndef RS_ORCH_STATUS_H
#define RS_ORCH_STATUS_H

#include "roster.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RS_ORCH_STATUS_QUEUES 5

typedef struct rs_orch_status_in {
	const rs_orch_worker *w; /* worker table snapshot */
	size_t n;
	const char *master_id; /* "" when none */
	uint64_t epoch, head_seq, commit_seq;
	int64_t now_ms; /* monotonic, for uptimes and ages */
	/* autoscaling */
	uint64_t window_reads;
	int64_t window_ms;
	int64_t window_elapsed_ms; /* -1 before the first read */
	int target_slaves;
	/* banners */
	bool paused;
	const char *pause_reason;
	int64_t paused_since_ms; /* wall clock */
	bool refusing_writes;
	const char *refusing_why;
	/* queue depths; ok[i] false when unknown */
	const char *const *queues;
	const uint32_t *messages, *consumers;
	const bool *ok;
	size_t nqueues;
	json_t *events; /* stolen: rs_orch_events_json() */
} rs_orch_status_in;

/* Builds the status document (a new reference; see docs/openapi-admin.yaml
 * "Status"). Steals in->events. */
json_t *rs_orch_status_json(const rs_orch_status_in *in);

/* The HTML page of GET / (NUL-terminated; no external assets). */
extern const char rs_orch_status_page[];

#endif
