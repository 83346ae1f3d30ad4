/* GET /api/v1/changes (changes.h): admission, the source copy, the
 * catch-up from the change log and the live tail. */
#include "changes.h"

#include "roster.h"
#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_op.h"
#include "rs_stop.h"
#include "rs_pbjson.h"
#include "rs_time.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The change log of a worker's database (worker/schema.c). */
#define SQL_ROWS                                               \
	"SELECT seq, epoch, event FROM changes WHERE seq > $1" \
	" AND seq <= $2 ORDER BY seq LIMIT $3"
#define SQL_FIRST \
	"SELECT min(seq), (SELECT applied_seq FROM meta) FROM changes"

/* How long a stream waits before it looks for the master again after a
 * failed query or while no master of the current term is known. */
#define RETRY_MS 100

struct rs_orch_changes {
	const rs_orch_cfg *cfg;
	rs_orch_workers *w;
	rs_orch_router *r;
	int max_streams;
	int heartbeat_ms;
	_Atomic int open; /* streams running now */
	_Atomic uint64_t opened, lines, refused_busy, refused_gone;
	rs_stop stop; /* the orchestrator is stopping: every stream ends */
};

/* One stream's connection to the master of a term. */
typedef struct source {
	char id[RS_ORCH_ID_MAX];
	uint64_t epoch;
	PGconn *db;
} source;

/* ---- pure helpers ------------------------------------------------------*/

int
rs_orch_changes_parse_since(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) > 19)
		return RS_EINVAL;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return RS_EINVAL;
		v = v * 10 + (uint64_t) (*p - '0');
	}
	if (v > (uint64_t) INT64_MAX)
		return RS_EINVAL;
	*out = v;
	return RS_OK;
}

/* The op's own message (the set member of the oneof), or NULL. */
static const ProtobufCMessage *
op_message(const Rideshare__DbRequest *req)
{
	const ProtobufCFieldDescriptor *f
	    = protobuf_c_message_descriptor_get_field(
	        &rideshare__db_request__descriptor, (unsigned) req->op_case);

	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return *(
	    const ProtobufCMessage *const *) ((const char *) req + f->offset);
}

int
rs_orch_changes_line(uint64_t seq, uint64_t epoch, const uint8_t *event,
    size_t len, rs_buf *out)
{
	Rideshare__SyncEvent *ev
	    = rideshare__sync_event__unpack(NULL, len, event);
	json_t *line = NULL, *req = NULL, *res = NULL;
	int rc = RS_EPROTO;

	if (ev == NULL || ev->seq != seq || ev->request == NULL
	    || ev->result == NULL)
		goto out;
	/* A write that came in as protobuf past the gateways (admin
	 * db/write) may hold a string that is not UTF-8, which JSON cannot
	 * carry: its line says so instead of stopping the feed at its seq. */
	bool lossy = false;
	const ProtobufCMessage *op = op_message(ev->request);
	if (op != NULL && rs_pbjson_encode(op, &req) != RS_OK) {
		req = json_null();
		lossy = true;
	}
	/* The result oneof only: ids, seq, epoch and routing are either on
	 * the line already or internal. Encoded from a copy of the header
	 * with those fields cleared (the unpacked strings stay owned by ev).
	 */
	Rideshare__DbResponse only = *ev->result;
	only.request_id = only.error = only.worker_id = NULL;
	only.reply_to = only.fingerprint = NULL;
	only.status = RIDESHARE__STATUS__OK;
	only.seq = only.epoch = 0;
	if (rs_pbjson_encode(&only.base, &res) != RS_OK) {
		res = NULL;
		lossy = true;
	}
	line = json_object();
	json_object_set_new(line, "seq", json_integer((json_int_t) seq));
	json_object_set_new(line, "epoch", json_integer((json_int_t) epoch));
	json_t *rid = json_string(
	    ev->request->request_id ? ev->request->request_id : "");
	json_object_set_new(line, "request_id", rid ? rid : json_null());
	json_object_set_new(
	    line, "op", json_string(rs_op_name(ev->request->op_case)));
	json_object_set_new(line, "request", req ? req : json_object());
	req = NULL;
	json_object_set_new(
	    line, "status", json_string(rs_status_name(ev->result->status)));
	if (res != NULL && json_object_size(res) > 0) {
		json_object_set_new(line, "result", res);
		res = NULL;
	}
	const char *error = ev->result->error;
	if (error != NULL && error[0] != '\0') {
		json_t *e = json_string(error);
		json_object_set_new(line, "error", e ? e : json_null());
	}
	if (lossy)
		json_object_set_new(line, "not_json",
		    json_string("a field is not valid UTF-8: request or "
		                "result left out"));
	char *text = json_dumps(line, JSON_COMPACT);
	if (text == NULL) {
		rc = RS_ENOMEM;
		goto out;
	}
	rs_buf_append(out, text, strlen(text));
	rs_buf_append(out, "\n", 1);
	free(text);
	rc = out->err != 0 ? RS_ENOMEM : RS_OK;
out:
	json_decref(line);
	json_decref(req);
	json_decref(res);
	if (ev != NULL)
		rideshare__sync_event__free_unpacked(ev, NULL);
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------*/

int
rs_orch_changes_create(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_router *r, rs_orch_changes **out)
{
	rs_orch_changes *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return RS_ENOMEM;
	c->cfg = cfg;
	c->w = w;
	c->r = r;
	c->max_streams = (int) rs_cfg_long("RIDESHARE_CHANGES_MAX_STREAMS",
	    RS_ORCH_CHANGES_MAX_STREAMS, 1, 4096);
	c->heartbeat_ms = (int) rs_cfg_long("RIDESHARE_CHANGES_HEARTBEAT_MS",
	    RS_ORCH_CHANGES_HEARTBEAT_MS, 100, 3600000);
	rs_stop_init(&c->stop);
	*out = c;
	return RS_OK;
}

void
rs_orch_changes_stop(rs_orch_changes *c)
{
	if (c == NULL)
		return;
	rs_stop_signal(&c->stop);
}

void
rs_orch_changes_destroy(rs_orch_changes *c)
{
	if (c == NULL)
		return;
	rs_stop_fini(&c->stop);
	free(c);
}

/* ---- the source copy ---------------------------------------------------*/

static void
source_close(source *s)
{
	if (s->db != NULL)
		PQfinish(s->db);
	s->db = NULL;
	s->id[0] = '\0';
}

/* Makes s the database of the master of term >= min_epoch (promotion
 * done). RS_OK, RS_EAGAIN while there is none (failover), RS_ECONN. */
static int
source_open(rs_orch_changes *c, source *s, uint64_t min_epoch, const char *rid)
{
	rs_orch_worker t[RS_ORCH_MAX_WORKERS];
	char master[RS_ORCH_ID_MAX], dbname[128];
	char *conninfo = NULL;
	size_t n
	    = rs_orch_workers_snapshot(c->w, t, RS_ORCH_MAX_WORKERS, master);
	int m = rs_orch_roster_master(t, n, master, true);

	if (m < 0 || t[m].epoch == 0 || t[m].epoch < min_epoch)
		return RS_EAGAIN;
	if (s->db != NULL && strcmp(s->id, t[m].id) == 0
	    && PQstatus(s->db) == CONNECTION_OK) {
		s->epoch = t[m].epoch;
		return RS_OK;
	}
	source_close(s);
	rs_db_worker_dbname(t[m].id, dbname, sizeof(dbname));
	if (rs_db_conninfo_with_db(c->cfg->pg_conninfo, dbname, &conninfo)
	    != RS_OK)
		return RS_ENOMEM;
	int rc = rs_db_connect(conninfo, &s->db);
	free(conninfo);
	if (rc != RS_OK) {
		s->db = NULL;
		return RS_ECONN;
	}
	snprintf(s->id, sizeof(s->id), "%s", t[m].id);
	s->epoch = t[m].epoch;
	rs_info(rid, "event=changes_source worker=%s epoch=%" PRIu64, s->id,
	    s->epoch);
	return RS_OK;
}

/* The oldest seq the source's log holds (applied_seq + 1 when it is
 * empty) and its applied seq. */
static int
source_first(source *s, uint64_t *first, uint64_t *applied)
{
	PGresult *res = NULL;

	if (rs_db_query(s->db, SQL_FIRST, 0, NULL, &res) != RS_OK)
		return RS_EDB;
	*applied = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	*first = PQgetisnull(res, 0, 0)
	    ? *applied + 1
	    : strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return RS_OK;
}

/* Rows (after, upto], at most RS_ORCH_CHANGES_BATCH, binary results. */
static int
source_rows(source *s, uint64_t after, uint64_t upto, PGresult **out)
{
	char a[24], u[24], l[24];
	const char *p[3] = { a, u, l };

	snprintf(a, sizeof(a), "%" PRIu64, after);
	snprintf(u, sizeof(u), "%" PRIu64, upto);
	snprintf(l, sizeof(l), "%d", RS_ORCH_CHANGES_BATCH);
	PGresult *res
	    = PQexecParams(s->db, SQL_ROWS, 3, NULL, p, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rs_warn(NULL, "event=changes_query_failed err=\"%s\"",
		    PQresultErrorMessage(res));
		PQclear(res);
		return RS_EDB;
	}
	*out = res;
	return RS_OK;
}

/* ---- the stream --------------------------------------------------------*/

typedef struct stream {
	rs_orch_changes *c;
	rs_http_req *req;
	const char *rid;
	source src;
	uint64_t last; /* seq of the last line sent */
	uint64_t sent;
	int64_t wrote_ms; /* last write, for keep-alives */
	rs_buf out;
} stream;

static int
flush(stream *st)
{
	int rc = rs_http_stream_write(st->req, st->out.data, st->out.len);

	st->out.len = 0;
	if (st->out.data != NULL)
		st->out.data[0] = '\0';
	st->wrote_ms = rs_time_now_ms();
	return rc;
}

/* The last line of a stream that cannot go on in order. */
static void
end_gone(stream *st, uint64_t first)
{
	rs_buf_printf(&st->out,
	    "{\"error\":\"seq %" PRIu64 " is no longer held (the oldest held "
	    "is %" PRIu64 "): resume from a newer since or start over\","
	    "\"code\":410,\"next_seq\":%" PRIu64 "}\n",
	    st->last + 1, first, st->last + 1);
	(void) flush(st);
	atomic_fetch_add(&st->c->refused_gone, 1);
	rs_warn(st->rid,
	    "event=changes_stream_gone next_seq=%" PRIu64
	    " first_held=%" PRIu64,
	    st->last + 1, first);
}

/* Sends the committed rows after st->last. RS_OK (maybe nothing new),
 * RS_EAGAIN (no source now: retry), RS_ECLOSED (client gone or the stream
 * ended). */
static int
step(stream *st)
{
	uint64_t commit, cepoch;
	PGresult *res = NULL;
	int rc;

	rs_orch_router_commit_point(st->c->r, &commit, &cepoch);
	if (commit <= st->last)
		return RS_OK;
	/* Only a master of a term at least that of every reply commit covers
	 * holds those seqs as they were acknowledged (changes.h). */
	if ((rc = source_open(st->c, &st->src, cepoch, st->rid)) != RS_OK)
		return RS_EAGAIN;
	if (source_rows(&st->src, st->last, commit, &res) != RS_OK) {
		source_close(&st->src);
		return RS_EAGAIN;
	}
	int n = PQntuples(res);
	bool broke = false;
	for (int i = 0; i < n; i++) {
		uint64_t seq = rs_db_int8(res, i, 0);
		if (seq != st->last + 1) {
			broke = true; /* a hole: looked at below */
			break;
		}
		rc = rs_orch_changes_line(seq, rs_db_int8(res, i, 1),
		    (const uint8_t *) PQgetvalue(res, i, 2),
		    (size_t) PQgetlength(res, i, 2), &st->out);
		if (rc != RS_OK) {
			rs_error(st->rid,
			    "event=changes_bad_row seq=%" PRIu64 " err=%s",
			    seq, rs_strerror(rc));
			PQclear(res);
			return RS_ECLOSED;
		}
		st->last = seq;
		st->sent++;
	}
	/* Short of commit with no more rows to come from this result. */
	bool hole = st->last < commit && (broke || n < RS_ORCH_CHANGES_BATCH);
	PQclear(res);
	if (st->out.len > 0 && flush(st) != RS_OK)
		return RS_ECLOSED;
	if (hole) {
		/* The next seq is committed but not in the log: pruned under
		 * a slow reader, or a copy from before the log existed. */
		uint64_t first, applied;
		if (source_first(&st->src, &first, &applied) != RS_OK) {
			source_close(&st->src);
			return RS_EAGAIN;
		}
		if (first > st->last + 1) {
			end_gone(st, first);
			return RS_ECLOSED;
		}
		return RS_EAGAIN; /* not visible yet on this copy: retry */
	}
	return RS_OK;
}

/* Admission checks and the answer before the stream: RS_OK when the
 * stream may start (st->src open), else the reply went out. */
static int
admit(stream *st, uint64_t since)
{
	rs_orch_changes *c = st->c;
	uint64_t commit, cepoch, first, applied;

	rs_orch_router_commit_point(c->r, &commit, &cepoch);
	if (source_open(c, &st->src, cepoch, st->rid) != RS_OK
	    || source_first(&st->src, &first, &applied) != RS_OK) {
		rs_http_add_header(st->req, "Retry-After", "1");
		rs_http_reply_error(st->req, 503,
		    "no master of the current term to read the change log "
		    "from (failover or start-up in progress): retry");
		return RS_EAGAIN;
	}
	uint64_t newest = commit > applied ? commit : applied;
	if (since > newest) {
		rs_http_reply_error(st->req, 400,
		    "since %" PRIu64
		    " is beyond the newest committed seq %" PRIu64,
		    since, newest);
		return RS_EINVAL;
	}
	if (since + 1 < first) {
		json_t *j = json_pack("{s:s,s:I,s:I}", "error",
		    "since is older than the change log holds: start from "
		    "first_held - 1 or later (RIDESHARE_CHANGES_KEEP)",
		    "since", (json_int_t) since, "first_held",
		    (json_int_t) first);
		atomic_fetch_add(&c->refused_gone, 1);
		rs_http_reply_json(st->req, 410, j);
		return RS_ENOTFOUND;
	}
	return RS_OK;
}

static void
run(stream *st)
{
	rs_orch_changes *c = st->c;

	st->wrote_ms = rs_time_now_ms();
	while (!rs_stop_signalled(&c->stop)) {
		uint64_t before = st->sent;
		int rc = step(st);
		if (rc == RS_ECLOSED)
			return;
		atomic_fetch_add(&c->lines, st->sent - before);
		if (st->sent > before)
			continue; /* maybe more rows: no sleep */
		if (rs_time_now_ms() - st->wrote_ms >= c->heartbeat_ms) {
			rs_buf_append(&st->out, "\n", 1);
			if (flush(st) != RS_OK)
				return;
		}
		if (!rs_stop_sleep_ms(&c->stop,
		        rc == RS_EAGAIN ? RETRY_MS : RS_ORCH_CHANGES_POLL_MS))
			return;
	}
}

void
rs_orch_changes_handle(rs_http_req *req, void *arg)
{
	rs_orch_changes *c = arg;
	stream st;
	const char *v;
	uint64_t since = 0;
	int rc;

	rc = rs_http_query(req, "since", &v, NULL);
	if (rc == RS_OK && rs_orch_changes_parse_since(v, &since) != RS_OK)
		rc = RS_EINVAL;
	if (rc == RS_EINVAL) {
		rs_http_reply_error(req, 400,
		    "since must be a seq: a decimal integer 0..%" PRId64,
		    INT64_MAX);
		return;
	}
	if (rs_stop_signalled(&c->stop)) {
		rs_http_reply_error(req, 503, "shutting down");
		return;
	}
	if (atomic_fetch_add(&c->open, 1) >= c->max_streams) {
		atomic_fetch_sub(&c->open, 1);
		atomic_fetch_add(&c->refused_busy, 1);
		rs_http_add_header(req, "Retry-After", "5");
		rs_http_reply_error(req, 503,
		    "too many change streams open (%d, "
		    "RIDESHARE_CHANGES_MAX_STREAMS): retry later",
		    c->max_streams);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.c = c;
	st.req = req;
	st.rid = rs_http_rid(req);
	st.last = since;
	if (admit(&st, since) == RS_OK
	    && rs_http_stream_start(req, 200, "application/x-ndjson")
	        == RS_OK) {
		atomic_fetch_add(&c->opened, 1);
		rs_info(st.rid,
		    "event=changes_stream_open since=%" PRIu64 " source=%s",
		    since, st.src.id);
		run(&st);
		rs_info(st.rid,
		    "event=changes_stream_closed since=%" PRIu64
		    " last=%" PRIu64 " lines=%" PRIu64 " reason=%s",
		    since, st.last, st.sent,
		    rs_stop_signalled(&c->stop) ? "shutdown"
		                                : "client_or_end");
	}
	source_close(&st.src);
	rs_buf_fini(&st.out);
	atomic_fetch_sub(&c->open, 1);
}

/* ---- /metrics ----------------------------------------------------------*/

void
rs_orch_changes_metrics(rs_orch_changes *c, rs_buf *out)
{
	rs_metrics_one(out, "rideshare_changes_streams_open", "gauge",
	    "Change feed streams open now.", (double) atomic_load(&c->open));
	rs_metrics_one(out, "rideshare_changes_streams_total", "counter",
	    "Change feed streams started.", (double) atomic_load(&c->opened));
	rs_metrics_one(out, "rideshare_changes_lines_total", "counter",
	    "Change feed lines sent (one per write).",
	    (double) atomic_load(&c->lines));
	rs_metrics_help(out, "rideshare_changes_refused_total", "counter",
	    "Change feed requests refused: busy (503, too many streams), gone "
	    "(410, since no longer held).");
	rs_metrics_line(out, "rideshare_changes_refused_total",
	    "reason=\"busy\"", (double) atomic_load(&c->refused_busy));
	rs_metrics_line(out, "rideshare_changes_refused_total",
	    "reason=\"gone\"", (double) atomic_load(&c->refused_gone));
}
