/* rideshare-rides: the rides REST service (API.md). Wiring only: config,
 * logging, RPC client, user check through the edge, HTTP server, wait for
 * SIGTERM/SIGINT, stop. */
#include "rides.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_gw.h"
#include "rs_log.h"
#include "usercheck.h"

#include <stdlib.h>

int
main(void)
{
	const char *name;
	rs_http_cfg cfg;
	rs_http *srv;
	int sig;

	rs_gw_signals_block();
	name = rs_cfg_str("RIDESHARE_SERVICE_NAME", "rides");
	if (rs_log_init(name) != RS_OK)
		rs_cfg_die("RIDESHARE_LOG_LEVEL",
		    getenv("RIDESHARE_LOG_LEVEL"),
		    "not one of debug, info, warn, error");
	rs_gw_time_init();
	rs_http_cfg_from_env(&cfg, name, 8082);
	rs_gw_rpc_init_from_env();
	if (rides_usercheck_init(
	        rs_cfg_str("RIDESHARE_EDGE_URL", "http://127.0.0.1:8080"),
	        name,
	        (int) rs_cfg_long(
	            "RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000))
	    != RS_OK)
		return 1;
	if (rs_http_start(&cfg, rides_routes, rides_nroutes, &srv) != RS_OK)
		return 1;
	sig = rs_gw_signals_wait();
	rs_info(NULL, "event=stopping signal=%d", sig);
	rs_http_stop(srv);
	rs_gw_rpc_thread_fini();
	rides_usercheck_thread_fini();
	return 0;
}
