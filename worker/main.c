/* rideshare-worker: one binary, master or slave; the role comes from
 * ZooKeeper (docs/conventions.md "Worker lifecycle and election").
 * A lost ZooKeeper session is not death: the worker registers again as a
 * candidate with a new session and keeps its database (docs/failover.md).
 * Exit status: 0 after SIGTERM (graceful), 1 on a fatal error (the
 * orchestrator replaces the worker), 2 on bad configuration. Either way the
 * database stays. */
#include "worker.h"

#include "election.h"

#include "rs_err.h"
#include "rs_log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void
on_signal(int sig)
{
	(void) sig;
	atomic_store(&rs_worker_stop_flag, 1);
}

static void
signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
main(void)
{
	static rs_worker w;
	Rideshare__Role role;
	int rc;

	(void) rs_log_init("worker");
	signals();
	rc = rs_worker_init(&w);
	for (;;) {
		if (rc == RS_OK)
			rc = rs_worker_zk_bootstrap(&w, &role);
		while (rc == RS_OK) {
			if (role == RIDESHARE__ROLE__MASTER) {
				rc = rs_worker_master_run(&w);
			} else {
				rc = rs_worker_slave_run(&w);
				if (rc == RS_WORKER_PROMOTED) {
					role = RIDESHARE__ROLE__MASTER;
					rc = RS_OK;
				}
			}
		}
		/* Session gone (or fenced): rejoin rather than die. */
		if (w.zk == NULL || atomic_load(&rs_worker_stop_flag)
		    || !atomic_load(&rs_worker_expired_flag))
			break;
		rc = rs_worker_zk_rejoin(&w);
		if (rc != RS_OK)
			break;
	}
	bool graceful
	    = rc == RS_WORKER_STOPPED || atomic_load(&rs_worker_stop_flag);
	if (graceful)
		rs_info(NULL, "event=stopping reason=signal");
	else
		rs_error(NULL, "event=fatal err=%s",
		    rc >= 100 ? "-" : rs_strerror(rc));
	rs_worker_fini(&w);
	rs_info(NULL, "event=stopped id=%s exit=%d", w.id, graceful ? 0 : 1);
	return graceful ? 0 : 1;
}
