/* CivetWeb-based HTTP server with a routing table. See rs_http.h. */
#include "rs_http.h"
#include "rs_http_route.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_pbjson.h"

#include <civetweb.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HEADER_LIMIT               (4u << 20) /* request line + headers (100 KiB names) */
#define KEEP_ALIVE_MS              "5000"
#define DEFAULT_THREADS            512 /* > 256 idle connections + nginx's keepalive */
#define DEFAULT_REQUEST_TIMEOUT_MS 10000

/* http_request_duration_seconds: a histogram per route and status code.
 * The codes a route may answer are few; each gets a slot on first use
 * (NSLOTS per route, the rest share the last one as code="other"). */
#define NBUCKETS 12
#define NSLOTS   12
static const double buckets_s[NBUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

struct hist {
	_Atomic int code; /* 0: free */
	_Atomic uint64_t le[NBUCKETS]; /* per bucket (not cumulative) */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
};

/* A route of the server: the compiled route first (rs_http_lookup walks
 * the table with a stride), then what the server keeps about it. */
struct route {
	rs_http_compiled c;
	int builtin;
	/* metrics */
	_Atomic uint64_t requests;
	_Atomic uint64_t status_4xx;
	_Atomic uint64_t status_5xx;
	_Atomic uint64_t latency_us_sum;
	struct hist hist[NSLOTS];
	char label[256];
};

struct rs_http {
	rs_http_cfg cfg;
	struct mg_context *ctx;
	struct route *routes;
	size_t nroutes;
	int port;
	_Atomic uint64_t count;
	_Atomic uint64_t unmatched; /* 404 */
	_Atomic uint64_t wrong_method; /* 405 */
	_Atomic uint64_t too_large; /* 413 */
	_Atomic uint64_t unauthorized; /* 401 */
	_Atomic uint64_t unrouted; /* "*" and other servers' targets */
	_Atomic uint64_t requests;
	_Atomic uint64_t latency_us_sum;
	_Atomic uint64_t inflight;
	char *name_label;
	char allow_all[128]; /* every method of every route, for OPTIONS * */
	int request_timeout_ms;
};

struct alloc {
	struct alloc *next;
	char data[];
};

struct param {
	const char *name;
	size_t namelen;
	char *val;
	size_t len;
};

struct rs_http_req {
	rs_http *srv;
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	const char *path; /* raw path, owned by civetweb */
	char rid[129];
	struct route *route;
	struct param params[RS_HTTP_MAX_PARAMS];
	size_t nparams;
	char *body;
	size_t body_len;
	rs_buf hdrs; /* extra response headers "Name: value\r\n" */
	struct alloc *allocs;
	int status;
	int replied;
	int close_now; /* close after the answer, unread body or not */
	int continued; /* RS_HTTP_RAW_BODY: "100 Continue" sent */
};

/* ---- pure helpers ------------------------------------------------------ */

/* True for the liveness/readiness/metrics endpoints that probes poll. */
static int
is_probe(const char *path)
{
	return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0
	    || strcmp(path, "/metrics") == 0;
}

int
rs_http_bearer_ok(const char *hdr, const char *token)
{
	size_t hl, tl;
	unsigned char diff = 0;

	if (hdr == NULL || token == NULL
	    || strncasecmp(hdr, "Bearer ", 7) != 0)
		return 0;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	hl = strlen(hdr);
	while (hl > 0 && (hdr[hl - 1] == ' ' || hdr[hl - 1] == '\t'))
		hl--;
	tl = strlen(token);
	/* Every byte of the token is compared whatever the input, so the
	 * time says nothing about how many leading bytes were right. */
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char) (token[i] ^ (i < hl ? hdr[i] : 0));
	return diff == 0 && hl == tl && tl > 0;
}

/* ---- request helpers --------------------------------------------------- */

static void *
req_alloc(rs_http_req *req, size_t n)
{
	struct alloc *a = malloc(sizeof(*a) + n);

	if (a == NULL)
		return NULL;
	a->next = req->allocs;
	req->allocs = a;
	return a->data;
}

rs_http *
rs_http_req_server(rs_http_req *req)
{
	return req->srv;
}

const char *
rs_http_method(rs_http_req *req)
{
	return req->ri->request_method;
}

const char *
rs_http_path(rs_http_req *req)
{
	return req->path;
}

const char *
rs_http_rid(rs_http_req *req)
{
	return req->rid;
}

const char *
rs_http_header(rs_http_req *req, const char *name)
{
	return mg_get_header(req->conn, name);
}

const char *
rs_http_param(rs_http_req *req, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < req->nparams; i++) {
		if (req->params[i].namelen == nl
		    && memcmp(req->params[i].name, name, nl) == 0) {
			if (len != NULL)
				*len = req->params[i].len;
			return req->params[i].val;
		}
	}
	return NULL;
}

int
rs_http_query(
    rs_http_req *req, const char *name, const char **out, size_t *len)
{
	const char *q = req->ri->query_string;
	size_t nl = strlen(name);

	if (q == NULL)
		return RS_ENOTFOUND;
	while (*q != '\0') {
		size_t plen = strcspn(q, "&");
		const char *eq = memchr(q, '=', plen);
		size_t klen = eq != NULL ? (size_t) (eq - q) : plen;
		char *key, *val;
		size_t kdl, vdl;
		int rv;

		rv = rs_http_pct_decode(q, klen, 1, &key, &kdl);
		if (rv != RS_OK)
			return rv;
		if (kdl == nl && memcmp(key, name, nl) == 0) {
			free(key);
			if (eq == NULL) {
				val = req_alloc(req, 1);
				if (val == NULL)
					return RS_ENOMEM;
				val[0] = '\0';
				vdl = 0;
			} else {
				char *tmp;
				rv = rs_http_pct_decode(
				    eq + 1, plen - klen - 1, 1, &tmp, &vdl);
				if (rv != RS_OK)
					return rv;
				val = req_alloc(req, vdl + 1);
				if (val == NULL) {
					free(tmp);
					return RS_ENOMEM;
				}
				memcpy(val, tmp, vdl + 1);
				free(tmp);
			}
			*out = val;
			if (len != NULL)
				*len = vdl;
			return RS_OK;
		}
		free(key);
		q += plen;
		if (*q == '&')
			q++;
	}
	return RS_ENOTFOUND;
}

const char *
rs_http_body(rs_http_req *req, size_t *len)
{
	if (len != NULL)
		*len = req->body_len;
	return req->body != NULL ? req->body : "";
}

void
rs_http_add_header(rs_http_req *req, const char *name, const char *value)
{
	/* Never let a value break the header block. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return;
	rs_buf_printf(&req->hdrs, "%s: %s\r\n", name, value);
}

/* Whether the connection stays open after this answer, as CivetWeb's
 * should_keep_alive decides it (the client's Connection header, else the
 * HTTP version), unless we close it. */
static int
keeps_alive(rs_http_req *req)
{
	const char *c = mg_get_header(req->conn, "Connection");

	if (req->close_now
	    || (req->hdrs.data != NULL
	        && strstr(req->hdrs.data, "Connection: close") != NULL))
		return 0;
	if (c != NULL)
		return strcasestr(c, "keep-alive") != NULL;
	return strcmp(req->ri->http_version, "1.1") == 0;
}

/* RFC 7231 Date, formatted once per second per thread. */
static const char *
http_date(void)
{
	static __thread char buf[40];
	static __thread time_t at = -1;
	time_t now = time(NULL);
	struct tm tm;

	if (now != at) {
		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		at = now;
	}
	return buf;
}

/* Bodies up to this size travel in the same write as the headers. */
#define ONE_WRITE_MAX 65536

/* The whole answer (status line, headers and, up to ONE_WRITE_MAX, the
 * body) in one mg_write: CivetWeb's mg_response_header_* API sends every
 * header line with its own send(2), so with TCP_NODELAY a small reply left
 * as ~8 TCP segments (docs/performance.md, bench/proposals history). It is
 * also the only way once "100 Continue" went out: CivetWeb 1.15 refuses
 * mg_response_header_start after mg_printf ("data sent"). Connection is
 * stated as CivetWeb will act on it (keeps_alive). */
static void
reply_one_write(rs_http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	rs_buf h = RS_BUF_INIT;
	bool with_body
	    = len > 0 && strcmp(req->ri->request_method, "HEAD") != 0;

	rs_buf_printf(&h, "HTTP/1.1 %d %s\r\n", status,
	    mg_get_response_code_text(req->conn, status));
	if (body != NULL || status != 204) {
		if (content_type != NULL && len > 0)
			rs_buf_printf(
			    &h, "Content-Type: %s\r\n", content_type);
		rs_buf_printf(&h, "Content-Length: %zu\r\n", len);
	}
	rs_buf_printf(&h, "X-Request-Id: %s\r\n", req->rid);
	if (req->hdrs.len > 0)
		rs_buf_append(&h, req->hdrs.data, req->hdrs.len);
	rs_buf_printf(&h, "Date: %s\r\n", http_date());
	if (req->hdrs.data == NULL
	    || strstr(req->hdrs.data, "Connection:") == NULL)
		rs_buf_printf(&h, "Connection: %s\r\n",
		    keeps_alive(req) ? "keep-alive" : "close");
	rs_buf_append(&h, "\r\n", 2);
	if (with_body && len <= ONE_WRITE_MAX) {
		rs_buf_append(&h, body, len);
		with_body = false;
	}
	if (h.err == 0)
		mg_write(req->conn, h.data, h.len);
	else
		req->close_now = 1; /* nothing sent: at least do not hang */
	rs_buf_fini(&h);
	if (with_body && req->close_now == 0)
		mg_write(req->conn, body, len);
}

void
rs_http_reply(rs_http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	if (req->replied) {
		rs_warn(req->rid, "event=http_double_reply status=%d", status);
		return;
	}
	req->replied = 1;
	req->status = status;
	if (status == 204 || status == 304 || status < 200) {
		body = NULL;
		len = 0;
	}
	reply_one_write(req, status, content_type, body, len);
}

int
rs_http_reply_fd(rs_http_req *req, int status, const char *content_type,
    int fd, uint64_t len)
{
	/* On the heap: a CivetWeb thread has a 100 KiB stack. */
	size_t cap = 64 * 1024;
	char cl[32], *buf;
	uint64_t left = len;
	int rc = RS_OK;

	if (req->replied) {
		rs_warn(req->rid, "event=http_double_reply status=%d", status);
		return RS_EINVAL;
	}
	req->replied = 1;
	req->status = status;
	mg_response_header_start(req->conn, status);
	if (content_type != NULL)
		mg_response_header_add(
		    req->conn, "Content-Type", content_type, -1);
	snprintf(cl, sizeof(cl), "%" PRIu64, len);
	mg_response_header_add(req->conn, "Content-Length", cl, -1);
	mg_response_header_add(req->conn, "X-Request-Id", req->rid, -1);
	if (req->hdrs.len > 0)
		mg_response_header_add_lines(req->conn, req->hdrs.data);
	mg_response_header_send(req->conn);
	if (strcmp(req->ri->request_method, "HEAD") == 0)
		return RS_OK;
	if ((buf = malloc(cap)) == NULL) {
		req->close_now = 1;
		return RS_ENOMEM;
	}
	while (left > 0) {
		ssize_t n = read(fd, buf, left < cap ? (size_t) left : cap);
		if (n <= 0
		    || mg_write(req->conn, buf, (size_t) n) != (int) n) {
			/* Fewer bytes than announced: close, so the client
			 * sees the answer is cut. */
			req->close_now = 1;
			rc = RS_EIO;
			break;
		}
		left -= (uint64_t) n;
	}
	free(buf);
	return rc;
}

int
rs_http_stream_start(rs_http_req *req, int status, const char *content_type)
{
	if (req->replied)
		return RS_ESTATE;
	req->replied = 1;
	req->status = status;
	req->close_now = 1;
	mg_response_header_start(req->conn, status);
	mg_response_header_add(req->conn, "Content-Type", content_type, -1);
	mg_response_header_add(req->conn, "Cache-Control", "no-store", -1);
	/* nginx in front (compose) must pass lines on as they come. */
	mg_response_header_add(req->conn, "X-Accel-Buffering", "no", -1);
	mg_response_header_add(req->conn, "Connection", "close", -1);
	mg_response_header_add(req->conn, "X-Request-Id", req->rid, -1);
	if (req->hdrs.len > 0)
		mg_response_header_add_lines(req->conn, req->hdrs.data);
	mg_response_header_send(req->conn);
	return RS_OK;
}

int
rs_http_stream_write(rs_http_req *req, const void *data, size_t len)
{
	if (len == 0)
		return RS_OK;
	return mg_write(req->conn, data, len) == (int) len ? RS_OK
	                                                   : RS_ECLOSED;
}

void
rs_http_reply_json(rs_http_req *req, int status, json_t *body)
{
	char *text;

	if (body == NULL) {
		rs_http_reply(req, status, NULL, NULL, 0);
		return;
	}
	text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (text == NULL) {
		static const char oom[] = "{\"error\": \"out of memory\"}";
		rs_http_reply(
		    req, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	rs_http_reply(req, status, "application/json", text, strlen(text));
	free(text);
}

void
rs_http_reply_error(rs_http_req *req, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Reasons may quote client input; keep the JSON valid UTF-8. */
	o = json_object();
	if (o != NULL) {
		json_t *s = json_string(msg);
		if (s == NULL) {
			/* Not UTF-8 (quoted input, a cut sequence): keep
			 * the ASCII part. */
			for (char *p = msg; *p != '\0'; p++) {
				if ((unsigned char) *p >= 0x80)
					*p = '?';
			}
			s = json_string(msg);
		}
		json_object_set_new(o, "error", s);
	}
	rs_http_reply_json(req, status, o);
}

void
rs_http_reply_empty_object(rs_http_req *req, int status)
{
	rs_http_reply(req, status, "application/json", "{}", 2);
}

/* ---- configuration ----------------------------------------------------- */

void
rs_http_cfg_from_env(rs_http_cfg *cfg, const char *name, int default_port)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = name;
	cfg->addr = rs_cfg_str("RIDESHARE_HTTP_ADDR", "127.0.0.1");
	cfg->port = rs_cfg_port("RIDESHARE_HTTP_PORT", default_port);
	cfg->threads = (int) rs_cfg_long(
	    "RIDESHARE_HTTP_THREADS", DEFAULT_THREADS, 1, 8192);
	cfg->body_limit = (size_t) rs_cfg_long(
	    "RIDESHARE_BODY_LIMIT", 1048576, 1, 1L << 30);
	cfg->request_timeout_ms
	    = (int) rs_cfg_long("RIDESHARE_HTTP_REQUEST_TIMEOUT_MS",
	        DEFAULT_REQUEST_TIMEOUT_MS, 100, 3600000);
	/* Read by rs_pbjson; a bad value must fail loudly at start, not be
	 * replaced by the default without a word. */
	(void) rs_cfg_long("RIDESHARE_JSON_MAX_DEPTH",
	    RS_PBJSON_MAX_DEPTH_DEFAULT, 1, RS_PBJSON_MAX_DEPTH_CAP);
}

uint64_t
rs_http_count_get(rs_http *srv)
{
	return atomic_load(&srv->count);
}

void
rs_http_count_reset(rs_http *srv)
{
	atomic_store(&srv->count, 0);
}

int
rs_http_port(const rs_http *srv)
{
	return srv->port;
}

/* ---- built-in routes --------------------------------------------------- */

static void
healthz(rs_http_req *req, void *arg)
{
	rs_http_reply(req, 200, "text/plain", "ok\n", 3);
}

/* A service-wide metric: its HELP and TYPE lines and value v. */
static void
metric_one(rs_http *srv, rs_buf *out, const char *name, const char *type,
    const char *help, double v)
{
	rs_metrics_help(out, name, type, help);
	rs_metrics_line(out, name, srv->name_label, v);
}

/* A per-route counter: the _Atomic uint64_t at offset off of every route
 * (offsetof(struct route, ...)), after its HELP and TYPE lines. */
static void
metric_by_route(
    rs_http *srv, rs_buf *out, const char *name, const char *help, size_t off)
{
	rs_metrics_help(out, name, "counter", help);
	for (size_t i = 0; i < srv->nroutes; i++) {
		struct route *r = &srv->routes[i];
		_Atomic uint64_t *v = (_Atomic uint64_t *) ((char *) r + off);

		rs_metrics_line(out, name, r->label, (double) atomic_load(v));
	}
}

/* Records one answer of route r (code, dt_us) in its histogram. */
static void
hist_observe(struct route *r, int code, uint64_t dt_us)
{
	struct hist *h = NULL;
	double s = (double) dt_us / 1e6;

	for (int i = 0; i < NSLOTS - 1 && h == NULL; i++) {
		int cur = atomic_load(&r->hist[i].code);

		if (cur == code)
			h = &r->hist[i];
		else if (cur == 0) {
			int zero = 0;

			if (atomic_compare_exchange_strong(
			        &r->hist[i].code, &zero, code)
			    || zero == code)
				h = &r->hist[i];
		}
	}
	if (h == NULL) {
		h = &r->hist[NSLOTS - 1];
		atomic_store(&h->code, -1); /* "other" */
	}
	for (int b = 0; b < NBUCKETS; b++) {
		if (s <= buckets_s[b]) {
			atomic_fetch_add(&h->le[b], 1);
			break;
		}
	}
	atomic_fetch_add(&h->sum_us, dt_us);
	atomic_fetch_add(&h->count, 1);
}

static void
hist_render(rs_http *srv, rs_buf *out)
{
	char lbl[512], code[16];

	rs_metrics_help(out, "http_request_duration_seconds", "histogram",
	    "Time from request start to answer, by route and status code.");
	for (size_t i = 0; i < srv->nroutes; i++) {
		struct route *r = &srv->routes[i];

		for (int k = 0; k < NSLOTS; k++) {
			struct hist *h = &r->hist[k];
			int c = atomic_load(&h->code);
			uint64_t n = atomic_load(&h->count), cum = 0;

			if (c == 0 || n == 0)
				continue;
			if (c > 0)
				snprintf(code, sizeof(code), "%d", c);
			else
				snprintf(code, sizeof(code), "other");
			for (int b = 0; b < NBUCKETS; b++) {
				cum += atomic_load(&h->le[b]);
				snprintf(lbl, sizeof(lbl),
				    "%s,code=\"%s\",le=\"%g\"", r->label, code,
				    buckets_s[b]);
				rs_metrics_line(out,
				    "http_request_duration_seconds_bucket",
				    lbl, (double) cum);
			}
			snprintf(lbl, sizeof(lbl),
			    "%s,code=\"%s\",le=\"+Inf\"", r->label, code);
			rs_metrics_line(out,
			    "http_request_duration_seconds_bucket", lbl,
			    (double) n);
			snprintf(lbl, sizeof(lbl), "%s,code=\"%s\"", r->label,
			    code);
			rs_metrics_line(out,
			    "http_request_duration_seconds_sum", lbl,
			    (double) atomic_load(&h->sum_us) / 1e6);
			rs_metrics_line(out,
			    "http_request_duration_seconds_count", lbl,
			    (double) n);
		}
	}
}

static void
metrics(rs_http_req *req, void *arg)
{
	rs_http *srv = req->srv;
	rs_buf out = RS_BUF_INIT;
	char lbl[512];
	char *text;

	rs_metrics_render(&out);
	metric_by_route(srv, &out, "rideshare_http_requests_total",
	    "HTTP requests answered, by route.",
	    offsetof(struct route, requests));
	snprintf(lbl, sizeof(lbl), "%s,route=\"unmatched\"", srv->name_label);
	rs_metrics_line(&out, "rideshare_http_requests_total", lbl,
	    (double) atomic_load(&srv->unmatched));
	snprintf(
	    lbl, sizeof(lbl), "%s,route=\"wrong_method\"", srv->name_label);
	rs_metrics_line(&out, "rideshare_http_requests_total", lbl,
	    (double) atomic_load(&srv->wrong_method));
	metric_by_route(srv, &out, "rideshare_http_client_errors_total",
	    "HTTP 4xx answers, by route.", offsetof(struct route, status_4xx));
	metric_by_route(srv, &out, "rideshare_http_server_errors_total",
	    "HTTP 5xx answers, by route.", offsetof(struct route, status_5xx));
	rs_metrics_help(&out, "rideshare_http_request_duration_seconds",
	    "summary", "Time from request start to answer, by route.");
	for (size_t i = 0; i < srv->nroutes; i++) {
		struct route *r = &srv->routes[i];
		rs_metrics_line(&out,
		    "rideshare_http_request_duration_seconds_sum", r->label,
		    (double) atomic_load(&r->latency_us_sum) / 1e6);
		rs_metrics_line(&out,
		    "rideshare_http_request_duration_seconds_count", r->label,
		    (double) atomic_load(&r->requests));
	}
	hist_render(srv, &out);
	metric_one(srv, &out, "rideshare_http_body_too_large_total", "counter",
	    "Requests answered 413.", (double) atomic_load(&srv->too_large));
	metric_one(srv, &out, "rideshare_http_unauthorized_total", "counter",
	    "Requests answered 401 (no or wrong bearer token).",
	    (double) atomic_load(&srv->unauthorized));
	metric_one(srv, &out, "rideshare_http_auth_enabled", "gauge",
	    "1 when non-GET routes need a bearer token.",
	    srv->cfg.auth_token != NULL ? 1.0 : 0.0);
	metric_one(srv, &out, "rideshare_http_unrouted_total", "counter",
	    "Requests for \"*\" or another server's absolute URI.",
	    (double) atomic_load(&srv->unrouted));
	metric_one(srv, &out, "rideshare_http_inflight_requests", "gauge",
	    "Requests being handled now.",
	    (double) atomic_load(&srv->inflight));
	metric_one(srv, &out, "rideshare_api_count", "gauge",
	    "The _count of this service (counted API requests).",
	    (double) atomic_load(&srv->count));
	if (srv->cfg.metrics_extra != NULL)
		srv->cfg.metrics_extra(&out, srv->cfg.metrics_arg);
	if (out.err != 0) {
		rs_buf_fini(&out);
		rs_http_reply_error(req, 500, "out of memory");
		return;
	}
	text = rs_buf_take(&out);
	rs_http_reply(
	    req, 200, "text/plain; version=0.0.4", text, strlen(text));
	free(text);
}

/* ---- request processing ------------------------------------------------ */

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Path for the access log: at most 200 bytes, no quotes or controls. */
static void
log_path(const char *path, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (path == NULL)
		path = "-";
	for (size_t i = 0; path[i] != '\0'; i++) {
		unsigned char c = (unsigned char) path[i];
		if (n + 4 >= outlen || i >= 200) {
			if (n + 4 < outlen) {
				memcpy(out + n, "...", 3);
				n += 3;
			}
			break;
		}
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char) c;
		}
	}
	out[n] = '\0';
}

static int
is_chunked(struct mg_connection *conn)
{
	const char *te = mg_get_header(conn, "Transfer-Encoding");

	return te != NULL && strcasestr(te, "chunked") != NULL;
}

/* True when a body follows the headers. */
static int
has_body(rs_http_req *req)
{
	long long cl = req->ri->content_length;

	return cl > 0 || (cl < 0 && is_chunked(req->conn));
}

/* True when the client waits for "100 Continue" before sending the body
 * (HTTP/1.0 clients cannot ask for it: RFC 9110 10.1.1). */
static int
wants_continue(rs_http_req *req)
{
	const char *e = mg_get_header(req->conn, "Expect");

	return e != NULL && strcasecmp(e, "100-continue") == 0
	    && strcmp(req->ri->http_version, "1.0") != 0 && has_body(req);
}

/* Reads the whole body if it fits the limit. Returns 0, 413 (over the
 * limit; nothing more is read), 400 (body cut short), 408 (not all there
 * within the request timeout) or 500 (ENOMEM). */
static int
read_body(rs_http_req *req, int keep)
{
	long long cl = req->ri->content_length;
	size_t limit = req->srv->cfg.body_limit;
	uint64_t deadline;
	size_t cap, n = 0;
	char *buf;

	if (!has_body(req))
		return 0; /* HTTP/1.1: no length, not chunked = no body */
	if (cl > 0 && (unsigned long long) cl > limit)
		return 413; /* before any "100 Continue": the body never comes
		             */
	if (wants_continue(req)) {
		/* The final answer then goes out raw (reply_one_write). */
		mg_printf(req->conn, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	/* CivetWeb's timeout applies to each read; a client trickling a byte
	 * at a time must not hold the thread for longer than one timeout. */
	deadline = now_us() + (uint64_t) req->srv->request_timeout_ms * 1000u;
	cap = cl > 0 ? (size_t) cl : (limit < 65536 ? limit : 65536);
	buf = malloc(cap + 1);
	if (buf == NULL)
		return 500;
	for (;;) {
		int got;
		if (n == cap) {
			char *nb;
			if (cl > 0)
				break;
			if (cap > limit) {
				free(buf);
				return 413;
			}
			cap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return 500;
			}
			buf = nb;
		}
		if (now_us() > deadline) {
			free(buf);
			return 408;
		}
		got = mg_read(req->conn, buf + n, cap - n);
		if (got <= 0)
			break;
		n += (size_t) got;
	}
	if (n > limit) {
		free(buf);
		return 413;
	}
	if (cl > 0 && n != (size_t) cl) {
		free(buf);
		return 400;
	}
	buf[n] = '\0';
	if (keep) {
		req->body = buf;
		req->body_len = n;
	} else {
		free(buf);
	}
	return 0;
}

long
rs_http_body_read(rs_http_req *req, void *buf, size_t len)
{
	int got;

	if (!has_body(req))
		return 0;
	if (!req->continued && wants_continue(req))
		mg_printf(req->conn, "HTTP/1.1 100 Continue\r\n\r\n");
	req->continued = 1;
	/* CivetWeb's request timeout bounds each read. */
	got = mg_read(req->conn, buf, len > INT_MAX ? INT_MAX : len);
	return got < 0 ? -1 : got;
}

long long
rs_http_body_length(rs_http_req *req)
{
	return req->ri->content_length;
}

static int
decode_params(rs_http_req *req, const rs_http_span *spans)
{
	struct route *r = req->route;

	for (size_t i = 0; i < r->c.nsegs; i++) {
		struct param *p;
		if (!r->c.segs[i].param)
			continue;
		p = &req->params[req->nparams];
		p->name = r->c.segs[i].s;
		p->namelen = r->c.segs[i].len;
		if (rs_http_pct_decode(
		        spans[i].s, spans[i].len, 0, &p->val, &p->len)
		    != RS_OK)
			return RS_EINVAL;
		req->nparams++;
	}
	return RS_OK;
}

static void
req_fini(rs_http_req *req)
{
	for (size_t i = 0; i < req->nparams; i++)
		free(req->params[i].val);
	free(req->body);
	rs_buf_fini(&req->hdrs);
	while (req->allocs != NULL) {
		struct alloc *a = req->allocs;
		req->allocs = a->next;
		free(a);
	}
}

/* Set while force_close runs (http_error must stay silent then). */
static _Thread_local int closing;

/* Set when CivetWeb answered an error for the last request of this
 * thread's connection (so the connection_close hook knows the client got
 * an answer). A thread serves one connection at a time; the next request
 * (begin_request) and connection_close clear it. */
static _Thread_local int error_sent;

/* Makes CivetWeb close the connection after the answer already sent
 * instead of reading the rest of the body (discard_unread_request_data),
 * which a client waiting for "100 Continue" never sends. CivetWeb 1.15 has
 * no call for that; its error path sets must_close first and then cannot
 * send anything more (the headers are out), and http_error declines. */
static void
force_close(struct mg_connection *conn)
{
	closing = 1;
	(void) mg_send_http_error(conn, 304, "%s", "");
	closing = 0;
}

/* An error answered before the body. A client waiting for "100 Continue"
 * will not send it (and one with another expectation may not), so the
 * connection is closed at once after the answer; any other body is read
 * and dropped (up to the limit) so that the connection can go on, and is
 * closed when that fails. */
static void
skip_body(rs_http_req *req, int expect_failed)
{
	int rc;

	if (!has_body(req))
		return;
	if (expect_failed || wants_continue(req)) {
		req->close_now = 1;
	} else if ((rc = read_body(req, 0)) != 0) {
		/* 413: CivetWeb reads (discards) the rest as before. */
		req->close_now = rc != 413;
	} else {
		return;
	}
	rs_http_add_header(req, "Connection", "close");
}

/* Whether req may run its route: GET and HEAD always, anything else only
 * with the server's token when it has one (rs_http.h). */
static int
authorized(rs_http_req *req)
{
	const char *m = req->ri->request_method;
	int flags = req->route->c.r.flags;

	if (req->srv->cfg.auth_token == NULL
	    || ((strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
	        && (flags & RS_HTTP_PRIVATE) == 0)
	    || (flags & RS_HTTP_PUBLIC) != 0)
		return 1;
	return rs_http_bearer_ok(
	    rs_http_header(req, "Authorization"), req->srv->cfg.auth_token);
}

static int
begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	rs_http *srv = ri->user_data;
	rs_http_span spans[RS_HTTP_MAX_SEGS];
	size_t nspans = 0;
	char allow[128];
	char lp[256];
	const char *hrid, *expect;
	rs_http_req req;
	uint64_t t0 = now_us(), dt;
	int idx, counted = 0, rc;

	memset(&req, 0, sizeof(req));
	error_sent = 0;
	atomic_fetch_add(&srv->inflight, 1);
	req.srv = srv;
	req.conn = conn;
	req.ri = ri;
	req.path = ri->local_uri_raw;
	hrid = mg_get_header(conn, "X-Request-Id");
	if (hrid != NULL && rs_id_valid(hrid))
		snprintf(req.rid, sizeof(req.rid), "%s", hrid);
	else
		rs_id_new(req.rid);

	idx = rs_http_lookup(srv->routes, srv->nroutes, sizeof(srv->routes[0]),
	    ri->request_method, req.path, spans, &nspans, allow, sizeof(allow),
	    &counted);
	if (idx >= 0) {
		req.route = &srv->routes[idx];
		counted = (req.route->c.r.flags & RS_HTTP_COUNTED) != 0;
	}
	if (counted)
		atomic_fetch_add(&srv->count, 1);

	expect = mg_get_header(conn, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
		/* RFC 9110 10.1.1: an expectation we cannot meet. */
		skip_body(&req, 1);
		rs_http_reply_error(
		    &req, 417, "unsupported expectation (only 100-continue)");
	} else if (idx == -1) {
		atomic_fetch_add(&srv->unmatched, 1);
		skip_body(&req, 0);
		rs_http_reply_error(&req, 404, "no such resource");
	} else if (idx == -2) {
		atomic_fetch_add(&srv->wrong_method, 1);
		skip_body(&req, 0);
		rs_http_add_header(&req, "Allow", allow);
		rs_http_reply_error(&req, 405, "method %s not allowed here",
		    ri->request_method);
	} else if (!authorized(&req)) {
		atomic_fetch_add(&srv->unauthorized, 1);
		skip_body(&req, 0);
		rs_http_add_header(
		    &req, "WWW-Authenticate", "Bearer realm=\"rideshare\"");
		rs_http_reply_error(&req, 401,
		    "%s: send \"Authorization: Bearer <token>\"",
		    rs_http_header(&req, "Authorization") == NULL
		        ? "this operation needs the admin token"
		        : "wrong token");
	} else if ((req.route->c.r.flags & RS_HTTP_RAW_BODY) == 0
	    && (rc = read_body(&req, 1)) != 0) {
		if (rc == 408) {
			req.close_now = 1;
			rs_http_add_header(&req, "Connection", "close");
			rs_http_reply_error(&req, 408,
			    "request body not received within %d ms",
			    srv->request_timeout_ms);
		} else if (rc == 413) {
			atomic_fetch_add(&srv->too_large, 1);
			/* The rest of the body stays unread: close. A client
			 * waiting for "100 Continue" never sends it: at once.
			 */
			req.close_now = wants_continue(&req);
			rs_http_add_header(&req, "Connection", "close");
			rs_http_reply_error(&req, 413,
			    "request body larger than %zu bytes",
			    srv->cfg.body_limit);
		} else if (rc == 400) {
			rs_http_reply_error(&req, 400, "incomplete body");
		} else {
			rs_http_reply_error(&req, 500, "out of memory");
		}
	} else if (decode_params(&req, spans) != RS_OK) {
		rs_http_reply_error(
		    &req, 400, "malformed percent-encoding in path");
	} else {
		if ((req.route->c.r.flags & RS_HTTP_RAW_BODY) != 0
		    && has_body(&req)) {
			req.close_now = 1;
			rs_http_add_header(&req, "Connection", "close");
		}
		req.route->c.r.fn(&req, req.route->c.r.arg);
		if (!req.replied) {
			rs_error(req.rid, "event=http_no_reply route=\"%s\"",
			    req.route->c.r.pattern);
			rs_http_reply_error(&req, 500, "internal error");
		}
	}

	dt = now_us() - t0;
	atomic_fetch_add(&srv->requests, 1);
	atomic_fetch_add(&srv->latency_us_sum, dt);
	if (req.route != NULL) {
		atomic_fetch_add(&req.route->requests, 1);
		atomic_fetch_add(&req.route->latency_us_sum, dt);
		hist_observe(req.route, req.status > 0 ? req.status : 500,
		    (uint64_t) dt);
		if (req.status >= 400 && req.status < 500)
			atomic_fetch_add(&req.route->status_4xx, 1);
		else if (req.status >= 500)
			atomic_fetch_add(&req.route->status_5xx, 1);
	}
	log_path(req.path, lp, sizeof(lp));
	/* Health probes arrive every second from compose and the stack
	 * script; at info level they would drown the events that matter. */
	rs_log(is_probe(req.path) && req.status < 400 ? RS_LOG_DEBUG
	                                              : RS_LOG_INFO,
	    req.rid,
	    "event=http_access method=%s path=\"%s\" status=%d "
	    "latency_us=%llu",
	    ri->request_method, lp, req.status, (unsigned long long) dt);
	if (req.close_now)
		force_close(conn);
	req_fini(&req);
	atomic_fetch_sub(&srv->inflight, 1);
	return req.status > 0 && req.status < 1000 ? req.status : 500;
}

/* Errors CivetWeb answers itself (unknown method, malformed request line,
 * headers too large) get the same JSON body as ours. */
static int
http_error(struct mg_connection *conn, int status, const char *errmsg)
{
	json_t *o;
	char *text;

	if (closing)
		return 1; /* force_close: CivetWeb sends nothing more */
	o = json_pack("{s:s}", "error",
	    errmsg != NULL && *errmsg != '\0' ? errmsg : "bad request");
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return 1;
	error_sent = 1;
	rs_info(NULL, "event=http_error status=%d msg=\"%.100s\"", status,
	    errmsg != NULL ? errmsg : "");
	mg_printf(conn,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    status, mg_get_response_code_text(conn, status), strlen(text),
	    text);
	free(text);
	return 0;
}

/* "*" or an absolute URI ("scheme://host[:port]/..."): the targets
 * CivetWeb 1.15 parses but never hands to begin_request when they are not
 * for a path of this server (process_new_connection: local_uri NULL). */
static int
unrouted_target(const char *uri)
{
	const char *p;

	if (strcmp(uri, "*") == 0)
		return 1;
	p = strstr(uri, "://");
	if (p == NULL || p == uri || strchr(p + 3, '/') == NULL)
		return 0; /* CivetWeb answered 400 "Invalid URI" itself */
	for (const char *q = uri; q < p; q++) {
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
			return 0;
	}
	return 1;
}

/* CivetWeb 1.15 closes the connection without a word after a request for
 * "*" (OPTIONS * included) or for an absolute URI naming another port:
 * such a request never reaches begin_request. This hook runs just before
 * the socket is closed, with the last request still parsed, and answers
 * it: OPTIONS * -> 204 + Allow, other "*" -> 400, another server -> 421. */
static void
connection_close(const struct mg_connection *cconn)
{
	/* The hook gets a const pointer, yet the socket is still open and
	 * ours until it returns. */
	struct mg_connection *conn = (struct mg_connection *) cconn;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	rs_http *srv = mg_get_user_data(mg_get_context(conn));
	int answered = error_sent;
	const char *msg;
	char *text;
	json_t *o;
	int status;

	error_sent = 0;
	if (answered || srv == NULL || ri == NULL || ri->request_method == NULL
	    || ri->request_uri == NULL || ri->local_uri != NULL
	    || ri->http_version == NULL
	    || (strcmp(ri->http_version, "1.1") != 0
	        && strcmp(ri->http_version, "1.0") != 0)
	    || !unrouted_target(ri->request_uri))
		return;
	atomic_fetch_add(&srv->unrouted, 1);
	if (strcmp(ri->request_uri, "*") == 0
	    && strcmp(ri->request_method, "OPTIONS") == 0) {
		mg_printf(conn,
		    "HTTP/1.1 204 No Content\r\nAllow: %s\r\n"
		    "Connection: close\r\n\r\n",
		    srv->allow_all);
		rs_info(NULL,
		    "event=http_access method=OPTIONS path=\"*\" "
		    "status=204");
		return;
	}
	if (strcmp(ri->request_uri, "*") == 0) {
		status = 400;
		msg = "request target \"*\" is only valid with OPTIONS";
	} else {
		status = 421;
		msg = "absolute request target for another server (port)";
	}
	o = json_pack("{s:s}", "error", msg);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return;
	mg_printf(conn,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    status, status == 400 ? "Bad Request" : "Misdirected Request",
	    strlen(text), text);
	free(text);
	rs_info(NULL,
	    "event=http_access method=%.20s path=\"-\" status=%d "
	    "reason=unrouted_target",
	    ri->request_method, status);
}

static int
log_message(const struct mg_connection *conn, const char *message)
{
	rs_warn(NULL, "event=civetweb msg=\"%.300s\"", message);
	return 1;
}

static int
log_access(const struct mg_connection *conn, const char *message)
{
	return 1; /* we log ourselves */
}

/* ---- start / stop ------------------------------------------------------ */

static void
init_lib(void)
{
	mg_init_library(0);
}

static int
add_route(rs_http *srv, const rs_http_route *r, int builtin)
{
	struct route *rt = &srv->routes[srv->nroutes];

	rt->builtin = builtin;
	if (r->method == NULL || r->fn == NULL || r->pattern == NULL
	    || rs_http_compile(r, &rt->c) != RS_OK) {
		rs_error(NULL, "event=http_bad_route pattern=\"%s\"",
		    r->pattern != NULL ? r->pattern : "(null)");
		return RS_EINVAL;
	}
	snprintf(rt->label, sizeof(rt->label), "%s,method=\"%s\",route=\"%s\"",
	    srv->name_label, r->method, r->pattern);
	srv->nroutes++;
	return RS_OK;
}

/* What rs_http_start allocates, freed in one place: by its failures
 * (CivetWeb not started) and by rs_http_stop (CivetWeb stopped). */
static void
http_free(rs_http *srv)
{
	free(srv->routes);
	free(srv->name_label);
	free(srv);
}

void
rs_http_stop(rs_http *srv)
{
	if (srv == NULL)
		return;
	mg_stop(srv->ctx);
	rs_info(NULL, "event=http_stopped port=%d", srv->port);
	http_free(srv);
}

int
rs_http_start(const rs_http_cfg *cfg, const rs_http_route *routes,
    size_t nroutes, rs_http **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static const rs_http_route builtins[] = {
		{ "GET", "/healthz", healthz, NULL, 0 },
		{ "GET", "/metrics", metrics, NULL, 0 },
	};
	struct mg_callbacks cb;
	char listen[300], threads[16], maxreq[32], reqto[16];
	struct mg_server_port ports[4];
	rs_http *srv;
	int n, rc;

	pthread_once(&once, init_lib);
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return RS_ENOMEM;
	srv->cfg = *cfg;
	if (srv->cfg.name == NULL)
		srv->cfg.name = "rideshare";
	n = snprintf(NULL, 0, "service=\"%s\"", srv->cfg.name);
	srv->name_label = malloc((size_t) n + 1);
	srv->routes = calloc(nroutes + 2, sizeof(*srv->routes));
	rc = RS_ENOMEM;
	if (srv->name_label == NULL || srv->routes == NULL)
		goto fail;
	snprintf(
	    srv->name_label, (size_t) n + 1, "service=\"%s\"", srv->cfg.name);
	rc = RS_EINVAL;
	for (size_t i = 0; i < nroutes; i++) {
		if (add_route(srv, &routes[i], 0) != RS_OK)
			goto fail;
	}
	for (size_t i = 0; i < 2; i++) {
		if (add_route(srv, &builtins[i], 1) != RS_OK)
			goto fail;
	}
	for (size_t i = 0; i < srv->nroutes; i++)
		rs_http_allow_add(srv->allow_all, sizeof(srv->allow_all),
		    srv->routes[i].c.r.method);
	rs_http_allow_add(srv->allow_all, sizeof(srv->allow_all), "OPTIONS");
	srv->request_timeout_ms = cfg->request_timeout_ms > 0
	    ? cfg->request_timeout_ms
	    : DEFAULT_REQUEST_TIMEOUT_MS;

	snprintf(listen, sizeof(listen), "%s:%d", cfg->addr, cfg->port);
	snprintf(threads, sizeof(threads), "%d", cfg->threads);
	snprintf(maxreq, sizeof(maxreq), "%u", HEADER_LIMIT);
	snprintf(reqto, sizeof(reqto), "%d", srv->request_timeout_ms);
	/* CivetWeb's options: name, value, ..., NULL. */
	/* clang-format off */
	const char *opts[] = {
		"listening_ports", listen,
		"num_threads", threads,
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", KEEP_ALIVE_MS,
		/* The whole request line + headers within this, from the
		 * first byte: a slowloris client holds a thread for this long
		 * at most. */
		"request_timeout_ms", reqto,
		/* Absolute-form targets ("GET http://host:port/path") for our
		 * port are ours whatever the host name (RFC 9112 3.2.2);
		 * CivetWeb's check would compare the host with "mydomain.com"
		 * and drop the request. */
		"enable_auth_domain_check", "no",
		"max_request_size", maxreq,
		"tcp_nodelay", "1",
		"decode_url", "no",
		"listen_backlog", "1024",
		NULL,
	};
	/* clang-format on */

	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.log_message = log_message;
	cb.log_access = log_access;
	cb.http_error = http_error;
	cb.connection_close = connection_close;
	srv->ctx = mg_start(&cb, srv, opts);
	if (srv->ctx == NULL) {
		rs_error(NULL, "event=http_listen_failed addr=%s port=%d",
		    cfg->addr, cfg->port);
		rc = RS_EIO;
		goto fail;
	}
	memset(ports, 0, sizeof(ports));
	n = mg_get_server_ports(srv->ctx, 4, ports);
	srv->port = n > 0 ? ports[0].port : cfg->port;
	rs_info(NULL,
	    "event=http_listening addr=%s port=%d threads=%d "
	    "body_limit=%zu request_timeout_ms=%d auth=%s",
	    cfg->addr, srv->port, cfg->threads, cfg->body_limit,
	    srv->request_timeout_ms,
	    cfg->auth_token != NULL ? "bearer" : "none");
	*out = srv;
	return RS_OK;

fail:
	http_free(srv);
	return rc;
}
