#include "config.h"
#include "rs_endpoint.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_pbjson.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
worker_bin(char *out, size_t len, const char *argv0)
{
	const char *v = rs_cfg_str("RIDESHARE_WORKER_BIN", NULL);
	char self[4096];
	ssize_t n;

	if (v != NULL) {
		snprintf(out, len, "%s", v);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = '\0';
	else
		snprintf(self, sizeof(self), "%s", argv0);
	snprintf(out, len, "%s/rideshare-worker", dirname(self));
}

void
rs_orch_cfg_load(rs_orch_cfg *c, const char *argv0)
{
	const char *zk = rs_cfg_str("RIDESHARE_ZK_HOSTS", NULL);

	memset(c, 0, sizeof(*c));
	rs_endpoint_amqp_url(c->amqp_url, sizeof(c->amqp_url));
	if (zk != NULL)
		snprintf(c->zk_hosts, sizeof(c->zk_hosts), "%s", zk);
	else
		snprintf(c->zk_hosts, sizeof(c->zk_hosts), "127.0.0.1:%d",
		    rs_endpoint_port("RIDESHARE_ZK_PORT", 24, 8104));
	if (rs_cfg_str("RIDESHARE_PG_CONNINFO", NULL) != NULL)
		snprintf(c->pg_conninfo, sizeof(c->pg_conninfo), "%s",
		    rs_cfg_str("RIDESHARE_PG_CONNINFO", NULL));
	else
		snprintf(c->pg_conninfo, sizeof(c->pg_conninfo),
		    "host=127.0.0.1 port=%d user=postgres dbname=postgres",
		    rs_endpoint_port("RIDESHARE_PG_PORT", 20, 8100));
	/* A URL with credentials that came from a file reaches the workers
	 * as that file's path, not as a value in their environment. */
	if (getenv("RIDESHARE_AMQP_URL") == NULL
	    && getenv("RIDESHARE_AMQP_URL_FILE") != NULL)
		snprintf(c->env_amqp, sizeof(c->env_amqp),
		    "RIDESHARE_AMQP_URL_FILE=%s",
		    getenv("RIDESHARE_AMQP_URL_FILE"));
	else
		snprintf(c->env_amqp, sizeof(c->env_amqp),
		    "RIDESHARE_AMQP_URL=%s", c->amqp_url);
	snprintf(c->env_zk, sizeof(c->env_zk), "RIDESHARE_ZK_HOSTS=%s",
	    c->zk_hosts);
	/* The password file travels inside the conninfo: worker containers
	 * get only RIDESHARE_* variables (and the file through a bind). */
	if (getenv("PGPASSFILE") != NULL && *getenv("PGPASSFILE") != '\0'
	    && strstr(c->pg_conninfo, "passfile=") == NULL)
		snprintf(c->env_pg, sizeof(c->env_pg),
		    "RIDESHARE_PG_CONNINFO=%s passfile=%s", c->pg_conninfo,
		    getenv("PGPASSFILE"));
	else
		snprintf(c->env_pg, sizeof(c->env_pg),
		    "RIDESHARE_PG_CONNINFO=%s", c->pg_conninfo);
	c->worker_env[0] = c->env_amqp;
	c->worker_env[1] = c->env_zk;
	c->worker_env[2] = c->env_pg;
	c->worker_env[3] = NULL;
	c->zk_session_ms
	    = (int) rs_cfg_long("RIDESHARE_ZK_SESSION_MS", 800, 100, 600000);
	c->http_addr = rs_cfg_str("RIDESHARE_HTTP_ADDR", "127.0.0.1");
	if (getenv("RIDESHARE_HTTP_PORT") != NULL
	    && *getenv("RIDESHARE_HTTP_PORT") != '\0')
		c->http_port = rs_cfg_port("RIDESHARE_HTTP_PORT", 8090);
	else
		c->http_port
		    = rs_endpoint_port("RIDESHARE_ADMIN_PORT", 10, 8090);
	/* One thread per open connection (gateway/rs_http.h): enough that
	 * idle and slow clients cannot take them all. */
	c->http_threads
	    = (int) rs_cfg_long("RIDESHARE_HTTP_THREADS", 512, 1, 8192);
	c->body_limit
	    = rs_cfg_long("RIDESHARE_BODY_LIMIT", 1048576, 1, 1L << 30);
	c->http_request_timeout_ms = (int) rs_cfg_long(
	    "RIDESHARE_HTTP_REQUEST_TIMEOUT_MS", 10000, 100, 3600000);
	/* Read by rs_pbjson for db/read|write bodies; checked here so that a
	 * bad value stops the start instead of silently meaning 64. */
	(void) rs_cfg_long("RIDESHARE_JSON_MAX_DEPTH",
	    RS_PBJSON_MAX_DEPTH_DEFAULT, 1, RS_PBJSON_MAX_DEPTH_CAP);
	{
		char why[160];
		const char *var = NULL;
		int rv = rs_endpoint_admin_token(c->admin_token,
		    sizeof(c->admin_token), &var, why, sizeof(why));

		/* A token is never echoed; a file name is. */
		if (rv == RS_EINVAL)
			rs_cfg_die(var,
			    strcmp(var, "RIDESHARE_ADMIN_TOKEN") == 0
			        ? "(not shown)"
			        : getenv(var),
			    why);
		c->admin_token_src = rv == RS_OK ? var : NULL;
		if (rv != RS_OK)
			c->admin_token[0] = '\0';
		/* Workers are spawned with our environment and have no use
		 * for the token: keep it out of every other process. */
		unsetenv("RIDESHARE_ADMIN_TOKEN");
	}
	c->rpc_timeout_ms
	    = (int) rs_cfg_long("RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000);
	c->scale_window_s
	    = (int) rs_cfg_long("RIDESHARE_SCALE_WINDOW_S", 120, 1, 86400);
	c->min_slaves = (int) rs_cfg_long("RIDESHARE_MIN_SLAVES", 1, 1, 32);
	/* Unset (0): the cap comes from what the spawner's hosts can use
	 * (capacity.h), once the spawner exists. */
	c->max_slaves = rs_cfg_str("RIDESHARE_MAX_SLAVES", NULL) == NULL
	    ? 0
	    : (int) rs_cfg_long("RIDESHARE_MAX_SLAVES", 16, c->min_slaves, 32);
	c->slaves_per_node
	    = (int) rs_cfg_long("RIDESHARE_SLAVES_PER_NODE", 0, 0, 32);
	c->start_timeout_ms = (int) rs_cfg_long(
	    "RIDESHARE_WORKER_START_TIMEOUT_MS", 60000, 100, 3600000);
	c->stop_timeout_ms = (int) rs_cfg_long(
	    "RIDESHARE_WORKER_STOP_TIMEOUT_MS", 10000, 100, 3600000);
	/* A worker that lost its session re-registers in well under a
	 * second once ZooKeeper answers; 15 s also covers a ZooKeeper
	 * restart by the stack's supervisor. */
	c->rejoin_grace_ms = (int) rs_cfg_long(
	    "RIDESHARE_WORKER_REJOIN_GRACE_MS", 15000, 0, 3600000);
	c->retire_every_ms = (int) rs_cfg_long(
	    "RIDESHARE_RETIRE_EVERY_MS", 10000, 100, 3600000);
	c->connect_wait_ms = (int) rs_cfg_long(
	    "RIDESHARE_CONNECT_WAIT_MS", 30000, 0, 3600000);
	c->spawner = rs_cfg_str("RIDESHARE_SPAWNER", "process");
	if (strcmp(c->spawner, "process") != 0
	    && strcmp(c->spawner, "docker") != 0
	    && strcmp(c->spawner, "swarm") != 0)
		rs_cfg_die("RIDESHARE_SPAWNER", c->spawner,
		    "expected \"process\", \"docker\" or \"swarm\"");
	worker_bin(c->worker_bin, sizeof(c->worker_bin), argv0);
	c->docker.socket
	    = rs_cfg_str("RIDESHARE_DOCKER_SOCKET", "/var/run/docker.sock");
	c->docker.image = rs_cfg_str(
	    "RIDESHARE_DOCKER_WORKER_IMAGE", "rideshare/worker:latest");
	c->docker.network = rs_cfg_str("RIDESHARE_DOCKER_NETWORK", NULL);
	c->docker.label = rs_cfg_str(
	    "RIDESHARE_DOCKER_LABEL", "org.rideshare.project=rideshare-c");
	c->docker.api_version
	    = rs_cfg_str("RIDESHARE_DOCKER_API_VERSION", "v1.41");
	c->docker.fixed_env = c->worker_env;
	c->docker.name_prefix
	    = rs_cfg_str("RIDESHARE_DOCKER_NAME_PREFIX", "rideshare-worker-");
	c->docker.binds = rs_cfg_str("RIDESHARE_DOCKER_BINDS", NULL);
	/* Swarm: the docker settings' defaults, then RIDESHARE_SWARM_*. */
	c->swarm.socket
	    = rs_cfg_str("RIDESHARE_SWARM_SOCKET", c->docker.socket);
	c->swarm.image
	    = rs_cfg_str("RIDESHARE_SWARM_WORKER_IMAGE", c->docker.image);
	c->swarm.network
	    = rs_cfg_str("RIDESHARE_SWARM_NETWORK", c->docker.network);
	c->swarm.label = rs_cfg_str("RIDESHARE_SWARM_LABEL", c->docker.label);
	c->swarm.api_version = c->docker.api_version;
	c->swarm.name_prefix
	    = rs_cfg_str("RIDESHARE_SWARM_NAME_PREFIX", c->docker.name_prefix);
	c->swarm.secrets = rs_cfg_str("RIDESHARE_SWARM_SECRETS", NULL);
	c->swarm.constraints = rs_cfg_str("RIDESHARE_SWARM_CONSTRAINTS", NULL);
	c->swarm.volume = rs_cfg_str("RIDESHARE_SWARM_WORKER_VOLUME", NULL);
	c->swarm.volumes_first
	    = rs_cfg_str("RIDESHARE_SWARM_VOLUMES_FIRST", NULL);
	c->swarm.start_timeout_ms = c->start_timeout_ms;
	c->swarm.fixed_env = c->worker_env;
}
