/* The state one rideshare-worker process carries through its life
 * (docs/conventions.md "Worker lifecycle and election"), shared by the
 * modules: election.c (ZooKeeper), master.c, slave.c, snapshot.c. */
#ifndef RS_WORKER_H
#define RS_WORKER_H

#include "notice.h"
#include "rideshare.pb-c.h"
#include "rs_mq.h"
#include "rs_time.h"
#include "rs_zk.h"
#include "store.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Return codes of the role loops beyond rs_err. */
#define RS_WORKER_PROMOTED 100 /* slave won an election: run as master */
#define RS_WORKER_STOPPED  101 /* SIGTERM: graceful stop */

typedef struct rs_worker {
	/* configuration (docs/conventions.md) */
	char id[128];
	char dbname[160]; /* rideshare_<id sanitised> */
	char sync_queue[160]; /* sync.<id> */
	const char *amqp_url;
	const char *zk_hosts;
	const char *maint_conninfo;
	const char *nng_host;
	int zk_session_ms;
	int read_hold_ms; /* RIDESHARE_READ_HOLD_MS; 0: replies never held */
	int read_park_ms; /* RIDESHARE_READ_PARK_MS: a parked read's bound */
	long crash_after; /* RIDESHARE_FAULT=crash_after_commit:N, 0 off */
	bool stop_not_crash; /* stop_after_commit:N: SIGSTOP, not _exit */
	uint64_t crash_epoch; /* ...:N:E, only in master term E (0: any) */
	int64_t pid; /* as the spawner sees it */
	char *conninfo; /* own database */

	PGconn *db;
	rs_worker_meta meta; /* mirrors the meta row after each commit */
	rs_zk *zk;
	rs_worker_notice *notice;
	char nng_url[128];
	Rideshare__Role role;
	uint64_t epoch; /* master: its term; slave: newest seen */
	uint64_t writes; /* writes handled as master (fault hook) */
	char master_id[128]; /* slave: whom it follows */
	bool registered;
	bool volume_published; /* RS_ZK_MASTER_VOLUME names ours */
} rs_worker;

/* Set from other threads (signal handler, ZooKeeper thread); read by the
 * main loop between deliveries. */
extern atomic_int rs_worker_stop_flag;
extern atomic_int rs_worker_expired_flag;
extern atomic_int rs_worker_master_flag; /* /rideshare/master changed */
extern atomic_int rs_worker_workers_flag; /* worker znodes changed */
/* Monotonic ms since the ZooKeeper connection dropped, 0 while up. */
extern atomic_llong rs_worker_zk_down_since;

/* worker.c: set-up and tear-down. */
int rs_worker_init(rs_worker *w);
/* Tears down the connections; never deletes the database or the sync
 * queue (they outlive the process). */
void rs_worker_fini(rs_worker *w);
/* Role name used in status notices: RS_ROLE_MASTER, _SLAVE, _CANDIDATE. */
const char *rs_worker_role_name(Rideshare__Role role);
/* Reconnects the database after a failure (prepared statements too). */
int rs_worker_db_reconnect(rs_worker *w);
/* Declares the topology and, for slaves, the sync queue bound to syncX. */
int rs_worker_mq_open(
    rs_worker *w, const char *what, bool sync_queue, rs_mq **out);
/* True while the worker may keep acting: no stop request, ZooKeeper
 * session alive and not disconnected for longer than the session timeout. */
bool rs_worker_alive(rs_worker *w);

/* snapshot.c: catch-up copy from the master's database. */
int rs_worker_snapshot(rs_worker *w, const char *master_conninfo);

/* master.c, slave.c: the role loops. */
int rs_worker_master_run(rs_worker *w);
int rs_worker_slave_run(rs_worker *w);

#endif
