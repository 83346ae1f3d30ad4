/* Process life of a REST service. See rs_gw_service.h. */
#include "rs_gw_service.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_gw.h"
#include "rs_log.h"

#include <stdlib.h>

int
rs_gw_service_run(const char *default_name, int default_port,
    const rs_http_route *routes, size_t n, const rs_gw_service_hooks *hooks)
{
	const char *name;
	rs_http_cfg cfg;
	rs_http *srv;
	int sig;

	/* First: every thread started from here on inherits the mask. */
	rs_gw_signals_block();
	name = rs_cfg_str("RIDESHARE_SERVICE_NAME", default_name);
	if (rs_log_init(name) != RS_OK)
		rs_cfg_die("RIDESHARE_LOG_LEVEL",
		    getenv("RIDESHARE_LOG_LEVEL"),
		    "not one of debug, info, warn, error");
	rs_gw_time_init();
	rs_http_cfg_from_env(&cfg, name, default_port);
	rs_gw_rpc_init_from_env();
	if (hooks != NULL && hooks->start != NULL
	    && hooks->start(name) != RS_OK)
		return 1;
	if (rs_http_start(&cfg, routes, n, &srv) != RS_OK)
		return 1;
	sig = rs_gw_signals_wait();
	rs_info(NULL, "event=stopping signal=%d", sig);
	rs_http_stop(srv);
	rs_gw_rpc_fini();
	if (hooks != NULL && hooks->stop != NULL)
		hooks->stop();
	return 0;
}
