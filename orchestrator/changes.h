/* The change feed, GET /api/v1/changes?since=SEQ on the admin API
 * (docs/operations.md "Change feed", docs/openapi-admin.yaml): every
 * committed write after `since`, one NDJSON line each in seq order, then
 * the new ones as they commit, for as long as the client stays.
 *
 * Source: the change log table of the current master's database
 * (worker/schema.c `changes`, written in each write's own transaction on
 * every copy), read only up to the router's commit_seq and only from a
 * master whose term is at least that of every reply commit_seq came from:
 * rows up to there are identical on every copy of that lineage, so a
 * failover changes where lines come from, never what they say, and a
 * fenced master's committed-but-unacknowledged write is never sent.
 *
 * Line: {"seq":N,"epoch":E,"request_id":"...","op":"add_user",
 *        "request":{<the op, proto3 JSON>},"status":"OK",
 *        "result":{<the reply's result, if any>},"error":"<if any>"}
 * An empty line is a keep-alive (every RIDESHARE_CHANGES_HEARTBEAT_MS of
 * silence). A stream that can no longer go on in order (its next seq was
 * pruned under a slow reader) ends with {"error":"...","code":410,
 * "next_seq":N}. */
#ifndef RS_ORCH_CHANGES_H
#define RS_ORCH_CHANGES_H

#include "config.h"
#include "rideshare.pb-c.h"
#include "router.h"
#include "rs_buf.h"
#include "rs_http.h"
#include "workers.h"

#include <stddef.h>
#include <stdint.h>

/* Defaults of RIDESHARE_CHANGES_MAX_STREAMS (each stream holds one admin
 * HTTP thread and one PostgreSQL connection) and
 * RIDESHARE_CHANGES_HEARTBEAT_MS. */
#define RS_ORCH_CHANGES_MAX_STREAMS  16
#define RS_ORCH_CHANGES_HEARTBEAT_MS 15000
/* How often an idle stream looks at commit_seq (in memory, no query):
 * the most a committed write waits before it is read. */
#define RS_ORCH_CHANGES_POLL_MS 20
/* Rows per query. */
#define RS_ORCH_CHANGES_BATCH 500

typedef struct rs_orch_changes rs_orch_changes;

/* Reads RIDESHARE_CHANGES_* (exit 2 on a bad value). Borrows every
 * argument. */
int rs_orch_changes_create(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_router *r, rs_orch_changes **out);
/* The route handler (arg: the rs_orch_changes). */
void rs_orch_changes_handle(rs_http_req *req, void *arg);
/* Appends the feed's /metrics lines. */
void rs_orch_changes_metrics(rs_orch_changes *c, rs_buf *out);
/* Ends every open stream (each closes its connection within
 * RS_ORCH_CHANGES_POLL_MS, or a query's time) and refuses new ones (503):
 * call before rs_http_stop, which waits for the handlers. */
void rs_orch_changes_stop(rs_orch_changes *c);
/* After rs_http_stop. NULL is fine. */
void rs_orch_changes_destroy(rs_orch_changes *c);

/* ---- pure helpers (unit-tested) ----------------------------------------*/

/* Parses a `since` value: decimal digits only, at most 2^63-1. RS_OK or
 * RS_EINVAL. */
int rs_orch_changes_parse_since(const char *s, uint64_t *out);

/* Appends the line (with its '\n') of change log row (seq, epoch, packed
 * SyncEvent). RS_EPROTO when event does not decode or carries another
 * seq, RS_ENOMEM. */
int rs_orch_changes_line(uint64_t seq, uint64_t epoch, const uint8_t *event,
    size_t len, rs_buf *out);

#endif
