/* rideshare-rides: the rides REST service (API.md). Wiring only: the
 * routes of rides.c on port 8082, run by rs_gw_service_run, plus the user
 * check through the edge (set up before the server starts). */
#include "rides.h"
#include "rs_cfg.h"
#include "rs_gw_service.h"
#include "usercheck.h"

static int
start_usercheck(const char *name)
{
	return rides_usercheck_init(
	    rs_cfg_str("RIDESHARE_EDGE_URL", "http://127.0.0.1:8080"), name,
	    (int) rs_cfg_long("RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000));
}

int
main(void)
{
	static const rs_gw_service_hooks hooks
	    = { start_usercheck, rides_usercheck_thread_fini };

	return rs_gw_service_run(
	    "rides", 8082, rides_routes, rides_nroutes, &hooks);
}
