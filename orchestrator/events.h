/* A ring of the orchestrator's recent events (spawns, deaths, failovers
 * with their duration, scale decisions, pause/resume, drains), kept in
 * memory for the status page and GET /api/v1/status. One process-wide
 * ring: every thread may add, readers copy it out as JSON. The log lines
 * remain the full record; this ring only holds the newest
 * RS_ORCH_EVENTS_MAX. */
#ifndef RS_ORCH_EVENTS_H
#define RS_ORCH_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#define RS_ORCH_EVENTS_MAX 128
#define RS_ORCH_EVENT_TEXT 200

/* Records one event of kind ("spawn", "death", "failover", "scale",
 * "pause", ...) with a printf-formatted one-line text, stamped with the
 * wall clock. Thread-safe; the oldest event is dropped when full. */
void rs_orch_event(const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The newest max events, newest first, as a new JSON array of
 * {"ts": "<ISO 8601 UTC>", "ts_ms": <epoch ms>, "kind", "text"}. */
json_t *rs_orch_events_json(size_t max);

/* Forgets every event (tests). */
void rs_orch_events_clear(void);

#endif
