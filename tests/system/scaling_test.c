/* Read-driven autoscaling with a 5 s window (issue 8;
 * RIDESHARE_SCALE_WINDOW_S=5): 45 reads -> the course rule wants 3 slaves
 * and the tier runs min(3, cap) of them (issue 17: the cap is
 * RIDESHARE_MAX_SLAVES when set, else the spawner's capacity: one per CPU
 * for the process spawner); then an idle window -> back to 1; the tier
 * never has 0 slaves. Wanted, target and cap are checked in /metrics, and
 * a decision the cap held back is counted. Crash/list calls are not
 * reads: polling worker/list all along must not count. */
#include "orch_sys.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Polls the worker list every every_ms for ms: false (after saying so,
 * "FAIL: n workers <when>") as soon as it is not master + 1 slave. */
static bool
two_workers_for(int ms, int every_ms, const char *when)
{
	int64_t pids[32], t0 = rs_time_now_ms();
	int n;

	while (rs_time_now_ms() - t0 < ms) {
		n = sys_worker_list(pids, 32);
		if (n != 2) {
			fprintf(stderr, "FAIL: %d workers %s\n", n, when);
			return false;
		}
		rs_time_sleep_ms(every_ms);
	}
	return true;
}

int
main(void)
{
	int64_t pids[32], t_first = 0, seen_max = 0, t_out = -1, t_in = -1;
	rs_rpc *rpc = NULL;
	int rc = 0, n, min_after = 99, cap, want_workers;
	double wanted_at_out = -1, target_at_out = -1;
	const char *max_env = getenv("RIDESHARE_MAX_SLAVES");

	rs_log_init("scaling_test");
	sys_init();
	if (sys_wait_workers(2, 60000) < 0) {
		fprintf(stderr, "FAIL: no master + slave to start with\n");
		return 1;
	}
	cap = (int) sys_metric("rideshare_orch_slave_cap");
	if (cap < 1) {
		fprintf(stderr, "FAIL: no rideshare_orch_slave_cap metric\n");
		return 1;
	}
	if (max_env != NULL && *max_env != '\0' && cap != atoi(max_env)) {
		fprintf(stderr, "FAIL: cap %d, RIDESHARE_MAX_SLAVES=%s\n", cap,
		    max_env);
		rc = 1;
	}
	want_workers = 1 + (cap < 3 ? cap : 3);
	printf("slave cap %d (%s): 45 reads should give %d slaves\n", cap,
	    max_env != NULL && *max_env != '\0' ? "RIDESHARE_MAX_SLAVES"
	                                        : "spawner capacity",
	    want_workers - 1);
	/* Listing (and waiting) must not start a window: 4 s of polling. */
	if (!two_workers_for(4000, 100, "without any read"))
		rc = 1;
	if (sys_rpc(&rpc) != RS_OK)
		return 1;
	t_first = rs_time_now_ms();
	for (int i = 0; i < 45; i++) {
		if (sys_list_users(rpc, 5000, NULL) != RIDESHARE__STATUS__OK) {
			fprintf(stderr, "FAIL: read %d\n", i);
			rc = 1;
		}
	}
	rs_rpc_destroy(rpc);
	printf("45 reads sent in %lld ms\n",
	    (long long) (rs_time_now_ms() - t_first));
	/* Watch two windows and a bit. */
	while (rs_time_now_ms() - t_first < 16000) {
		n = sys_worker_list(pids, 32);
		if (n >= 0) {
			if (n > seen_max)
				seen_max = n;
			if (n < min_after)
				min_after = n;
			/* Scale-out = the first decision (wanted 3) applied;
			 * with a cap of 1 the count alone cannot tell. */
			if (n == want_workers && t_out < 0
			    && sys_metric("rideshare_orch_wanted_slaves")
			        == 3) {
				t_out = rs_time_now_ms() - t_first;
				wanted_at_out = 3;
				target_at_out = sys_metric(
				    "rideshare_orch_target_slaves");
			}
			/* Back = the idle window's decision (wanted 1)
			 * applied. */
			if (t_out >= 0 && n == 2 && t_in < 0
			    && sys_metric("rideshare_orch_wanted_slaves") == 1)
				t_in = rs_time_now_ms() - t_first;
		}
		if (t_in >= 0)
			break;
		rs_time_sleep_ms(20);
	}
	printf("scale-out to 1 master + %d slaves at %lld ms after the first "
	       "read (wanted %.0f, target %.0f); "
	       "back to 1 slave at %lld ms; max workers seen %lld; min %d\n",
	    want_workers - 1, (long long) t_out, wanted_at_out, target_at_out,
	    (long long) t_in, (long long) seen_max, min_after);
	if (t_out < 0 || seen_max != want_workers) {
		fprintf(stderr,
		    "FAIL: 45 reads did not give exactly %d slaves (cap %d)\n",
		    want_workers - 1, cap);
		rc = 1;
	}
	/* The course rule is the demand signal whatever the cap. */
	if (wanted_at_out != 3 || target_at_out != want_workers - 1) {
		fprintf(stderr,
		    "FAIL: /metrics wanted %.0f target %.0f, expected 3 and "
		    "%d\n",
		    wanted_at_out, target_at_out, want_workers - 1);
		rc = 1;
	}
	if (cap < 3 && sys_metric("rideshare_orch_scale_capped_total") < 1) {
		fprintf(
		    stderr, "FAIL: the cap bound but no decision counted\n");
		rc = 1;
	}
	if (t_in < 0) {
		fprintf(
		    stderr, "FAIL: the idle window did not scale back to 1\n");
		rc = 1;
	}
	if (min_after < 2) {
		fprintf(stderr, "FAIL: the tier had %d workers (0 slaves)\n",
		    min_after - 1);
		rc = 1;
	}
	/* And it stays at 1 slave, never 0, through another idle window. */
	if (!two_workers_for(6000, 50, "in an idle window"))
		rc = 1;
	printf("%s\n", rc == 0 ? "PASS" : "FAIL");
	return rc;
}
