/* The orchestrator's admin HTTP API (../shared/API.md, "Orchestrator admin
 * API"), served by gateway/rs_http: db read/write/clear through the
 * RS_Q_ORCHESTRATOR queue (so reads count toward autoscaling), crash API,
 * worker list, /readyz and extra /metrics lines. Never exposed through
 * the edge. */
#ifndef RS_ORCH_ADMIN_H
#define RS_ORCH_ADMIN_H

#include "config.h"
#include "rideshare.pb-c.h"
#include "router.h"
#include "supervisor.h"
#include "workers.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct rs_orch_admin rs_orch_admin;

/* Starts the server on cfg->http_addr:cfg->http_port. Borrows every
 * argument (they must outlive the server). */
int rs_orch_admin_start(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_supervisor *s, rs_orch_router *r, rs_orch_admin **out);
/* Stops accepting, finishes in-flight requests, frees. */
void rs_orch_admin_stop(rs_orch_admin *a);

/* Pure helpers (unit-tested). */

/* Body of GET /api/v1/worker/list: the serving workers' pids, ascending. */
json_t *rs_orch_admin_list_json(const rs_orch_worker *w, size_t n);
/* Body of a crash answer: ["<pid>"]. */
json_t *rs_orch_admin_crash_json(int64_t pid);
/* Checks that req's op fits the endpoint (want_write: /db/write). Returns
 * NULL when it does, else a static reason for a 400. */
const char *rs_orch_admin_check_op(
    const Rideshare__DbRequest *req, bool want_write);
/* Decodes a request body: protobuf when is_protobuf, else proto3 JSON.
 * On RS_OK *out is owned by the caller; on RS_EINVAL err has a reason. */
int rs_orch_admin_decode(const char *body, size_t len, bool is_protobuf,
    Rideshare__DbRequest **out, char *err, size_t errlen);

#endif
