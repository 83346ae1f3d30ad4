#include "worker.h"
#include "rs_contract.h"

#include "election.h"

#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

atomic_int rs_worker_stop_flag;
atomic_int rs_worker_expired_flag;
atomic_int rs_worker_master_flag;
atomic_int rs_worker_workers_flag;
atomic_llong rs_worker_zk_down_since;

const char *
rs_worker_role_name(Rideshare__Role role)
{
	switch (role) {
	case RIDESHARE__ROLE__MASTER: return RS_ROLE_MASTER;
	case RIDESHARE__ROLE__SLAVE: return RS_ROLE_SLAVE;
	default: return RS_ROLE_CANDIDATE;
	}
}

/* RIDESHARE_FAULT=crash_after_commit:N[:E] - the master _exit(137)s right
 * after committing the batch holding its N-th write; with E only while its
 * term (epoch) is E, so that a whole stack can carry the variable and only
 * its first master dies. stop_after_commit:N[:E] stops it there instead
 * (SIGSTOP, a paused process: the test sends SIGCONT), before the fencing
 * read is judged (docs/failover.md "Fencing"). */
static void
parse_fault(rs_worker *w)
{
	const char *f = rs_cfg_str("RIDESHARE_FAULT", "");
	const char *crash = "crash_after_commit:",
	           *stop = "stop_after_commit:";
	unsigned long n, e = 0;
	int end = 0;

	if (f[0] == '\0')
		return;
	if (strncmp(f, stop, strlen(stop)) == 0)
		w->stop_not_crash = true;
	else if (strncmp(f, crash, strlen(crash)) != 0)
		rs_cfg_die("RIDESHARE_FAULT", f, "unknown fault hook");
	const char *v = strchr(f, ':') + 1;
	if (!isdigit((unsigned char) v[0])
	    || (sscanf(v, "%lu%n:%lu%n", &n, &end, &e, &end) < 1)
	    || v[end] != '\0' || n == 0)
		rs_cfg_die("RIDESHARE_FAULT", f,
		    "expected crash_after_commit:N[:EPOCH] or "
		    "stop_after_commit:N[:EPOCH]");
	w->crash_after = (long) n;
	w->crash_epoch = e;
}

static int
db_open(rs_worker *w)
{
	/* Write transactions keep to their indexes, reads plan freely
	 * (RS_WORKER_WRITE_PLANS, store.h). */
	int rc = rs_db_connect_retry(w->conninfo, 30000, &w->db);
	if (rc == RS_OK)
		rc = rs_worker_schema_create(w->db);
	if (rc == RS_OK)
		rc = rs_worker_schema_prepare(w->db);
	if (rc == RS_OK)
		rc = rs_worker_store_load(w->db, &w->meta);
	return rc;
}

static void
db_close(rs_worker *w)
{
	if (w->db != NULL)
		PQfinish(w->db);
	w->db = NULL;
}

int
rs_worker_db_reconnect(rs_worker *w)
{
	db_close(w);
	rs_worker_meta m = w->meta;
	int rc = db_open(w);
	if (rc == RS_OK && m.applied_seq != w->meta.applied_seq)
		rs_warn(NULL, "event=db_reconnected applied_seq=%llu",
		    (unsigned long long) w->meta.applied_seq);
	return rc;
}

int
rs_worker_init(rs_worker *w)
{
	char gen[RS_ID_LEN + 1];
	int rc;

	memset(w, 0, sizeof(*w));
	const char *id = rs_cfg_str("RIDESHARE_WORKER_ID", NULL);
	if (id == NULL) {
		rs_id_new(gen);
		gen[8] = '\0';
		snprintf(w->id, sizeof(w->id), "w-%s", gen);
	} else {
		if (strlen(id) >= 100 || !rs_id_valid(id))
			rs_cfg_die("RIDESHARE_WORKER_ID", id,
			    "not 1..99 characters of [A-Za-z0-9._:-]");
		snprintf(w->id, sizeof(w->id), "%s", id);
	}
	rs_db_worker_dbname(w->id, w->dbname, sizeof(w->dbname));
	snprintf(w->sync_queue, sizeof(w->sync_queue), RS_Q_SYNC_PREFIX "%s",
	    w->id);
	w->amqp_url = rs_cfg_str(
	    "RIDESHARE_AMQP_URL", "amqp://guest:guest@127.0.0.1:8101");
	w->zk_hosts = rs_cfg_str("RIDESHARE_ZK_HOSTS", "127.0.0.1:8104");
	w->maint_conninfo = rs_cfg_str("RIDESHARE_PG_CONNINFO",
	    "host=127.0.0.1 port=8100 user=postgres dbname=postgres");
	w->nng_host = rs_cfg_str("RIDESHARE_NNG_HOST", "127.0.0.1");
	w->zk_session_ms
	    = (int) rs_cfg_long("RIDESHARE_ZK_SESSION_MS", 800, 100, 600000);
	/* Below the callers' RPC timeout (5 s), so a read that cannot be
	 * served gets a clear answer rather than a timeout. */
	w->read_park_ms
	    = (int) rs_cfg_long("RIDESHARE_READ_PARK_MS", 3000, 1, 600000);
	w->read_hold_ms
	    = (int) rs_cfg_long("RIDESHARE_READ_HOLD_MS", 2000, 0, 600000);
	parse_fault(w);
	w->pid = rs_cfg_long("RIDESHARE_WORKER_PID", 0, 0, INT64_MAX);
	w->role = RIDESHARE__ROLE__CANDIDATE;

	rs_info(NULL, "event=worker_starting id=%s db=%s", w->id, w->dbname);
	if ((rc = rs_db_create_database(w->maint_conninfo, w->dbname))
	    != RS_OK)
		return rc;
	if ((rc = rs_db_conninfo_with_db(
	         w->maint_conninfo, w->dbname, &w->conninfo))
	    != RS_OK)
		return rc;
	if ((rc = db_open(w)) != RS_OK)
		return rc;
	w->epoch = w->meta.epoch;
	if ((rc = rs_worker_notice_create(w->nng_host, w->id, w->nng_url,
	         sizeof(w->nng_url), &w->notice))
	    != RS_OK)
		return rc;
	rs_worker_notice_set(
	    w->notice, RS_ROLE_CANDIDATE, w->meta.applied_seq, w->epoch);
	if ((rc = rs_worker_zk_start(w)) != RS_OK)
		return rc;
	return rs_worker_zk_register(w);
}

int
rs_worker_mq_open(rs_worker *w, const char *what, bool sync_queue, rs_mq **out)
{
	char name[256];
	rs_mq *mq;
	int rc;

	snprintf(name, sizeof(name), "worker %s %s", w->id, what);
	for (;;) {
		if (atomic_load(&rs_worker_stop_flag)
		    || atomic_load(&rs_worker_expired_flag))
			return RS_ECLOSED;
		rc = rs_mq_connect_retry(w->amqp_url, name, 2000, &mq);
		if (rc == RS_OK) {
			rc = rs_mq_declare_topology(mq);
			if (rc == RS_OK && sync_queue)
				rc = rs_mq_declare_queue(mq, w->sync_queue,
				    RS_MQ_DURABLE | RS_MQ_DLX | RS_MQ_EXPIRES);
			if (rc == RS_OK && sync_queue)
				rc = rs_mq_bind(mq, w->sync_queue, RS_X_SYNC);
			if (rc == RS_OK) {
				*out = mq;
				return RS_OK;
			}
			rs_mq_destroy(mq);
		}
		rs_warn(NULL, "event=mq_connect_retry what=\"%s\" err=%s",
		    what, rs_strerror(rc));
	}
}

bool
rs_worker_alive(rs_worker *w)
{
	if (atomic_load(&rs_worker_stop_flag)
	    || atomic_load(&rs_worker_expired_flag))
		return false;
	/* Cut off from ZooKeeper for longer than the session timeout: the
	 * session is expired for everyone else already (we only learn it
	 * on reconnect), so a master must not act any more. */
	int64_t down = atomic_load(&rs_worker_zk_down_since);
	if (down != 0 && rs_time_now_ms() - down > w->zk_session_ms) {
		rs_error(NULL, "event=zk_lost_too_long ms=%lld",
		    (long long) (rs_time_now_ms() - down));
		atomic_store(&rs_worker_expired_flag, 1);
		return false;
	}
	return true;
}

void
rs_worker_fini(rs_worker *w)
{
	/* The database and the sync queue stay: a database is the system's
	 * memory and outlives this process; retiring a copy is the
	 * orchestrator's decision (docs/replication.md "Retiring a copy"). */
	db_close(w);
	rs_zk_close(w->zk); /* its ephemeral znodes vanish now */
	w->zk = NULL;
	rs_worker_notice_destroy(w->notice);
	w->notice = NULL;
	free(w->conninfo);
	w->conninfo = NULL;
}
