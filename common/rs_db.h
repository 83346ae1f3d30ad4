/* PostgreSQL (libpq) helpers. Every PGresult status is checked here; errors
 * are logged with the server's message and returned as RS_EDB, or RS_ECONN
 * when the connection itself is gone (PQfinish it and reconnect). */
#ifndef RS_DB_H
#define RS_DB_H

#include <libpq-fe.h>

/* Connects; RS_ECONN with a log line on failure. */
int rs_db_connect(const char *conninfo, PGconn **out);
/* Like rs_db_connect, retrying with back-off up to max_wait_ms. */
int rs_db_connect_retry(const char *conninfo, int max_wait_ms, PGconn **out);

/* Runs SQL without parameters that returns no rows (DDL, BEGIN, COMMIT). */
int rs_db_exec(PGconn *db, const char *sql);
/* Runs a parameterized statement (text params, text results). On RS_OK
 * *out (may be NULL to discard) is a PGRES_COMMAND_OK or PGRES_TUPLES_OK
 * result owned by the caller (PQclear). */
int rs_db_query(PGconn *db, const char *sql, int nparams,
    const char *const *params, PGresult **out);

/* SQLSTATE of the last failed query on this thread ("" if none), e.g.
 * "23505" unique violation, "40001" serialization failure. */
const char *rs_db_last_sqlstate(void);

/* Returns a malloc'd copy of conninfo with dbname replaced by dbname. */
int rs_db_conninfo_with_db(const char *conninfo, const char *dbname, char **out);
/* CREATE DATABASE / DROP DATABASE through the maintenance conninfo;
 * create is a no-op when it exists, drop when it does not. dbname must
 * match [a-z0-9_]+. */
int rs_db_create_database(const char *maint_conninfo, const char *dbname);
int rs_db_drop_database(const char *maint_conninfo, const char *dbname);

#endif
