/* Docker spawner: worker containers through the Docker Engine HTTP API on
 * its unix socket (libcurl CURLOPT_UNIX_SOCKET_PATH).
 *
 *   spawn  = POST /containers/create?name=<prefix><id>, POST .../start,
 *            GET .../json (State.Pid), then publish the pid in ZooKeeper
 *            (/rideshare/pids/<id>: the worker waits for it, since inside
 *            its container it is pid 1).
 *   signal = POST .../kill?signal=SIGKILL|SIGTERM
 *   reap   = GET .../json of each container (at most every 200 ms);
 *            ended ones are removed (DELETE ?force=true).
 * Errors: socket unreachable -> RS_ECONN, 404 -> RS_ENOTFOUND,
 * 409 -> RS_EEXIST (create) / RS_ESTATE (kill: not running),
 * other non-2xx -> RS_EIO; the daemon's "message" is logged. */
#include "spawner.h"
#include "engine_api.h"
#include "rs_buf.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

#define REAP_EVERY_MS 200

struct box {
	char id[64];
	char name[160];
	int64_t pid;
};

struct docker {
	char *socket, *image, *network, *label_key, *label_val, *api, *prefix;
	char *binds; /* "a:b:ro,c:d:ro" or NULL */
	char **fixed;
	rs_orch_pid_fn publish;
	void *publish_arg;
	struct box *boxes;
	size_t n, cap;
	int64_t last_reap_ms;
};

static int
call(struct docker *d, const char *method, const char *path, const char *body,
    int conflict, json_t **reply)
{
	return rs_orch_engine_call(
	    d->socket, d->api, method, path, body, conflict, reply);
}

static char *
create_body(struct docker *d, const char *id, const char *name)
{
	char host[200], *s;
	bool host_net;
	const char *extra[] = { "RIDESHARE_WORKER_PID_ZNODE=1", host, NULL };
	char **env;
	json_t *o, *jenv, *labels, *hostcfg;

	/* On the host's network (RIDESHARE_DOCKER_NETWORK=host, e.g. workers
	 * of a local stack) a container has no name of its own to bind to. */
	host_net = d->network != NULL && strcmp(d->network, "host") == 0;
	snprintf(host, sizeof(host), "RIDESHARE_NNG_HOST=%s",
	    host_net ? "127.0.0.1" : name);
	env = rs_orch_worker_env(
	    environ, id, (const char *const *) d->fixed, extra, true);
	if (env == NULL)
		return NULL;
	jenv = json_array();
	for (size_t i = 0; env[i] != NULL; i++)
		json_array_append_new(jenv, json_string(env[i]));
	rs_orch_env_free(env);
	labels = json_object();
	if (d->label_key != NULL)
		json_object_set_new(
		    labels, d->label_key, json_string(d->label_val));
	json_object_set_new(
	    labels, "org.rideshare.worker-id", json_string(id));
	hostcfg = json_object();
	if (d->network != NULL)
		json_object_set_new(
		    hostcfg, "NetworkMode", json_string(d->network));
	if (d->binds != NULL) {
		/* The deployment's secret files, read-only: the worker gets
		 * their paths (RIDESHARE_*_FILE), never their values. */
		json_t *jb = json_array();
		char *copy = strdup(d->binds), *save = NULL, *tok;

		for (tok = copy ? strtok_r(copy, ",", &save) : NULL;
		     tok != NULL; tok = strtok_r(NULL, ",", &save))
			if (*tok != '\0')
				json_array_append_new(jb, json_string(tok));
		free(copy);
		json_object_set_new(hostcfg, "Binds", jb);
	}
	o = json_pack("{s:s, s:o, s:o, s:o}", "Image", d->image, "Env", jenv,
	    "Labels", labels, "HostConfig", hostcfg);
	if (!host_net) /* the daemon refuses a hostname with network host */
		json_object_set_new(o, "Hostname", json_string(name));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* State.Pid and State.Running of a container. */
static int
inspect(struct docker *d, const char *name, int64_t *pid, bool *running,
    int *exit_code)
{
	char path[256];
	json_t *r = NULL, *st;
	int rv;

	snprintf(path, sizeof(path), "/containers/%s/json", name);
	rv = call(d, "GET", path, NULL, RS_EIO, &r);
	if (rv != RS_OK)
		return rv;
	st = json_object_get(r, "State");
	if (!json_is_object(st)) {
		json_decref(r);
		return RS_EPROTO;
	}
	*pid = json_integer_value(json_object_get(st, "Pid"));
	*running = json_is_true(json_object_get(st, "Running"));
	*exit_code = (int) json_integer_value(json_object_get(st, "ExitCode"));
	json_decref(r);
	return RS_OK;
}

static void
remove_box(struct docker *d, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s?force=true", name);
	(void) call(d, "DELETE", path, NULL, RS_OK, NULL);
}

/* Room for one more container in d->boxes: RS_OK or RS_ENOMEM. */
static int
grow(struct docker *d)
{
	struct box *b = rs_grow(d->boxes, &d->cap, d->n, sizeof(*b), 8);

	if (b == NULL)
		return RS_ENOMEM;
	d->boxes = b;
	return RS_OK;
}

/* Records a running container (spawned or adopted) in the room grow()
 * made. */
static void
add_box(struct docker *d, const char *id, const char *name, int64_t pid)
{
	struct box *b = &d->boxes[d->n++];

	snprintf(b->id, sizeof(b->id), "%s", id);
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->pid = pid;
}

static int
docker_spawn(void *impl, const char *id, int64_t *pid_out)
{
	struct docker *d = impl;
	char name[160], path[256], *body;
	int64_t pid = 0;
	bool running = false;
	int code = 0, rv;

	if (grow(d) != RS_OK)
		return RS_ENOMEM;
	snprintf(name, sizeof(name), "%s%s", d->prefix, id);
	if ((body = create_body(d, id, name)) == NULL)
		return RS_ENOMEM;
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	rv = call(d, "POST", path, body, RS_EEXIST, NULL);
	free(body);
	if (rv != RS_OK) {
		rs_error(NULL,
		    "event=spawn_failed spawner=docker id=%s step=create "
		    "image=%s err=%s",
		    id, d->image, rs_strerror(rv));
		return rv;
	}
	snprintf(path, sizeof(path), "/containers/%s/start", name);
	rv = call(d, "POST", path, NULL, RS_EIO, NULL);
	if (rv == RS_OK)
		rv = inspect(d, name, &pid, &running, &code);
	if (rv == RS_OK && (!running || pid <= 0))
		rv = RS_ESTATE;
	if (rv == RS_OK && d->publish != NULL)
		rv = d->publish(d->publish_arg, id, pid);
	if (rv != RS_OK) {
		rs_error(NULL,
		    "event=spawn_failed spawner=docker id=%s step=start "
		    "err=%s",
		    id, rs_strerror(rv));
		remove_box(d, name);
		return rv;
	}
	add_box(d, id, name, pid);
	*pid_out = pid;
	return RS_OK;
}

static int
docker_signal(void *impl, const char *id, int64_t pid, int sig)
{
	struct docker *d = impl;
	char path[256];
	const char *name = NULL;

	(void) pid; /* a host pid is no handle on a container */
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->boxes[i].id, id) == 0)
			name = d->boxes[i].name;
	}
	if (name == NULL)
		return RS_ENOTFOUND;
	snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s", name,
	    sig == SIGKILL       ? "SIGKILL"
	        : sig == SIGTERM ? "SIGTERM"
	                         : "SIGINT");
	return call(d, "POST", path, NULL, RS_ESTATE, NULL);
}

static int
docker_reap(void *impl, rs_orch_exit_fn fn, void *arg)
{
	struct docker *d = impl;
	int64_t now = rs_time_now_ms();
	size_t i = 0;

	if (now - d->last_reap_ms < REAP_EVERY_MS)
		return RS_OK;
	d->last_reap_ms = now;
	while (i < d->n) {
		int64_t pid = 0;
		bool running = false;
		int code = 0, rv;
		char how[32];

		rv = inspect(d, d->boxes[i].name, &pid, &running, &code);
		if (rv == RS_ECONN)
			return rv; /* daemon gone: nothing is known */
		if (rv == RS_OK && running) {
			i++;
			continue;
		}
		if (rv == RS_ENOTFOUND)
			snprintf(how, sizeof(how), "removed");
		else
			snprintf(how, sizeof(how), "exit %d", code);
		remove_box(d, d->boxes[i].name);
		fn(arg, d->boxes[i].id, d->boxes[i].pid, how);
		d->boxes[i] = d->boxes[--d->n];
	}
	return RS_OK;
}

static int
docker_adopt(void *impl, const char *id, int64_t pid_hint)
{
	struct docker *d = impl;
	char name[160];
	int64_t pid = 0;
	bool running = false;
	int code = 0, rv;

	(void) pid_hint; /* the container's name is the handle */
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->boxes[i].id, id) == 0)
			return RS_EEXIST;
	}
	if (grow(d) != RS_OK)
		return RS_ENOMEM;
	snprintf(name, sizeof(name), "%s%s", d->prefix, id);
	rv = inspect(d, name, &pid, &running, &code);
	if (rv != RS_OK)
		return rv;
	if (!running)
		return RS_ENOTFOUND;
	add_box(d, id, name, pid);
	return RS_OK;
}

static int
docker_count(void *impl)
{
	return (int) ((struct docker *) impl)->n;
}

/* One host: per_node, or the CPUs the daemon reports for its host. */
static int
docker_capacity(void *impl, int per_node)
{
	struct docker *d = impl;
	json_t *info = NULL;
	json_int_t ncpu = 0;

	if (per_node > 0)
		return per_node;
	if (call(d, "GET", "/info", NULL, RS_EIO, &info) == RS_OK)
		ncpu = json_integer_value(json_object_get(info, "NCPU"));
	json_decref(info);
	return ncpu > 0 && ncpu < 1024 ? (int) ncpu : 0;
}

static void
docker_destroy(void *impl)
{
	struct docker *d = impl;

	/* Running workers stay: they outlive the orchestrator, and the next
	 * one adopts them by name (docs/orchestrator.md "Shutdown and
	 * restart"); `compose.sh down` removes the deployment's containers. */
	free(d->boxes);
	free(d->socket);
	free(d->image);
	free(d->network);
	free(d->label_key);
	free(d->label_val);
	free(d->api);
	free(d->prefix);
	free(d->binds);
	rs_orch_env_free(d->fixed);
	free(d);
}

static const struct rs_orch_spawner_ops docker_ops = {
	.name = "docker",
	.spawn = docker_spawn,
	.signal = docker_signal,
	.reap = docker_reap,
	.count = docker_count,
	.adopt = docker_adopt,
	.capacity = docker_capacity,
	.destroy = docker_destroy,
};

static char *
dup_or_null(const char *s)
{
	return (s == NULL || *s == '\0') ? NULL : strdup(s);
}

int
rs_orch_spawner_docker_create(const rs_orch_docker_cfg *cfg,
    rs_orch_pid_fn publish_pid, void *arg, rs_orch_spawner **out)
{
	struct docker *d = calloc(1, sizeof(*d));
	const char *eq;

	if (d == NULL)
		return RS_ENOMEM;
	d->socket = strdup(cfg->socket ? cfg->socket : "/var/run/docker.sock");
	d->image = strdup(cfg->image ? cfg->image : "rideshare/worker:latest");
	d->network = dup_or_null(cfg->network);
	d->api = strdup(cfg->api_version ? cfg->api_version : "v1.41");
	d->prefix = strdup(
	    cfg->name_prefix ? cfg->name_prefix : "rideshare-worker-");
	if (cfg->label != NULL && *cfg->label != '\0') {
		eq = strchr(cfg->label, '=');
		d->label_key = eq
		    ? strndup(cfg->label, (size_t) (eq - cfg->label))
		    : strdup(cfg->label);
		d->label_val = strdup(eq ? eq + 1 : "");
	}
	d->fixed = rs_orch_env_dup(cfg->fixed_env);
	d->binds = dup_or_null(cfg->binds);
	d->publish = publish_pid;
	d->publish_arg = arg;
	if (d->socket == NULL || d->image == NULL || d->api == NULL
	    || d->prefix == NULL || d->fixed == NULL) {
		docker_destroy(d);
		return RS_ENOMEM;
	}
	return rs_orch_spawner_wrap(&docker_ops, d, out);
}
