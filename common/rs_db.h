/* PostgreSQL (libpq) helpers. Every PGresult status is checked here; errors
 * are logged with the server's message and returned as RS_EDB, or RS_ECONN
 * when the connection itself is gone (PQfinish it and reconnect). */
#ifndef RS_DB_H
#define RS_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

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

/* A binary-format (resultFormat 1) int8 column value, big-endian on the
 * wire, as its 64 bits; 0 when the value is not 8 bytes (NULL, text). The
 * worker's sequence numbers and the change feed read theirs through it. */
uint64_t rs_db_int8(const PGresult *res, int row, int col);

/* SQLSTATE of the last failed query on this thread ("" if none), e.g.
 * "23505" unique violation, "40001" serialization failure. */
const char *rs_db_last_sqlstate(void);

/* Returns a malloc'd copy of conninfo with dbname replaced by dbname. */
int rs_db_conninfo_with_db(
    const char *conninfo, const char *dbname, char **out);
/* CREATE DATABASE / DROP DATABASE through the maintenance conninfo;
 * create is a no-op when it exists, drop when it does not. dbname must
 * match [a-z0-9_]+. Drop never forces: RS_EAGAIN (nothing dropped) while
 * any session is connected to it, so a live worker's copy is never lost. */
int rs_db_create_database(const char *maint_conninfo, const char *dbname);
int rs_db_drop_database(const char *maint_conninfo, const char *dbname);

/* The one rule naming a worker's database (docs/conventions.md):
 * "rideshare_" + worker id lower-cased, every character outside [a-z0-9]
 * as '_'. Writes at most len bytes (NUL included). */
#define RS_DB_WORKER_PREFIX "rideshare_"
void rs_db_worker_dbname(const char *worker_id, char *out, size_t len);

/* Lists the databases whose name starts with RS_DB_WORKER_PREFIX: a
 * malloc'd array of malloc'd names in *names (free with
 * rs_db_free_names), their count in *count. RS_ECONN / RS_EDB. */
int rs_db_list_worker_databases(
    const char *maint_conninfo, char ***names, int *count);
void rs_db_free_names(char **names, int count);

/* The position of one worker database: (epoch, applied_seq) of its meta
 * row (worker/schema.c), through the maintenance conninfo with dbname
 * swapped in. RS_ENOTFOUND when it holds no RideShare data yet;
 * RS_ECONN when unreachable. Compare positions with rs_copy_cmp
 * (proto/rs_contract.h). */
int rs_db_copy_position(const char *maint_conninfo, const char *dbname,
    uint64_t *epoch, uint64_t *seq);

/* The tables a copy of the data consists of (worker/schema.c creates
 * them), in dependency order, with the column list COPY uses and the
 * ORDER BY of content digests: what a new slave's snapshot and a backup
 * (rs_backup.h) copy, in this order. */
typedef struct rs_db_copy_table {
	const char *name;
	const char *columns;
	const char *order_by;
} rs_db_copy_table;

extern const rs_db_copy_table rs_db_copy_tables[];
extern const int rs_db_ncopy_tables;

#endif
