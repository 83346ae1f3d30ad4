/* Helpers shared by the orchestrator's system tests (linearizability,
 * failover, slave chaos, crash API, scaling): the admin API over HTTP, RPC
 * through the RS_Q_ORCHESTRATOR queue, and a look at every worker's own
 * database. Endpoints come from tests/with-stack.sh's environment. */
#ifndef ORCH_SYS_H
#define ORCH_SYS_H

#include "rideshare.pb-c.h"
#include "rs_rpc.h"
#include "rs_time.h" /* the tests time and sleep with rs_time */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SYS_PASSWORD "3d725109c7e7c0bfb9d709836735b56d943d263f"

/* Reads RIDESHARE_ADMIN_URL / RIDESHARE_AMQP_URL / RIDESHARE_ZK_HOSTS;
 * exits 2 when they are missing. */
void sys_init(void);

/* 1 once a CHECK failed: a check prints FAIL and the test goes on, so one
 * run reports every broken property; main returns sys_failed. */
extern int sys_failed;
#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond)) {                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fprintf(stderr, "\n");                 \
			sys_failed = 1;                        \
		}                                              \
	} while (0)
const char *sys_amqp_url(void);
/* An RPC client of the orchestrator's queue (RS_Q_ORCHESTRATOR) on the
 * stack's broker, waiting up to 10 s for it: rs_rpc_create's result. */
int sys_rpc(rs_rpc **out);

/* Admin API call; returns the HTTP status (0 when unreachable) and, when
 * body is not NULL and the reply is JSON, the parsed body. */
long sys_admin(const char *method, const char *path, json_t **body);
/* POST /api/v1/crash/<role> (role "master" or "slave"): the HTTP status;
 * *victim the pid the orchestrator says it killed, -1 when it names none. */
long sys_crash(const char *role, int64_t *victim);

/* GET /api/v1/worker/list into pids (ascending as served); returns the
 * count or -1. */
int sys_worker_list(int64_t *pids, int max);
/* Waits until worker/list has exactly n entries and /readyz says ready;
 * returns the ms it took, or -1 after timeout_ms. */
int64_t sys_wait_workers(int n, int timeout_ms);
/* Pid of the master and the slaves per GET /api/v1/worker/details
 * (serving ones only). Returns the number of slaves, -1 on error. */
int sys_roles(int64_t *master, int64_t *slaves, int max);

/* One add_user / get_user / list_users through the orchestrator queue
 * with the given request id (NULL: a fresh one). Returns the status, or
 * -1 on a transport error; *resp (may be NULL) gets the reply. */
int sys_add_user(rs_rpc *rpc, const char *name, const char *rid,
    int timeout_ms, Rideshare__DbResponse **resp);
/* Consistency level and caller token of the reads the calling thread sends
 * with sys_get_user / sys_list_users (issue 14; default linearizable, 0). */
extern _Thread_local int sys_read_level;
extern _Thread_local uint64_t sys_read_min_seq;

int sys_get_user(rs_rpc *rpc, const char *name, int timeout_ms,
    Rideshare__DbResponse **resp);
int sys_list_users(rs_rpc *rpc, int timeout_ms, Rideshare__DbResponse **resp);

/* Every live worker's database as it is now: id, role and a digest of
 * its tables (users, rides, ride_members) plus its applied seq. */
typedef struct sys_db {
	char id[64];
	int role;
	int64_t pid;
	char conninfo[512];
	uint64_t applied_seq;
	char digest[33];
	long users;
} sys_db;

/* Reads /rideshare/workers from ZooKeeper and each worker's database.
 * Returns how many (at most max), -1 on error. */
int sys_dbs(sys_db *out, int max);
/* Waits until every live worker has applied the same seq; fills out like
 * sys_dbs. Returns the count, or -1 after timeout_ms. */
int sys_dbs_converged(sys_db *out, int max, int timeout_ms);
/* How many rows of users carry name on the worker's database (-1 on
 * error). names[0..n) in one query: counts[i] per name. */
int sys_db_user_counts(
    const char *conninfo, char *const *names, int n, int *counts);

double sys_median(double *v, int n);

/* The value of the orchestrator's unlabelled metric name in GET /metrics
 * (Prometheus text), or -1 when it is absent or the call fails. */
double sys_metric(const char *name);

#endif
