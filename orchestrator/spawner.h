/* How workers are started and stopped: one interface, one backend per
 * file (spawner_process.c: fork/exec; spawner_docker.c: Docker Engine API).
 * A worker is named by its id (w<n>-<random>); its pid is the pid as the
 * spawner sees it (OS pid, or the container's State.Pid on the host).
 *
 * Every function is safe to call from any thread (one lock per spawner):
 * the supervisor spawns and reaps, the admin API kills. */
#ifndef RS_ORCH_SPAWNER_H
#define RS_ORCH_SPAWNER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rs_orch_spawner rs_orch_spawner;

/* Reports one worker that ended; how = "exit 0", "signal 9", ... */
typedef void (*rs_orch_exit_fn)(
    void *arg, const char *id, int64_t pid, const char *how);

/* Publishes a worker's pid where it waits for it (docker: the znode
 * /rideshare/pids/<id>). */
typedef int (*rs_orch_pid_fn)(void *arg, const char *id, int64_t pid);

struct rs_orch_spawner_ops {
	const char *name;
	int (*spawn)(void *impl, const char *id, int64_t *pid);
	int (*signal)(void *impl, const char *id, int64_t pid, int sig);
	int (*reap)(void *impl, rs_orch_exit_fn fn, void *arg);
	int (*count)(void *impl);
	/* Takes over a running worker another orchestrator started. */
	int (*adopt)(void *impl, const char *id, int64_t pid);
	/* Slaves the backend's hosts can use (rs_orch_spawner_capacity);
	 * <= 0: unknown. */
	int (*capacity)(void *impl, int per_node);
	/* One more "KEY=value" for the workers spawned from now on (NULL:
	 * none); NULL op: the backend cannot (rs_orch_spawner_set_env). */
	int (*set_env)(void *impl, const char *kv);
	void (*destroy)(void *impl);
};

struct rs_orch_spawner {
	const struct rs_orch_spawner_ops *ops;
	void *impl;
	pthread_mutex_t lock;
};

/* Wraps a backend (takes ownership of impl). */
int rs_orch_spawner_wrap(
    const struct rs_orch_spawner_ops *ops, void *impl, rs_orch_spawner **out);

/* Starts worker id; on RS_OK *pid is its pid. The worker then registers
 * in ZooKeeper on its own. */
int rs_orch_spawner_spawn(rs_orch_spawner *sp, const char *id, int64_t *pid);

/* Sends sig (SIGKILL: crash, SIGTERM: graceful stop) to worker id. pid is
 * used for workers this spawner did not start (process backend only).
 * RS_ENOTFOUND when no such worker runs. */
int rs_orch_spawner_signal(
    rs_orch_spawner *sp, const char *id, int64_t pid, int sig);

/* Calls fn for every worker that ended since the last call, and forgets
 * it (the process is reaped, the container removed). */
int rs_orch_spawner_reap(rs_orch_spawner *sp, rs_orch_exit_fn fn, void *arg);

/* Takes over worker id (pid as registered in ZooKeeper) that a previous
 * orchestrator started: from now on signal and reap treat it as if this
 * spawner had started it (the process backend watches /proc/<pid>, since
 * an orphan cannot be waited for; docker looks the container up by name).
 * RS_ENOTFOUND when no such worker runs; RS_EEXIST when already ours. */
int rs_orch_spawner_adopt(rs_orch_spawner *sp, const char *id, int64_t pid);

/* Sets one more "KEY=value" (copied) in the environment of every worker
 * spawned from now on, over the inherited one; kv NULL removes it. Used
 * by the restore into a running cluster (restore.h) for
 * RIDESHARE_RESTORE_FROM. RS_ESTATE when the backend cannot (docker and
 * swarm: the file is not in the containers), RS_ENOMEM. */
int rs_orch_spawner_set_env(rs_orch_spawner *sp, const char *kv);

/* Workers started and not reaped yet. */
int rs_orch_spawner_count(rs_orch_spawner *sp);

/* Slaves the hosts this spawner starts workers on can use (capacity.h):
 * per_node (RIDESHARE_SLAVES_PER_NODE; 0 = unset) slaves per node, or else
 * one per CPU of the node. process: this machine; docker: the daemon's
 * host (GET /info NCPU); swarm: the sum over ready, active nodes (GET
 * /nodes, NanoCPUs). Falls back to this machine's CPUs (capacity.h
 * rs_orch_local_cpus) when the backend cannot tell. Called once at start:
 * the daemon call may take up to RS_ORCH_ENGINE_TIMEOUT_MS. */
int rs_orch_spawner_capacity(rs_orch_spawner *sp, int per_node);

const char *rs_orch_spawner_name(rs_orch_spawner *sp);
void rs_orch_spawner_destroy(rs_orch_spawner *sp);

/* Process backend: fork/exec worker_bin with RIDESHARE_WORKER_ID and
 * RIDESHARE_WORKER_PID (the child's own pid) added to the environment.
 * fixed_env (NULL-terminated "KEY=value" list, copied; may be NULL) is set
 * on every worker, overriding the inherited values: the endpoints the
 * orchestrator resolved, so that workers never disagree with it. */
int rs_orch_spawner_process_create(const char *worker_bin,
    const char *const *fixed_env, rs_orch_spawner **out);

/* Docker backend settings (RIDESHARE_DOCKER_*). */
typedef struct rs_orch_docker_cfg {
	const char *socket; /* /var/run/docker.sock */
	const char *image; /* rideshare/worker:latest */
	const char *network; /* NULL: daemon default */
	const char *label; /* key=value put on every container */
	const char *api_version; /* "v1.41" */
	const char *name_prefix; /* "rideshare-worker-" */
	const char *const *fixed_env; /* as for the process backend */
	/* Comma-separated "host-path:container-path[:ro]" bind mounts for
	 * every worker (the deployment's secret files); NULL: none. */
	const char *binds;
} rs_orch_docker_cfg;

/* Docker backend: containers through the Engine API on a unix socket.
 * publish_pid is called with the container's State.Pid once it runs. */
int rs_orch_spawner_docker_create(const rs_orch_docker_cfg *cfg,
    rs_orch_pid_fn publish_pid, void *arg, rs_orch_spawner **out);

/* Builds the worker's environment: the variables of env (only the
 * RIDESHARE_* ones when only_rideshare) except those the spawner sets and
 * those extra or fixed set again, then RIDESHARE_WORKER_ID=id, fixed and
 * extra (both NULL-terminated, may be NULL). Returns a NULL-terminated
 * malloc'd array of malloc'd strings (rs_orch_env_free), or NULL. */
char **rs_orch_worker_env(char *const *env, const char *id,
    const char *const *fixed, const char *const *extra, bool only_rideshare);
void rs_orch_env_free(char **env);
/* Copies a NULL-terminated string list (NULL -> an empty list). */
char **rs_orch_env_dup(const char *const *list);

#endif
