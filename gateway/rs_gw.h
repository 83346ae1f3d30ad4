/* What both REST services (users, rides) share around rs_http: signal
 * handling for main(), the `_count` and `db/clear` handlers, and body
 * helpers that answer 400 themselves. */
#ifndef RS_GW_H
#define RS_GW_H

#include "rs_gw_json.h"
#include "rs_gw_rpc.h"
#include "rs_gw_val.h"
#include "rs_http.h"

/* Blocks SIGTERM, SIGINT (and ignores SIGPIPE) in the calling thread; call
 * first thing in main so every thread started later inherits the mask. */
void rs_gw_signals_block(void);

/* Waits for SIGTERM or SIGINT (blocked by rs_gw_signals_block) and returns
 * the signal number. */
int rs_gw_signals_wait(void);

/* GET /api/v1/_count -> 200 [N]; DELETE /api/v1/_count -> 200 {} and N = 0.
 * N is the counter of the server the request came in on. Not counted. */
void rs_gw_count_get(rs_http_req *req, void *arg);
void rs_gw_count_reset(rs_http_req *req, void *arg);

/* POST /api/v1/db/clear: body empty or {}; sends Clear -> 200 {}. */
void rs_gw_db_clear(rs_http_req *req, void *arg);

/* Parses the request body as a JSON object with no keys outside allowed
 * (NULL-terminated). RS_OK and *out (json_decref it); otherwise it has
 * answered 400 {"error": ...} and returns RS_EINVAL. */
int rs_gw_body_object(
    rs_http_req *req, const char *const *allowed, json_t **out);

#endif
