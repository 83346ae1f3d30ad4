#include "store.h"

#include "rs_buf.h"
#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"
#include "schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rs_worker_store_load(PGconn *db, rs_worker_meta *m)
{
	PGresult *res;
	if (rs_worker_db_q(db, "m_get", 0, NULL, &res) != RS_OK)
		return RS_EDB;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return RS_EDB;
	}
	m->applied_seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	m->epoch = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	m->next_ride_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return RS_OK;
}

int
rs_worker_store_save(PGconn *db, const rs_worker_meta *m)
{
	char a[24], e[24], n[24];
	snprintf(a, sizeof(a), "%" PRIu64, m->applied_seq);
	snprintf(e, sizeof(e), "%" PRIu64, m->epoch);
	snprintf(n, sizeof(n), "%" PRId64, m->next_ride_id);
	const char *p[3] = { a, e, n };
	return rs_worker_db_q(db, "m_set", 3, p, NULL);
}

/* The reply of an a_get row (res row 0), or RS_ENOTFOUND without one. */
static int
lookup_result(PGresult *res, uint64_t *seq, Rideshare__DbResponse **resp)
{
	if (PQntuples(res) == 0)
		return RS_ENOTFOUND;
	Rideshare__DbResponse *r = rideshare__db_response__unpack(NULL,
	    PQgetlength(res, 0, 1), (const uint8_t *) PQgetvalue(res, 0, 1));
	*seq = (uint64_t) rs_db_int8(res, 0, 0);
	if (r == NULL)
		return RS_EPROTO;
	*resp = r;
	return RS_OK;
}

int
rs_worker_store_lookup(PGconn *db, const char *request_id, uint64_t *seq,
    Rideshare__DbResponse **resp)
{
	const char *p[1] = { request_id };
	PGresult *res;

	if (rs_worker_db_run(db, "a_get", 1, p, NULL, 0, 1, &res) != RS_OK)
		return RS_EDB;
	int rc = lookup_result(res, seq, resp);
	PQclear(res);
	return rc;
}

/* ids[0..n) (NULLs skipped) as a text[] literal, each element quoted
 * (an id "NULL" must stay a string; rs_id_valid ids hold no quote or
 * backslash); NULL when out of memory. *k: how many. */
static char *
id_array(int n, const char *const *ids, int *k)
{
	size_t cap = 3;

	*k = 0;
	for (int i = 0; i < n; i++)
		if (ids[i] != NULL)
			cap += strlen(ids[i]) + 3;
	char *lit = malloc(cap), *at = lit;
	if (lit == NULL)
		return NULL;
	*at++ = '{';
	for (int i = 0; i < n; i++) {
		if (ids[i] == NULL)
			continue;
		size_t len = strlen(ids[i]);
		if (*k > 0)
			*at++ = ',';
		*at++ = '"';
		memcpy(at, ids[i], len);
		at += len;
		*at++ = '"';
		(*k)++;
	}
	*at++ = '}';
	*at = '\0';
	return lit;
}

int
rs_worker_store_lookup_many(PGconn *db, bool begin, int n,
    const char *const *ids, uint64_t *seqs, Rideshare__DbResponse **resps)
{
	rs_worker_db_stmt st[3]
	    = { { .sql = "BEGIN" }, { .sql = RS_WORKER_WRITE_PLANS } };
	int k, nst = begin ? 2 : 0, rc = RS_OK;

	for (int i = 0; i < n; i++)
		resps[i] = NULL;
	char *lit = id_array(n, ids, &k);
	if (lit == NULL)
		return RS_ENOMEM;
	if (k > 0)
		st[nst++] = (rs_worker_db_stmt) { .name = "a_get_many",
			.n = 1,
			.params = { lit },
			.bin_result = 1,
			.keep = true };
	if (nst > 0)
		rc = rs_worker_db_pipeline(db, st, nst);
	free(lit);
	PGresult *res = k > 0 ? st[nst - 1].res : NULL;
	/* Few rows (dedupe hits are rare): each matched to its items. */
	for (int r = 0; rc == RS_OK && res != NULL && r < PQntuples(res);
	     r++) {
		/* Binary text: its bytes, compared by length. */
		const char *rid = PQgetvalue(res, r, 0);
		size_t len = (size_t) PQgetlength(res, r, 0);
		for (int i = 0; i < n && rc == RS_OK; i++) {
			if (ids[i] == NULL || strlen(ids[i]) != len
			    || memcmp(ids[i], rid, len) != 0)
				continue;
			resps[i] = rideshare__db_response__unpack(NULL,
			    PQgetlength(res, r, 2),
			    (const uint8_t *) PQgetvalue(res, r, 2));
			seqs[i] = (uint64_t) rs_db_int8(res, r, 1);
			if (resps[i] == NULL)
				rc = RS_EPROTO;
		}
	}
	PQclear(res);
	if (rc != RS_OK)
		for (int i = 0; i < n; i++) {
			if (resps[i] != NULL)
				rideshare__db_response__free_unpacked(
				    resps[i], NULL);
			resps[i] = NULL;
		}
	return rc;
}

/* One deferred statement (rs_worker_tail). */
struct rs_worker_tail_row {
	const char *name;
	int n;
	char a[24], b[24];
	char *rid; /* owned copy */
	uint8_t *bin; /* owned */
	int bin_len;
	uint64_t seq; /* a_insert rows: the recorded seq */
};

static struct rs_worker_tail_row *
tail_add(rs_worker_tail *t, const char *name)
{
	if (t->n == t->cap) {
		int cap = t->cap ? 2 * t->cap : 64;
		void *p = realloc(t->rows, (size_t) cap * sizeof(*t->rows));
		if (p == NULL)
			return NULL;
		t->rows = p;
		t->cap = cap;
	}
	struct rs_worker_tail_row *r = &t->rows[t->n];
	memset(r, 0, sizeof(*r));
	r->name = name;
	return r;
}

void
rs_worker_tail_reset(rs_worker_tail *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->rows[i].rid);
		free(t->rows[i].bin);
	}
	t->n = 0;
}

void
rs_worker_tail_fini(rs_worker_tail *t)
{
	rs_worker_tail_reset(t);
	free(t->rows);
	t->rows = NULL;
	t->cap = 0;
}

int
rs_worker_tail_record(rs_worker_tail *t, const char *request_id, uint64_t seq,
    const Rideshare__DbResponse *resp)
{
	struct rs_worker_tail_row *r = tail_add(t, "a_insert");
	size_t len = rideshare__db_response__get_packed_size(resp);

	if (r == NULL)
		return RS_ENOMEM;
	r->rid = strdup(request_id);
	r->bin = malloc(len > 0 ? len : 1);
	if (r->rid == NULL || r->bin == NULL) {
		free(r->rid);
		free(r->bin);
		return RS_ENOMEM;
	}
	rideshare__db_response__pack(resp, r->bin);
	r->bin_len = (int) len;
	r->seq = seq;
	r->n = 3;
	snprintf(r->a, sizeof(r->a), "%" PRIu64, seq);
	t->n++;
	return RS_OK;
}

bool
rs_worker_tail_recorded(
    const rs_worker_tail *t, const char *request_id, uint64_t *seq)
{
	for (int i = t->n - 1; i >= 0; i--)
		if (t->rows[i].rid != NULL
		    && strcmp(t->rows[i].rid, request_id) == 0) {
			*seq = t->rows[i].seq;
			return true;
		}
	return false;
}

int
rs_worker_tail_change(rs_worker_tail *t, uint64_t epoch, uint64_t seq,
    Rideshare__DbRequest *req, Rideshare__DbResponse *resp, long keep)
{
	Rideshare__SyncEvent ev = RIDESHARE__SYNC_EVENT__INIT;
	struct rs_worker_tail_row *r = tail_add(t, "ch_insert");

	if (r == NULL)
		return RS_ENOMEM;
	ev.epoch = epoch;
	ev.seq = seq;
	ev.request = req;
	ev.result = resp;
	size_t len = rideshare__sync_event__get_packed_size(&ev);
	if ((r->bin = malloc(len > 0 ? len : 1)) == NULL)
		return RS_ENOMEM;
	rideshare__sync_event__pack(&ev, r->bin);
	r->bin_len = (int) len;
	r->n = 3;
	snprintf(r->a, sizeof(r->a), "%" PRIu64, seq);
	snprintf(r->b, sizeof(r->b), "%" PRIu64, epoch);
	t->n++;
	if (seq % RS_WORKER_CHANGES_PRUNE_EVERY != 0 || seq <= (uint64_t) keep)
		return RS_OK;
	if ((r = tail_add(t, "ch_prune")) == NULL)
		return RS_ENOMEM;
	r->n = 1;
	snprintf(r->a, sizeof(r->a), "%" PRIu64, seq - (uint64_t) keep);
	t->n++;
	return RS_OK;
}

/* One element of a bytea[] literal: quoted hex, "\\x0a1b" (the array
 * parser turns the doubled backslash into the one bytea's hex input
 * starts with). */
static void
bytea_elem(rs_buf *b, const uint8_t *p, int len)
{
	static const char hex[] = "0123456789abcdef";
	char two[2];

	rs_buf_append(b, "\"\\\\x", 4);
	for (int i = 0; i < len; i++) {
		two[0] = hex[p[i] >> 4];
		two[1] = hex[p[i] & 15];
		rs_buf_append(b, two, 2);
	}
	rs_buf_append(b, "\"", 1);
}

/* The three array literals of one *_insert_many statement over the rows
 * named name: a_insert (request_id, seq, response) or ch_insert (seq,
 * epoch, event). Each row's fields are what tail_commit would bind;
 * request ids (rs_id_valid) need no escaping inside quotes. */
static int
many_params(const rs_worker_tail *t, const char *name, rs_buf lit[3])
{
	bool ids = strcmp(name, "a_insert") == 0;
	int k = 0;

	for (int j = 0; j < 3; j++)
		rs_buf_append(&lit[j], "{", 1);
	for (int i = 0; i < t->n; i++) {
		const struct rs_worker_tail_row *r = &t->rows[i];
		if (strcmp(r->name, name) != 0)
			continue;
		if (k++ > 0)
			for (int j = 0; j < 3; j++)
				rs_buf_append(&lit[j], ",", 1);
		if (ids)
			rs_buf_printf(&lit[0], "\"%s\"", r->rid);
		else
			rs_buf_printf(&lit[0], "%s", r->a);
		rs_buf_printf(&lit[1], "%s", ids ? r->a : r->b);
		bytea_elem(&lit[2], r->bin, r->bin_len);
	}
	int err = 0;
	for (int j = 0; j < 3; j++) {
		rs_buf_append(&lit[j], "}", 1);
		err |= lit[j].err;
	}
	return err != 0 ? RS_ENOMEM : RS_OK;
}

/* How many rows of t are named name. */
static int
count_rows(const rs_worker_tail *t, const char *name)
{
	int k = 0;

	for (int i = 0; i < t->n; i++)
		k += strcmp(t->rows[i].name, name) == 0;
	return k;
}

int
rs_worker_tail_commit(PGconn *db, rs_worker_tail *t, const rs_worker_meta *m)
{
	/* Several a_insert / ch_insert rows: one statement each (arrays);
	 * one row: the plain statement (binary bytea, nothing to encode).
	 * Order does not matter inside the transaction: the ch_prune rows
	 * drop seqs far below the ones inserted. */
	static const char *const many[2][2]
	    = { { "a_insert", "a_insert_many" },
		      { "ch_insert", "ch_insert_many" } };
	rs_buf lit[2][3] = { { RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT },
		{ RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT } };
	bool grouped[2];
	int n = t->n + 2 + 2;
	rs_worker_db_stmt *st = calloc((size_t) n, sizeof(*st));
	char a[24], e[24], nr[24];
	int k = 0, rc = RS_OK;

	if (st == NULL) {
		rs_worker_tail_reset(t);
		return RS_ENOMEM;
	}
	for (int g = 0; g < 2 && rc == RS_OK; g++) {
		grouped[g] = count_rows(t, many[g][0]) > 1;
		if (!grouped[g])
			continue;
		rc = many_params(t, many[g][0], lit[g]);
		st[k++] = (rs_worker_db_stmt) { .name = many[g][1],
			.n = 3,
			.params
			= { lit[g][0].data, lit[g][1].data, lit[g][2].data } };
	}
	for (int i = 0; i < t->n && rc == RS_OK; i++) {
		struct rs_worker_tail_row *r = &t->rows[i];
		if ((grouped[0] && strcmp(r->name, many[0][0]) == 0)
		    || (grouped[1] && strcmp(r->name, many[1][0]) == 0))
			continue;
		st[k].name = r->name;
		st[k].n = r->n;
		if (r->rid != NULL) { /* a_insert: request_id, seq, response */
			st[k].params[0] = r->rid;
			st[k].params[1] = r->a;
		} else { /* ch_insert: seq, epoch, event; ch_prune: seq */
			st[k].params[0] = r->a;
			st[k].params[1] = r->b;
		}
		st[k].bin_last = r->bin;
		st[k].bin_len = r->bin_len;
		k++;
	}
	snprintf(a, sizeof(a), "%" PRIu64, m->applied_seq);
	snprintf(e, sizeof(e), "%" PRIu64, m->epoch);
	snprintf(nr, sizeof(nr), "%" PRId64, m->next_ride_id);
	st[k++] = (rs_worker_db_stmt) {
		.name = "m_set", .n = 3, .params = { a, e, nr }
	};
	st[k++] = (rs_worker_db_stmt) { .sql = "COMMIT" };
	if (rc == RS_OK)
		rc = rs_worker_db_pipeline(db, st, k);
	free(st);
	for (int g = 0; g < 2; g++)
		for (int j = 0; j < 3; j++)
			rs_buf_fini(&lit[g][j]);
	rs_worker_tail_reset(t);
	return rc;
}

long
rs_worker_changes_keep(void)
{
	static long keep;

	if (keep == 0)
		keep = rs_cfg_long("RIDESHARE_CHANGES_KEEP",
		    RS_WORKER_CHANGES_KEEP, RS_WORKER_CHANGES_PRUNE_EVERY,
		    1000000000L);
	return keep;
}

int
rs_worker_store_prune(PGconn *db, long ttl_s, int64_t *last_ms)
{
	int64_t now = rs_time_now_ms();
	char t[24];
	PGresult *res = NULL;

	if (*last_ms != 0 && now - *last_ms < 60000)
		return RS_OK;
	*last_ms = now;
	snprintf(t, sizeof(t), "%ld", ttl_s);
	const char *p[1] = { t };
	int rc = rs_worker_db_q(db, "a_prune", 1, p, &res);
	if (rc == RS_OK && atoi(PQcmdTuples(res)) > 0)
		rs_info(NULL, "event=idempotency_pruned rows=%s ttl_s=%ld",
		    PQcmdTuples(res), ttl_s);
	PQclear(res);
	return rc;
}

int
rs_worker_store_refresh_plans(PGconn *db, int64_t *last_ms)
{
	int64_t now = rs_time_now_ms();

	if (*last_ms != 0 && now - *last_ms < RS_WORKER_PLAN_REFRESH_MS)
		return RS_OK;
	*last_ms = now;
	return rs_db_exec(db, "DISCARD PLANS");
}

int
rs_worker_store_begin(PGconn *db)
{
	return rs_db_exec(db, "BEGIN; " RS_WORKER_WRITE_PLANS);
}

int
rs_worker_store_commit(PGconn *db)
{
	return rs_db_exec(db, "COMMIT");
}

void
rs_worker_store_rollback(PGconn *db)
{
	if (PQstatus(db) == CONNECTION_OK)
		(void) rs_db_exec(db, "ROLLBACK");
}
