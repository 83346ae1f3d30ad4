/* PostgreSQL helpers on libpq: connect with back-off, checked statements,
 * the last SQLSTATE per thread, database create/drop that tolerate races. */
#include "rs_db.h"
#include "rs_buf.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_names.h"
#include "rs_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_TIMEOUT_S "5"
#define DBNAME_MAX        63 /* NAMEDATALEN - 1: longer names are truncated */
#define CREATE_TRIES      10

static _Thread_local char last_state[6];

/* libpq messages end with a newline; our log lines must not. */
static void
one_line(const char *in, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; in != NULL && in[i] != '\0' && n < cap - 1; i++) {
		char c = in[i];

		if (c == '"')
			c = '\'';
		else if (c == '\n' || c == '\t' || c == '\r')
			c = ' ';
		/* Collapse the runs of blanks libpq indents with. */
		if (c == ' ' && n > 0 && out[n - 1] == ' ')
			continue;
		out[n++] = c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
notice(void *arg, const char *message)
{
	char m[512];

	(void) arg;
	one_line(message, m, sizeof(m));
	rs_debug(NULL, "event=pg_notice msg=\"%s\"", m);
}

/* One attempt; the failure is logged at lvl and kept in why (may be NULL). */
static int
db_open(const char *conninfo, enum rs_log_level lvl, char *why, size_t whylen,
    PGconn **out)
{
	/* connect_timeout first: the conninfo, expanded in place of
	 * dbname, overrides it when it sets its own. */
	const char *const keys[] = { "connect_timeout", "dbname", NULL };
	const char *const vals[] = { CONNECT_TIMEOUT_S, conninfo, NULL };
	char m[512];
	PGconn *db;

	if (conninfo == NULL)
		return RS_EINVAL;
	db = PQconnectdbParams(keys, vals, 1);
	if (db == NULL)
		return RS_ENOMEM;
	if (PQstatus(db) != CONNECTION_OK) {
		one_line(PQerrorMessage(db), m, sizeof(m));
		rs_log(lvl, NULL, "event=pg_connect_failed error=\"%s\"", m);
		if (why != NULL)
			snprintf(why, whylen, "%s", m);
		PQfinish(db);
		return RS_ECONN;
	}
	PQsetNoticeProcessor(db, notice, NULL);
	*out = db;
	return RS_OK;
}

int
rs_db_connect(const char *conninfo, PGconn **out)
{
	return db_open(conninfo, RS_LOG_ERROR, NULL, 0, out);
}

int
rs_db_connect_retry(const char *conninfo, int max_wait_ms, PGconn **out)
{
	int64_t deadline = rs_time_deadline(max_wait_ms > 0 ? max_wait_ms : 0);
	int64_t backoff = 50;
	int attempts = 0, rc;
	char why[512] = "";

	for (;;) {
		attempts++;
		rc = db_open(conninfo, RS_LOG_DEBUG, why, sizeof(why), out);
		if (rc == RS_OK)
			return RS_OK;
		if (rc != RS_ECONN)
			return rc;
		if (!rs_time_backoff_sleep(&backoff, 1000, deadline))
			break;
	}
	rs_warn(NULL,
	    "event=pg_connect_gave_up attempts=%d waited_ms=%d last=\"%s\"",
	    attempts, max_wait_ms, why);
	return RS_ETIMEDOUT;
}

const char *
rs_db_last_sqlstate(void)
{
	return last_state;
}

/* Integrity violations and serialization failures are outcomes callers
 * expect and map to statuses; everything else is an error worth a line. */
static enum rs_log_level
level_for(const char *state, bool quiet)
{
	if (quiet || strncmp(state, "23", 2) == 0
	    || strncmp(state, "40", 2) == 0)
		return RS_LOG_DEBUG;
	return RS_LOG_ERROR;
}

/* Runs sql (with params when nparams >= 0), checks the result status and
 * records the SQLSTATE of a failure. */
static int
run(PGconn *db, const char *sql, int nparams, const char *const *params,
    PGresult **out, bool quiet)
{
	PGresult *res;
	ExecStatusType st;
	const char *state;
	char m[512];

	last_state[0] = '\0';
	if (db == NULL || sql == NULL)
		return RS_EINVAL;
	if (nparams < 0)
		res = PQexec(db, sql);
	else
		res = PQexecParams(
		    db, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
		if (out != NULL)
			*out = res;
		else
			PQclear(res);
		return RS_OK;
	}
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state != NULL) {
		strncpy(last_state, state, sizeof(last_state) - 1);
		last_state[sizeof(last_state) - 1] = '\0';
	}
	one_line(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db),
	    m, sizeof(m));
	if (m[0] == '\0')
		one_line(PQerrorMessage(db), m, sizeof(m));
	PQclear(res);
	if (PQstatus(db) == CONNECTION_BAD) {
		rs_error(NULL, "event=pg_connection_lost error=\"%s\"", m);
		return RS_ECONN;
	}
	rs_log(level_for(last_state, quiet), NULL,
	    "event=pg_error sqlstate=%s status=%s error=\"%s\"",
	    last_state[0] ? last_state : "-", PQresStatus(st), m);
	return RS_EDB;
}

int
rs_db_exec(PGconn *db, const char *sql)
{
	return run(db, sql, -1, NULL, NULL, false);
}

int
rs_db_query(PGconn *db, const char *sql, int nparams,
    const char *const *params, PGresult **out)
{
	if (nparams < 0 || (nparams > 0 && params == NULL))
		return RS_EINVAL;
	return run(db, sql, nparams, params, out, false);
}

/* Appends 'value' with \ and ' escaped, as conninfo strings quote. */
static void
append_quoted(rs_buf *b, const char *v)
{
	rs_buf_append(b, "'", 1);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '\'')
			rs_buf_append(b, "\\", 1);
		rs_buf_append(b, v, 1);
	}
	rs_buf_append(b, "'", 1);
}

int
rs_db_conninfo_with_db(const char *conninfo, const char *dbname, char **out)
{
	PQconninfoOption *opts;
	rs_buf b = RS_BUF_INIT;
	char *err = NULL;
	bool first = true;

	if (conninfo == NULL || dbname == NULL || *dbname == '\0'
	    || out == NULL)
		return RS_EINVAL;
	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		char m[512];

		one_line(err != NULL ? err : "out of memory", m, sizeof(m));
		/* Not logged verbatim elsewhere: it may hold a password,
		 * but libpq's message names only the syntax problem. */
		rs_error(NULL, "event=pg_bad_conninfo error=\"%s\"", m);
		PQfreemem(err);
		return err != NULL ? RS_EINVAL : RS_ENOMEM;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "dbname") == 0 || o->val == NULL)
			continue;
		if (!first)
			rs_buf_append(&b, " ", 1);
		first = false;
		rs_buf_printf(&b, "%s=", o->keyword);
		append_quoted(&b, o->val);
	}
	if (!first)
		rs_buf_append(&b, " ", 1);
	rs_buf_printf(&b, "dbname=");
	append_quoted(&b, dbname);
	PQconninfoFree(opts);
	if (b.err != 0) {
		rs_buf_fini(&b);
		return RS_ENOMEM;
	}
	*out = rs_buf_take(&b);
	return RS_OK;
}

static bool
valid_dbname(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= DBNAME_MAX
	    && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* "CREATE DATABASE <quoted>" / "DROP DATABASE ..." built with libpq's
 * identifier quoting. */
static int
ddl(PGconn *db, const char *prefix, const char *dbname, const char *suffix,
    bool quiet)
{
	char *q = PQescapeIdentifier(db, dbname, strlen(dbname));
	rs_buf b = RS_BUF_INIT;
	int rc;

	if (q == NULL)
		return RS_ENOMEM;
	rs_buf_printf(&b, "%s%s%s", prefix, q, suffix);
	PQfreemem(q);
	if (b.err != 0) {
		rs_buf_fini(&b);
		return RS_ENOMEM;
	}
	rc = run(db, b.data, -1, NULL, NULL, quiet);
	rs_buf_fini(&b);
	return rc;
}

/* The maintenance connection for creating or dropping dbname, after
 * checking the name (RS_EINVAL, logged, when it is not one we make). */
static int
maint_open(const char *maint_conninfo, const char *dbname, PGconn **db)
{
	if (!valid_dbname(dbname)) {
		rs_error(NULL, "event=pg_bad_dbname dbname=\"%s\"",
		    dbname ? dbname : "");
		return RS_EINVAL;
	}
	return rs_db_connect(maint_conninfo, db);
}

int
rs_db_create_database(const char *maint_conninfo, const char *dbname)
{
	const char *params[1] = { dbname };
	PGresult *res;
	PGconn *db;
	int rc;

	if ((rc = maint_open(maint_conninfo, dbname, &db)) != RS_OK)
		return rc;
	rc = rs_db_query(db, "SELECT 1 FROM pg_database WHERE datname = $1", 1,
	    params, &res);
	if (rc == RS_OK) {
		bool exists = PQntuples(res) > 0;

		PQclear(res);
		if (exists)
			goto done;
	} else {
		goto done;
	}
	for (int i = 0; i < CREATE_TRIES; i++) {
		rc = ddl(db, "CREATE DATABASE ", dbname, "", true);
		if (rc != RS_EDB)
			break;
		/* 42P04 duplicate_database, or 23505 from pg_database's
		 * unique index: someone else created it at the same time. */
		if (strcmp(last_state, "42P04") == 0
		    || strcmp(last_state, "23505") == 0) {
			rs_debug(NULL, "event=pg_database_exists dbname=%s",
			    dbname);
			last_state[0] = '\0';
			rc = RS_OK;
			goto done;
		}
		/* 55006: template1 busy (another CREATE DATABASE copying
		 * it). */
		if (strcmp(last_state, "55006") != 0)
			break;
		rs_time_sleep_ms(100);
	}
	if (rc == RS_OK)
		rs_info(NULL, "event=pg_database_created dbname=%s", dbname);
	else
		rs_error(NULL,
		    "event=pg_create_database_failed dbname=%s sqlstate=%s",
		    dbname, last_state[0] ? last_state : "-");
done:
	PQfinish(db);
	return rc;
}

int
rs_db_drop_database(const char *maint_conninfo, const char *dbname)
{
	PGconn *db;
	int rc;

	if ((rc = maint_open(maint_conninfo, dbname, &db)) != RS_OK)
		return rc;
	/* Never WITH (FORCE): a session still connected (a live worker, a
	 * slave copying it) makes PostgreSQL refuse with 55006, and the copy
	 * stays (docs/replication.md "Retiring a copy"). */
	rc = ddl(db, "DROP DATABASE IF EXISTS ", dbname, "", true);
	if (rc == RS_EDB && strcmp(last_state, "55006") == 0) {
		last_state[0] = '\0';
		rc = RS_EAGAIN;
	}
	if (rc == RS_OK)
		rs_info(NULL, "event=pg_database_dropped dbname=%s", dbname);
	else if (rc != RS_EAGAIN)
		rs_error(NULL,
		    "event=pg_drop_database_failed dbname=%s sqlstate=%s",
		    dbname, last_state[0] ? last_state : "-");
	PQfinish(db);
	return rc;
}

void
rs_db_worker_dbname(const char *worker_id, char *out, size_t len)
{
	size_t n;

	if (len == 0)
		return;
	n = (size_t) snprintf(out, len, "%s", RS_DB_WORKER_PREFIX);
	if (n >= len)
		n = len - 1;
	for (const char *p = worker_id; *p != '\0' && n + 1 < len; p++) {
		unsigned char c = (unsigned char) *p;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c - 'A' + 'a');
		out[n++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		    ? (char) c
		    : '_';
	}
	out[n] = '\0';
}

int
rs_db_list_worker_databases(
    const char *maint_conninfo, char ***names, int *count)
{
	PGconn *db;
	PGresult *res;
	int rc, n;
	char **v;

	if ((rc = rs_db_connect(maint_conninfo, &db)) != RS_OK)
		return rc;
	rc = rs_db_query(db,
	    "SELECT datname FROM pg_database WHERE NOT datistemplate"
	    " AND starts_with(datname, '" RS_DB_WORKER_PREFIX "')"
	    " ORDER BY datname",
	    0, NULL, &res);
	PQfinish(db);
	if (rc != RS_OK)
		return rc;
	n = PQntuples(res);
	v = calloc((size_t) n + 1, sizeof(*v));
	for (int i = 0; v != NULL && i < n; i++) {
		if ((v[i] = strdup(PQgetvalue(res, i, 0))) == NULL) {
			rs_db_free_names(v, i);
			v = NULL;
		}
	}
	PQclear(res);
	if (v == NULL)
		return RS_ENOMEM;
	*names = v;
	*count = n;
	return RS_OK;
}

void
rs_db_free_names(char **names, int count)
{
	rs_names_free(names, count);
}

int
rs_db_copy_position(const char *maint_conninfo, const char *dbname,
    uint64_t *epoch, uint64_t *seq)
{
	char *ci = NULL;
	PGconn *db = NULL;
	PGresult *res = NULL;
	int rc;

	if (!valid_dbname(dbname))
		return RS_EINVAL;
	if ((rc = rs_db_conninfo_with_db(maint_conninfo, dbname, &ci))
	    != RS_OK)
		return rc;
	rc = rs_db_connect(ci, &db);
	free(ci);
	if (rc != RS_OK)
		return rc;
	rc = rs_db_query(db,
	    "SELECT epoch, applied_seq FROM meta WHERE id = 1", 0, NULL, &res);
	if (rc == RS_OK && PQntuples(res) == 1) {
		*epoch = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		*seq = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	} else if (rc == RS_OK || rc == RS_EDB) {
		rc = RS_ENOTFOUND;
	}
	PQclear(res);
	PQfinish(db);
	return rc;
}

const rs_db_copy_table rs_db_copy_tables[] = {
	{ "users", "username, password, created", "created" },
	{ "rides", "ride_id, created_by, ts, source, destination", "ride_id" },
	{ "ride_members", "ride_id, username, seq", "ride_id, seq" },
	{ "applied_requests", "request_id, seq, response", "request_id" },
	{ "meta", "id, applied_seq, epoch, next_ride_id", "id" },
	{ "changes", "seq, epoch, event", "seq" },
};
const int rs_db_ncopy_tables
    = (int) (sizeof(rs_db_copy_tables) / sizeof(rs_db_copy_tables[0]));

uint64_t
rs_db_int8(const PGresult *res, int row, int col)
{
	const unsigned char *p
	    = (const unsigned char *) PQgetvalue(res, row, col);
	uint64_t v = 0;

	if (PQgetlength(res, row, col) != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}
