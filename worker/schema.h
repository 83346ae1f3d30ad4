/* The worker's database: schema (DDL run at start), the prepared
 * statements every other module uses by name, and one checked way to run
 * them. No SQL text ever comes from a message: only parameters do. */
#ifndef RS_WORKER_SCHEMA_H
#define RS_WORKER_SCHEMA_H

#include "rs_db.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Creates the tables and indexes when missing, and the single meta row. */
int rs_worker_schema_create(PGconn *db);
/* Prepares every statement of the worker on db (once per connection). */
int rs_worker_schema_prepare(PGconn *db);

/* Runs prepared statement name with text parameters (NULL = SQL NULL).
 * bin_last: the last parameter is binary of length bin_len (bytea).
 * bin_result: results in binary format. On RS_OK *out (may be NULL to
 * discard) is owned by the caller (PQclear); RS_EDB otherwise (logged). */
int rs_worker_db_run(PGconn *db, const char *name, int n,
    const char *const *params, const void *bin_last, int bin_len,
    int bin_result, PGresult **out);
/* Shorthand: text params, text result. */
int rs_worker_db_q(PGconn *db, const char *name, int n,
    const char *const *params, PGresult **out);

/* One statement of rs_worker_db_pipeline: prepared statement name (or,
 * when name is NULL, the parameterless SQL text sql, e.g. "COMMIT") with
 * up to 4 text params (bin_last/bin_len/bin_result as rs_worker_db_run).
 * res: set on success only when keep is true (the caller PQclears it). */
typedef struct rs_worker_db_stmt {
	const char *name;
	const char *sql;
	int n;
	const char *params[4];
	const void *bin_last;
	int bin_len;
	int bin_result;
	bool keep;
	PGresult *res;
} rs_worker_db_stmt;

/* Runs s[0..n) in libpq pipeline mode: all sent, then one sync, so n
 * statements cost one round trip instead of n. They run in order; the
 * first that fails is logged like rs_worker_db_run and the rest of the
 * pipeline is skipped by the server (an open transaction is then aborted:
 * the caller rolls back). RS_OK when every statement succeeded, RS_EDB
 * otherwise (the s[i].res kept so far are cleared and NULL). */
int rs_worker_db_pipeline(PGconn *db, rs_worker_db_stmt *s, int n);

/* The copy list (tables, COPY columns, digest order) lives with the other
 * cross-process database rules in common/rs_db.h: backups use it too. */
typedef rs_db_copy_table rs_worker_table;
#define rs_worker_tables  rs_db_copy_tables
#define rs_worker_ntables rs_db_ncopy_tables

#endif
