/* rideshare-users: the users REST service (API.md). Wiring only: config,
 * logging, RPC client, HTTP server, wait for SIGTERM/SIGINT, stop. */
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_gw.h"
#include "rs_log.h"
#include "users.h"

#include <stdlib.h>

int
main(void)
{
	const char *name;
	rs_http_cfg cfg;
	rs_http *srv;
	int sig;

	rs_gw_signals_block();
	name = rs_cfg_str("RIDESHARE_SERVICE_NAME", "users");
	if (rs_log_init(name) != RS_OK)
		rs_cfg_die("RIDESHARE_LOG_LEVEL",
		    getenv("RIDESHARE_LOG_LEVEL"),
		    "not one of debug, info, warn, error");
	rs_gw_time_init();
	rs_http_cfg_from_env(&cfg, name, 8081);
	rs_gw_rpc_init_from_env();
	if (rs_http_start(&cfg, users_routes, users_nroutes, &srv) != RS_OK)
		return 1;
	sig = rs_gw_signals_wait();
	rs_info(NULL, "event=stopping signal=%d", sig);
	rs_http_stop(srv);
	rs_gw_rpc_thread_fini();
	return 0;
}
