/* The orchestrator's and rsctl's settings from the environment
 * (docs/conventions.md). Addresses not given explicitly derive from
 * RIDESHARE_PORT_BASE like the stack script's. */
#ifndef RS_ORCH_CONFIG_H
#define RS_ORCH_CONFIG_H

#include "rs_endpoint.h"

#include "spawner.h"
#include "spawner_swarm.h"

#include <stddef.h>

typedef struct rs_orch_cfg {
	char amqp_url[512];
	char zk_hosts[512];
	char pg_conninfo[512]; /* handed to workers (they own the databases) */
	/* "KEY=value" entries set on every worker: the endpoints above. */
	char env_amqp[600], env_zk[600], env_pg[600];
	const char *worker_env[4];
	int zk_session_ms;
	const char *http_addr;
	int http_port;
	int http_threads;
	long body_limit;
	int http_request_timeout_ms;
	/* Bearer token of the state-changing admin calls; "" = none (the
	 * admin API is open: loopback-only local stack). */
	char admin_token[RS_ADMIN_TOKEN_MAX + 1];
	const char *admin_token_src; /* the variable it came from, or NULL */
	int rpc_timeout_ms;
	int scale_window_s;
	int min_slaves;
	int max_slaves; /* RIDESHARE_MAX_SLAVES; 0 = unset: capacity.h */
	int slaves_per_node; /* RIDESHARE_SLAVES_PER_NODE; 0 = one per CPU */
	int start_timeout_ms;
	int stop_timeout_ms;
	int rejoin_grace_ms; /* RIDESHARE_WORKER_REJOIN_GRACE_MS */
	int retire_every_ms; /* RIDESHARE_RETIRE_EVERY_MS */
	int connect_wait_ms;
	const char *spawner; /* "process", "docker" or "swarm" */
	char worker_bin[4096];
	rs_orch_docker_cfg docker;
	rs_orch_swarm_cfg swarm; /* RIDESHARE_SWARM_* */
} rs_orch_cfg;

/* Reads every setting; exits with code 2 naming the variable on a bad
 * value. argv0 locates the default worker binary (next to ours). */
void rs_orch_cfg_load(rs_orch_cfg *c, const char *argv0);

#endif
