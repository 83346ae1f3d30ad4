/* pg_floor: the PostgreSQL limit through libpq. In a scratch database of
 * its own (created and dropped), N connections (one thread each) run for S
 * seconds: first a primary-key SELECT of a random row of a 10,000-row
 * table, then a single-row INSERT (autocommit, one transaction each), both
 * as prepared statements. The server's settings are the stack's (the
 * local stack runs PostgreSQL with fsync=off, like the workers see it).
 *
 *   pg_floor --conninfo "host=... port=... user=postgres dbname=postgres"
 *            [--clients N] [--seconds S]
 *
 * Prints one JSON object with select_per_s, insert_per_s and latencies. */
#include "bench_util.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROWS 10000

static char conninfo[1024];
static double t_end;

struct client {
	pthread_t th;
	PGconn *db;
	int no;
	int insert; /* 0: SELECT phase, 1: INSERT phase */
	unsigned seed;
	bench_lat lat;
	long ops, errors;
};

static PGconn *
connect_db(const char *ci)
{
	PGconn *db = PQconnectdb(ci);

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "pg_floor: connect: %s", PQerrorMessage(db));
		exit(1);
	}
	return db;
}

static void
exec_ok(PGconn *db, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "pg_floor: %s: %s", sql, PQerrorMessage(db));
		exit(1);
	}
	PQclear(r);
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	char idbuf[32], vbuf[32];
	const char *params[3];
	long next = (long) ROWS + 1 + (long) c->no * 100000000L;

	while (bench_now() < t_end) {
		double t0 = bench_now();
		PGresult *r;
		int ok;

		if (c->insert) {
			snprintf(idbuf, sizeof(idbuf), "%ld", next++);
			snprintf(vbuf, sizeof(vbuf), "%ld", next);
			params[0] = idbuf;
			params[1] = "inserted-by-pg-floor";
			params[2] = vbuf;
			r = PQexecPrepared(
			    c->db, "ins", 3, params, NULL, NULL, 0);
			ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		} else {
			snprintf(idbuf, sizeof(idbuf), "%d",
			    1 + (int) (rand_r(&c->seed) % ROWS));
			params[0] = idbuf;
			r = PQexecPrepared(
			    c->db, "sel", 1, params, NULL, NULL, 0);
			ok = PQresultStatus(r) == PGRES_TUPLES_OK
			    && PQntuples(r) == 1;
		}
		PQclear(r);
		if (!ok) {
			c->errors++;
			continue;
		}
		bench_lat_add(&c->lat, (bench_now() - t0) * 1000.0);
		c->ops++;
	}
	return NULL;
}

/* Runs one phase on every client; returns ops/s and fills p50/p99. */
static double
phase(struct client *cs, int n, int insert, int seconds, double *p50,
    double *p99, long *errors)
{
	bench_lat all = { 0 };
	long ops = 0;
	double t0 = bench_now(), el;

	t_end = t0 + seconds;
	for (int i = 0; i < n; i++) {
		cs[i].insert = insert;
		cs[i].ops = cs[i].errors = 0;
		pthread_create(&cs[i].th, NULL, client_run, &cs[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(cs[i].th, NULL);
		bench_lat_merge(&all, &cs[i].lat);
		bench_lat_free(&cs[i].lat);
		ops += cs[i].ops;
		*errors += cs[i].errors;
	}
	el = bench_now() - t0;
	*p50 = bench_lat_pct(&all, 50);
	*p99 = bench_lat_pct(&all, 99);
	bench_lat_free(&all);
	return (double) ops / el;
}

int
main(int argc, char **argv)
{
	const char *maint = NULL;
	int clients = 4, seconds = 5;
	char dbname[64], sql[256];
	double sel, ins, sp50, sp99, ip50, ip99;
	long errors = 0;
	struct client *cs;
	PGconn *admin, *db;

	const bench_opt opts[] = {
		{ "--conninfo", BENCH_STR, &maint, 0, 0, NULL },
		{ "--clients", BENCH_INT, &clients, 1, 256, NULL },
		{ "--seconds", BENCH_INT, &seconds, 1, 3600, NULL },
		{ NULL, BENCH_STR, NULL, 0, 0, NULL },
	};

	if (bench_args(argc, argv, opts, "pg_floor",
	        "--conninfo CI [--clients N] [--seconds S]", "--conninfo")
	    != 0)
		return 2;
	snprintf(
	    dbname, sizeof(dbname), "bench_pg_floor_%ld", (long) getpid());
	admin = connect_db(maint);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	exec_ok(admin, sql);
	/* A later keyword wins in a conninfo string. */
	snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", maint, dbname);
	db = connect_db(conninfo);
	exec_ok(db,
	    "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL,"
	    " v bigint NOT NULL)");
	exec_ok(db,
	    "INSERT INTO t SELECT g, 'user-' || g, g FROM"
	    " generate_series(1, 10000) g");
	exec_ok(db, "ANALYZE t");
	PQfinish(db);

	cs = calloc((size_t) clients, sizeof(*cs));
	for (int i = 0; i < clients; i++) {
		PGresult *r;

		cs[i].no = i;
		cs[i].seed = (unsigned) (i * 7919 + 1);
		cs[i].db = connect_db(conninfo);
		r = PQprepare(cs[i].db, "sel",
		    "SELECT name, v FROM t WHERE id = $1", 1, NULL);
		PQclear(r);
		r = PQprepare(cs[i].db, "ins",
		    "INSERT INTO t (id, name, v) VALUES ($1, $2, $3)", 3,
		    NULL);
		PQclear(r);
	}
	sel = phase(cs, clients, 0, seconds, &sp50, &sp99, &errors);
	ins = phase(cs, clients, 1, seconds, &ip50, &ip99, &errors);
	for (int i = 0; i < clients; i++)
		PQfinish(cs[i].db);
	free(cs);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", dbname);
	exec_ok(admin, sql);
	PQfinish(admin);
	printf("{\"clients\": %d, \"select_per_s\": %.0f, \"select_p50_ms\": "
	       "%.3f, \"select_p99_ms\": %.3f, \"insert_per_s\": %.0f, "
	       "\"insert_p50_ms\": %.3f, \"insert_p99_ms\": %.3f, "
	       "\"errors\": %ld}\n",
	    clients, sel, sp50, sp99, ins, ip50, ip99, errors);
	return errors == 0 ? 0 : 1;
}
