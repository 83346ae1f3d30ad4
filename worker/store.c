#include "store.h"

#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"
#include "schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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

int
rs_worker_store_lookup(PGconn *db, const char *request_id, uint64_t *seq,
    Rideshare__DbResponse **resp)
{
	const char *p[1] = { request_id };
	PGresult *res;

	if (rs_worker_db_run(db, "a_get", 1, p, NULL, 0, 1, &res) != RS_OK)
		return RS_EDB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return RS_ENOTFOUND;
	}
	Rideshare__DbResponse *r = rideshare__db_response__unpack(NULL,
	    PQgetlength(res, 0, 1), (const uint8_t *) PQgetvalue(res, 0, 1));
	*seq = rs_db_int8(res, 0, 0);
	PQclear(res);
	if (r == NULL)
		return RS_EPROTO;
	*resp = r;
	return RS_OK;
}

int
rs_worker_store_record(PGconn *db, const char *request_id, uint64_t seq,
    const Rideshare__DbResponse *resp)
{
	size_t len = rideshare__db_response__get_packed_size(resp);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	char s[24];
	int rc;

	if (buf == NULL)
		return RS_ENOMEM;
	rideshare__db_response__pack(resp, buf);
	snprintf(s, sizeof(s), "%" PRIu64, seq);
	const char *p[3] = { request_id, s, NULL };
	rc = rs_worker_db_run(db, "a_insert", 3, p, buf, (int) len, 0, NULL);
	free(buf);
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
rs_worker_store_change(PGconn *db, uint64_t epoch, uint64_t seq,
    Rideshare__DbRequest *req, Rideshare__DbResponse *resp, long keep)
{
	Rideshare__SyncEvent ev = RIDESHARE__SYNC_EVENT__INIT;
	char s[24], e[24];
	int rc;

	ev.epoch = epoch;
	ev.seq = seq;
	ev.request = req;
	ev.result = resp;
	size_t len = rideshare__sync_event__get_packed_size(&ev);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return RS_ENOMEM;
	rideshare__sync_event__pack(&ev, buf);
	snprintf(s, sizeof(s), "%" PRIu64, seq);
	snprintf(e, sizeof(e), "%" PRIu64, epoch);
	const char *p[3] = { s, e, NULL };
	rc = rs_worker_db_run(db, "ch_insert", 3, p, buf, (int) len, 0, NULL);
	free(buf);
	if (rc != RS_OK || seq % RS_WORKER_CHANGES_PRUNE_EVERY != 0
	    || seq <= (uint64_t) keep)
		return rc;
	snprintf(s, sizeof(s), "%" PRIu64, seq - (uint64_t) keep);
	const char *q[1] = { s };
	return rs_worker_db_q(db, "ch_prune", 1, q, NULL);
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
rs_worker_store_begin(PGconn *db)
{
	return rs_db_exec(db, "BEGIN");
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
