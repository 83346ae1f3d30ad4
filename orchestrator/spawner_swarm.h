/* Swarm spawner settings (RIDESHARE_SWARM_*): one swarm service per
 * worker through the Docker Engine API of a swarm manager. */
#ifndef RS_ORCH_SPAWNER_SWARM_H
#define RS_ORCH_SPAWNER_SWARM_H

#include "spawner.h"

/* Writes a volume name into buf (len bytes): RS_OK, RS_ENOTFOUND when
 * none is recorded, or another error (then ignored). */
typedef int (*rs_orch_volume_fn)(void *arg, char *buf, size_t len);

typedef struct rs_orch_swarm_cfg {
	const char *socket; /* a manager's Engine API: /var/run/docker.sock */
	const char *image; /* rideshare/worker:latest, run by its local id */
	const char *network; /* overlay network (name or id); NULL: none */
	const char *label; /* key=value put on every service */
	const char *api_version; /* "v1.41" */
	const char *name_prefix; /* "rideshare-worker-" */
	/* Comma-separated "secret-name:file-name": swarm secrets mounted at
	 * /run/secrets/<file-name> (mode 0400) in every worker. */
	const char *secrets;
	/* Comma-separated placement constraints ("node.role==worker"). */
	const char *constraints;
	/* Container path of a volume of the worker's own, "<service>-data"
	 * (its PostgreSQL data with the worker-pg image); NULL: none. */
	const char *volume;
	/* Comma-separated kept volumes a new worker takes over first
	 * (swarm_volume.h); NULL: none. */
	const char *volumes_first;
	/* The volume the last master named (RS_ZK_MASTER_VOLUME), taken
	 * over before volumes_first when free; NULL: none. */
	rs_orch_volume_fn recorded_volume;
	void *recorded_arg;
	int start_timeout_ms; /* until the task runs (spawn fails after) */
	const char *const *fixed_env; /* as for the process backend */
} rs_orch_swarm_cfg;

/* The worker "pid" of a swarm task: node_index * RS_ORCH_SWARM_PID_NODE
 * + the task's pid on its node (Linux pids stay below 2^22). node_index
 * is the node's label org.rideshare.node-index (0 when absent). */
#define RS_ORCH_SWARM_PID_NODE 10000000LL

/* Swarm backend: services through the Engine API on a unix socket.
 * publish_pid is called with the worker's pid once its task runs.
 * RS_OK and *out, or RS_ENOMEM. */
int rs_orch_spawner_swarm_create(const rs_orch_swarm_cfg *cfg,
    rs_orch_pid_fn publish_pid, void *arg, rs_orch_spawner **out);

#endif
