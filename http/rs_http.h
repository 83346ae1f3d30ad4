/* HTTP server of the REST services and the orchestrator's admin API:
 * CivetWeb with a bounded worker pool, a routing table, request ids, access
 * logs, a request body limit, JSON replies, /healthz and /metrics.
 *
 * Routing: each route is METHOD + pattern, where a pattern is a path whose
 * segments are literals or "{name}" parameters ("/api/v1/users/{username}").
 * Matching is done on the RAW path, split at '/', so "%2F" inside a
 * parameter stays inside it; parameters are then percent-decoded (a
 * malformed "%" escape -> 400). A path that matches some route pattern but
 * with another method -> 405 with an "Allow" header; no pattern -> 404.
 * Built in: GET /healthz ("ok") and GET /metrics (Prometheus text).
 *
 * Every request gets a request id: the client's X-Request-Id when it is
 * valid (rs_id_valid), else a new one; it is echoed in the response.
 * Bodies larger than the limit are answered 413 before they are read.
 * Error bodies are always {"error": "<reason>"}; 204 has no body.
 *
 * Threading: CivetWeb gives every connection a thread of its own for as
 * long as it is open (cfg.threads at most, default 512, so idle and slow
 * clients cannot take them all; each costs a 100 KiB stack, touched only
 * as deep as it is used); handlers run on them; a handler must answer
 * exactly once through one of the rs_http_reply* functions (a handler
 * that does not answer gets a 500).
 *
 * Hostile clients (docs/security.md): the request line and headers must
 * arrive within cfg.request_timeout_ms; the body is held to the same
 * deadline between reads (408), but one CivetWeb read waits for the whole
 * remainder of a Content-Length body as long as bytes keep coming. HTTP/1.1:
 * "Expect: 100-continue" is answered "100 Continue" just before the body is
 * read, and only when the request gets that far (a 401/404/405/413 goes out
 * instead, and the connection is closed); any other expectation -> 417.
 * Absolute-form targets for this port are served like origin-form; for another
 * port -> 421; "OPTIONS *" -> 204 with Allow; another method with "*" -> 400.
 * No request is dropped without an answer.
 *
 * Authentication: with cfg.auth_token set, every request whose method is
 * not GET or HEAD (or is, on a route with RS_HTTP_PRIVATE) on a route
 * without RS_HTTP_PUBLIC needs
 * "Authorization: Bearer <token>" (compared in constant time); otherwise
 * 401, "WWW-Authenticate: Bearer" and a JSON error, before the body is
 * read. So operations added later are covered without doing anything.
 * Streaming answers: rs_http_stream_start below.
 */
#ifndef RS_HTTP_H
#define RS_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"

typedef struct rs_http rs_http; /* a running server */
typedef struct rs_http_req rs_http_req; /* one request, valid in a handler */

typedef void (*rs_http_handler)(rs_http_req *req, void *arg);

/* RS_HTTP_COUNTED: the route counts toward the server's request counter
 * (the `_count` of API.md), including the 405s answered on its path. */
#define RS_HTTP_COUNTED 1
/* RS_HTTP_PUBLIC: a non-GET route that needs no token even when the
 * server has one (none today: think twice). */
#define RS_HTTP_PUBLIC 2
/* RS_HTTP_PRIVATE: a GET route that needs the token all the same (it
 * hands out every user's data: GET /api/v1/backup, the change feed). */
#define RS_HTTP_PRIVATE 4
/* RS_HTTP_RAW_BODY: the body is NOT read (nor limited) before the handler,
 * which reads it itself with rs_http_body_read: an upload larger than the
 * body limit (POST /api/v1/restore). The connection closes after the
 * answer (the handler may leave some of the body unread). */
#define RS_HTTP_RAW_BODY 8

typedef struct rs_http_route {
	const char *method; /* "GET", "POST", "PUT", "DELETE", ... */
	const char *pattern; /* "/api/v1/rides/{rideId}" */
	rs_http_handler fn;
	void *arg; /* passed to fn */
	int flags; /* 0 or RS_HTTP_COUNTED | _PUBLIC | _PRIVATE | _RAW_BODY */
} rs_http_route;

typedef struct rs_http_cfg {
	const char *name; /* service name for logs/metrics, e.g. "users" */
	const char *addr; /* listen address, e.g. "127.0.0.1" */
	int port; /* listen port; 0 = let the kernel pick */
	int threads; /* CivetWeb worker threads = open connections */
	size_t body_limit; /* bytes; larger bodies -> 413 */
	/* Request line + headers, and separately the body, must arrive within
	 * this (0 = 10000). */
	int request_timeout_ms;
	/* Bearer token for non-GET/HEAD routes (NULL = open); borrowed. */
	const char *auth_token;
	/* Optional: appends extra Prometheus text to GET /metrics. */
	void (*metrics_extra)(rs_buf *out, void *arg);
	void *metrics_arg;
} rs_http_cfg;

/* Fills cfg from the environment (docs/conventions.md):
 * RIDESHARE_HTTP_ADDR, RIDESHARE_HTTP_PORT (default_port when unset),
 * RIDESHARE_HTTP_THREADS (512), RIDESHARE_BODY_LIMIT (1 MiB),
 * RIDESHARE_HTTP_REQUEST_TIMEOUT_MS (10000); RIDESHARE_JSON_MAX_DEPTH is
 * only validated here (rs_pbjson reads it). A bad value exits(2) naming
 * the variable (rs_cfg). name is stored as is (not copied). No token. */
void rs_http_cfg_from_env(
    rs_http_cfg *cfg, const char *name, int default_port);

/* Starts listening and serving. routes (nroutes entries) are copied; the
 * strings and args they point to must outlive the server. On RS_OK *out
 * is the running server; RS_EINVAL for a bad pattern, RS_EIO when the
 * port cannot be bound. */
int rs_http_start(const rs_http_cfg *cfg, const rs_http_route *routes,
    size_t nroutes, rs_http **out);

/* Stops accepting, lets in-flight requests finish, frees the server. */
void rs_http_stop(rs_http *srv);

/* The port actually bound (useful with port 0). */
int rs_http_port(const rs_http *srv);

/* The request counter (`_count`): counted routes only, atomic. */
uint64_t rs_http_count_get(rs_http *srv);
void rs_http_count_reset(rs_http *srv);

/* ---- inside a handler ---------------------------------------------------*/

rs_http *rs_http_req_server(rs_http_req *req);
const char *rs_http_method(rs_http_req *req);
/* Raw (not decoded) path, without the query string. */
const char *rs_http_path(rs_http_req *req);
/* The request id (never NULL). */
const char *rs_http_rid(rs_http_req *req);
/* Request header value or NULL (case-insensitive name). */
const char *rs_http_header(rs_http_req *req, const char *name);

/* Percent-decoded value of path parameter name ("username" for a
 * "{username}" segment), or NULL when the pattern has no such parameter.
 * *len (if not NULL) gets its length: the value may contain NUL bytes
 * ("%00") or invalid UTF-8, so validate before use. Owned by req. */
const char *rs_http_param(rs_http_req *req, const char *name, size_t *len);

/* Query parameter: RS_OK and *out = percent-decoded ("+" = space),
 * NUL-terminated value owned by req; RS_ENOTFOUND when absent; RS_EINVAL
 * when its encoding is malformed. The first occurrence wins. */
int rs_http_query(
    rs_http_req *req, const char *name, const char **out, size_t *len);

/* The request body (already read, at most the body limit; "" and 0 when
 * there is none). Owned by req, NUL-terminated after len bytes. */
const char *rs_http_body(rs_http_req *req, size_t *len);

/* In a RS_HTTP_RAW_BODY handler: reads up to len bytes of the body (the
 * first call answers "Expect: 100-continue"). Returns the bytes read, 0 at
 * the end of the body, -1 when the connection failed or the client sent
 * nothing for the request timeout. */
long rs_http_body_read(rs_http_req *req, void *buf, size_t len);
/* The body's announced length (Content-Length), or -1 (chunked / none). */
long long rs_http_body_length(rs_http_req *req);

/* Adds a response header to the reply about to be sent (copied). */
void rs_http_add_header(rs_http_req *req, const char *name, const char *value);

/* Sends status with the given body and content type (body may be NULL
 * with len 0). 204 never carries a body. */
void rs_http_reply(rs_http_req *req, int status, const char *content_type,
    const void *body, size_t len);
/* Sends status with the len bytes read from fd (at its offset) as the
 * body, for answers too large to hold in memory (a backup). RS_OK; RS_EIO
 * when fd ended early or the client went away (the connection is closed,
 * so the client sees fewer bytes than Content-Length). */
int rs_http_reply_fd(rs_http_req *req, int status, const char *content_type,
    int fd, uint64_t len);
/* Sends status with body serialized as JSON; steals the reference to
 * body (NULL = no body, e.g. 204). */
void rs_http_reply_json(rs_http_req *req, int status, json_t *body);
/* Sends status with {"error": "<formatted reason>"}. */
void rs_http_reply_error(rs_http_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 200 {} */
void rs_http_reply_empty_object(rs_http_req *req, int status);

/* ---- streaming answers ---------------------------------------------------
 * For an answer of unknown length that goes on for as long as the client
 * stays (GET /api/v1/changes): rs_http_stream_start sends the status and
 * headers without Content-Length and with "Connection: close" (the body
 * ends when the connection does), then the handler sends pieces with
 * rs_http_stream_write until it is done or the client is gone. This is the
 * handler's one reply. The handler keeps its connection's thread all along
 * (one of cfg.threads), so the caller bounds how many streams it runs and
 * ends them before rs_http_stop (which waits for every handler). A write
 * to a client that reads nothing gives up after cfg.request_timeout_ms. */

/* RS_OK, or RS_ESTATE when req was already answered. */
int rs_http_stream_start(
    rs_http_req *req, int status, const char *content_type);
/* RS_OK when all of data[0..len) went out, RS_ECLOSED when the client is
 * gone (or stopped reading for cfg.request_timeout_ms). */
int rs_http_stream_write(rs_http_req *req, const void *data, size_t len);

/* ---- pure helpers (unit-tested) -----------------------------------------*/

/* 1 when the Authorization header value hdr is "Bearer <token>" (scheme
 * case-insensitive) for exactly this token, else 0. The comparison takes
 * the same time whatever the bytes (the lengths may show). */
int rs_http_bearer_ok(const char *hdr, const char *token);

/* Percent-decodes src[0..len) into a new NUL-terminated string (*out, free
 * it) of *outlen bytes. plus_is_space: query-string rules. RS_EINVAL on a
 * malformed escape ("%", "%4", "%zz"), RS_ENOMEM. */
int rs_http_pct_decode(const char *src, size_t len, int plus_is_space,
    char **out, size_t *outlen);

/* Percent-encodes s[0..len) for use as ONE path segment (everything but
 * unreserved characters is escaped). Returns a new string or NULL. */
char *rs_http_pct_encode(const char *s, size_t len);

/* Route lookup without a server, for tests: returns the index of the route
 * matching method+path, or -1 when the path matches no pattern, or -2 when
 * it matches a pattern but not with this method (allow gets the comma
 * separated methods, e.g. "GET, DELETE"). */
int rs_http_match(const rs_http_route *routes, size_t nroutes,
    const char *method, const char *path, char *allow, size_t allowlen);

#endif
