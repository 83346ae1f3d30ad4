/* The whole life of a REST service process (users, rides): signals, name
 * and logging, TZ, HTTP and RPC configuration from the environment, start,
 * wait for SIGTERM/SIGINT, stop. Each service's main.c only names itself
 * and hands over its routes. */
#ifndef RS_GW_SERVICE_H
#define RS_GW_SERVICE_H

#include "rs_http.h"

#include <stddef.h>

/* What a service adds around the shared life (either may be NULL). start
 * runs after logging and the RPC client are set up, before the HTTP server
 * starts; name is the service name (RIDESHARE_SERVICE_NAME). stop runs on
 * the main thread after the server has stopped. */
typedef struct {
	int (*start)(const char *name);
	void (*stop)(void);
} rs_gw_service_hooks;

/* Runs the service named default_name (RIDESHARE_SERVICE_NAME overrides
 * it) on RIDESHARE_HTTP_PORT (default_port when unset) with routes[0..n)
 * until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean
 * stop, 1 when a start hook or the HTTP server failed to start. A bad
 * environment value exits 2 (rs_cfg_die). hooks may be NULL. */
int rs_gw_service_run(const char *default_name, int default_port,
    const rs_http_route *routes, size_t n, const rs_gw_service_hooks *hooks);

#endif
