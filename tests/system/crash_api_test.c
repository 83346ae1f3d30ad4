/* Crash API (issue 8): with 1 master + 2 slaves (RIDESHARE_MIN_SLAVES=2),
 *  - POST /api/v1/crash/slave kills the slave with the highest pid and
 *    answers ["<pid>"]; worker/list drops it at once and stays sorted;
 *  - POST /api/v1/crash/master kills the master; the new master is the
 *    slave that had the lowest pid; worker/list stays sorted and correct;
 *  - wrong methods get 405, and the tier heals back to 3 workers. */
#include "orch_sys.h"
#include "rs_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
sorted_without(const int64_t *p, int n, int64_t gone)
{
	for (int i = 0; i < n; i++) {
		if (p[i] == gone || (i > 0 && p[i - 1] >= p[i]))
			return false;
	}
	return true;
}

int
main(void)
{
	int64_t list[16], master, slaves[16], victim, new_master, low;
	int n, ns;
	int64_t t0, t;

	rs_log_init("crash_api_test");
	sys_init();
	CHECK(sys_wait_workers(3, 60000) >= 0, "no 1 master + 2 slaves");
	n = sys_worker_list(list, 16);
	ns = sys_roles(&master, slaves, 16);
	printf(
	    "workers=%d master=%lld slaves=%d\n", n, (long long) master, ns);
	CHECK(n == 3 && ns == 2 && master > 0, "unexpected tier");
	CHECK(sorted_without(list, n, -1), "worker/list not ascending");

	/* Slave crash: the highest pid. */
	int64_t top = slaves[0] > slaves[1] ? slaves[0] : slaves[1];
	CHECK(sys_crash("slave", &victim) == 200, "crash/slave not 200");
	printf("crash/slave killed %lld (highest slave %lld)\n",
	    (long long) victim, (long long) top);
	CHECK(victim == top, "crash/slave did not kill the highest-pid slave");
	n = sys_worker_list(list, 16);
	CHECK(n == 2 && sorted_without(list, n, victim),
	    "worker/list right after crash/slave still lists %lld or unsorted",
	    (long long) victim);
	t0 = rs_time_now_ms();
	t = sys_wait_workers(3, 10000);
	CHECK(t >= 0, "no replacement slave");
	printf("replacement slave serving after %lld ms\n",
	    (long long) (rs_time_now_ms() - t0));

	/* Master crash: the lowest-pid slave takes over. */
	ns = sys_roles(&master, slaves, 16);
	low = slaves[0] < slaves[1] ? slaves[0] : slaves[1];
	CHECK(ns == 2, "want 2 slaves before crash/master");
	CHECK(sys_crash("master", &victim) == 200, "crash/master not 200");
	CHECK(victim == master, "crash/master killed %lld, master was %lld",
	    (long long) victim, (long long) master);
	n = sys_worker_list(list, 16);
	CHECK(sorted_without(list, n, victim),
	    "worker/list right after crash/master still lists the master");
	t0 = rs_time_now_ms();
	new_master = 0;
	while (rs_time_now_ms() - t0 < 10000) {
		if (sys_roles(&new_master, slaves, 16) >= 0 && new_master > 0
		    && new_master != victim)
			break;
		rs_time_sleep_ms(10);
	}
	printf("crash/master killed %lld; new master %lld after %lld ms "
	       "(lowest-pid slave was %lld)\n",
	    (long long) victim, (long long) new_master,
	    (long long) (rs_time_now_ms() - t0), (long long) low);
	CHECK(new_master == low, "new master is not the lowest-pid slave");
	CHECK(sys_wait_workers(3, 10000) >= 0, "tier did not heal to 3");
	n = sys_worker_list(list, 16);
	CHECK(n == 3 && sorted_without(list, n, victim), "final list wrong");
	ns = sys_roles(&master, slaves, 16);
	CHECK(master == new_master && ns == 2, "roles after healing");

	/* Wrong methods. */
	CHECK(sys_admin("GET", "/api/v1/crash/master", NULL) == 405,
	    "GET crash/master not 405");
	CHECK(sys_admin("POST", "/api/v1/worker/list", NULL) == 405,
	    "POST worker/list not 405");
	printf("%s\n", sys_failed == 0 ? "PASS" : "FAIL");
	return sys_failed;
}
