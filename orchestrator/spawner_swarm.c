/* Swarm spawner: one swarm service per worker, through the Docker Engine
 * HTTP API of a swarm manager on its unix socket (docs/swarm.md).
 *
 *   spawn  = GET /images/<image>/json (the local image id: a service whose
 *            image is an id never tries a registry pull), GET /secrets and
 *            /networks (ids of the names configured), POST /services/create
 *            (1 replica, restart condition none: the orchestrator decides
 *            about replacements, endpoint mode dnsrr: no IPVS needed), then
 *            GET /tasks?filters={"service":[name]} until the task runs;
 *            pid = node-index * 10^7 + the task's pid on its node, published
 *            in ZooKeeper like the docker spawner's.
 *   signal = SIGKILL: POST /containers/<task container>/kill when the task
 *            runs on this daemon's node, else (and for SIGTERM) DELETE
 *            /services/<name>, which stops the task (SIGTERM, then SIGKILL
 *            after the grace period) wherever it runs.
 *   reap   = the task state of each service (at most every 200 ms); ended
 *            tasks (complete, failed, shutdown, rejected, orphaned, or the
 *            service gone) are reported and their services removed.
 *   adopt  = the service named <prefix><id> with a running task.
 *   destroy leaves the services running (the next orchestrator adopts).
 * With a volume path configured, each worker gets a kept volume that no
 * service or container uses (swarm_volume.h: an earlier worker's copy
 * comes back for full-cluster recovery), else the new volume
 * <prefix><id>-data there (its own PostgreSQL data, docs/swarm.md).
 * Errors: socket unreachable -> RS_ECONN, 404 -> RS_ENOTFOUND, 409 ->
 * RS_EEXIST (create), other non-2xx -> RS_EIO; a task that does not run
 * within start_timeout_ms -> RS_ETIMEDOUT. */
#include "spawner_swarm.h"
#include "engine_api.h"
#include "swarm_volume.h"
#include "rs_buf.h"
#include "rs_contract.h"
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
#define POLL_EVERY_MS 100
/* How long a bootstrap spawn waits for the last master's volume. */
#define RECORDED_WAIT_MS 30000
#define NODE_LABEL       "org.rideshare.node-index"

struct svc {
	char id[64];
	char name[160];
	int64_t pid;
};

struct swarm {
	char *socket, *image, *network, *label_key, *label_val, *api, *prefix;
	char *secrets, *constraints, *volume, *volumes_first;
	rs_orch_volume_fn recorded;
	void *recorded_arg;
	int start_timeout_ms;
	char **fixed;
	rs_orch_pid_fn publish;
	void *publish_arg;
	struct svc *svcs;
	size_t n, cap;
	int64_t last_reap_ms;
};

/* What a task of a service is doing. */
struct task {
	char state[24];
	char container[80];
	char node[64];
	int64_t host_pid;
	int exit_code;
	char err[200];
};

/* One Engine API call (engine_api.h). */
static int
call(struct swarm *s, const char *method, const char *path, const char *body,
    int conflict, json_t **reply)
{
	return rs_orch_engine_call(
	    s->socket, s->api, method, path, body, conflict, reply);
}

/* Percent-encodes s into out (URL query values). */
static void
url_encode(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0' && o + 4 < len; s++) {
		unsigned char ch = (unsigned char) *s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		    || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
		    || ch == '.') {
			out[o++] = (char) ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

/* Id of the object kind ("secrets", "networks") named name, into out. */
static int
lookup_id(
    struct swarm *s, const char *kind, const char *name, char *out, size_t len)
{
	char filt[512], enc[1024], path[1200];
	json_t *r = NULL;
	int rv;

	snprintf(filt, sizeof(filt), "{\"name\":[\"%s\"]}", name);
	url_encode(filt, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/%s?filters=%s", kind, enc);
	if ((rv = call(s, "GET", path, NULL, RS_EIO, &r)) != RS_OK)
		return rv;
	rv = RS_ENOTFOUND;
	/* The name filter matches prefixes too: take the exact name. */
	for (size_t i = 0; json_is_array(r) && i < json_array_size(r); i++) {
		json_t *o = json_array_get(r, i);
		const char *n = json_string_value(json_object_get(o, "Name"));
		const char *id = json_string_value(json_object_get(o, "ID"));

		if (n == NULL) { /* networks: Name at top level too, Id */
			json_t *sp = json_object_get(o, "Spec");
			n = json_string_value(json_object_get(sp, "Name"));
		}
		if (id == NULL)
			id = json_string_value(json_object_get(o, "Id"));
		if (n != NULL && id != NULL && strcmp(n, name) == 0) {
			snprintf(out, len, "%s", id);
			rv = RS_OK;
			break;
		}
	}
	json_decref(r);
	return rv;
}

static json_t *
labels_of(struct swarm *s, const char *id)
{
	json_t *l = json_object();

	if (s->label_key != NULL)
		json_object_set_new(
		    l, s->label_key, json_string(s->label_val));
	json_object_set_new(l, "org.rideshare.worker-id", json_string(id));
	return l;
}

/* The secret references of the service (secret ids looked up by name). */
static int
secrets_of(struct swarm *s, json_t **out)
{
	json_t *arr = json_array();
	char *copy, *save = NULL, *tok;
	int rv = RS_OK;

	*out = arr;
	if (s->secrets == NULL)
		return RS_OK;
	if ((copy = strdup(s->secrets)) == NULL)
		return RS_ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && rv == RS_OK;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), sid[128];
		const char *file = colon ? colon + 1 : tok;

		if (colon != NULL)
			*colon = '\0';
		if (*tok == '\0')
			continue;
		if ((rv = lookup_id(s, "secrets", tok, sid, sizeof(sid)))
		    != RS_OK) {
			rs_error(NULL,
			    "event=swarm_secret_missing name=%s err=%s", tok,
			    rs_strerror(rv));
			break;
		}
		json_array_append_new(arr,
		    json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}}", "SecretID",
		        sid, "SecretName", tok, "File", "Name", file, "UID",
		        "0", "GID", "0", "Mode", 0400));
	}
	free(copy);
	return rv;
}

/* The worker's own data (worker-pg): a named local volume that outlives
 * the task, labelled so that swarm.sh down finds it. A kept volume of an
 * earlier worker that nothing uses comes first (swarm_volume.h): its copy
 * is back on this worker's server for full-cluster recovery; the task then
 * must run on the node that holds it (*node set, else ""). Among kept
 * volumes the one the last master named (RS_ZK_MASTER_VOLUME, read
 * through s->recorded: its copy is at or above the history mark) goes
 * before swarm.sh down's list, which goes before the smallest name. */
static void
choose_volume(struct swarm *s, const char *id, const char *name, char *vol,
    size_t len, char *node, size_t nodelen)
{
	char rec[200] = "", *first = NULL;

	*node = '\0';
	if (s->recorded != NULL
	    && s->recorded(s->recorded_arg, rec, sizeof(rec)) != RS_OK)
		rec[0] = '\0';
	/* No worker service of ours lives: a bootstrap spawn after every
	 * worker died. The last master's dead container may still hold its
	 * volume for a moment; another copy could be below the mark (writes
	 * refused until an operator accepts a loss), so wait for it. */
	if (rec[0] != '\0' && s->n == 0) {
		int w = rs_orch_swarm_volume_wait_free(
		    s->socket, s->api, rec, RECORDED_WAIT_MS);

		if (w != RS_OK && w != RS_EEXIST)
			rs_warn(NULL,
			    "event=swarm_volume_busy volume=%s err=%s", rec,
			    rs_strerror(w));
	}
	if (rec[0] != '\0'
	    && asprintf(&first, "%s,%s", rec,
	           s->volumes_first ? s->volumes_first : "")
	        < 0)
		first = NULL;
	if (rs_orch_swarm_free_volume(s->socket, s->api, s->label_key,
	        s->label_val, s->prefix, first ? first : s->volumes_first, vol,
	        len, node, nodelen)
	    == RS_OK) {
		rs_info(NULL,
		    "event=swarm_volume_adopted id=%s volume=%s node=%s "
		    "recorded=%s",
		    id, vol, node, rec[0] ? rec : "-");
	} else {
		*node = '\0';
		snprintf(vol, len, "%s-data", name);
	}
	free(first);
}

static char *
create_body(struct swarm *s, const char *id, const char *name)
{
	char host[200], image[160], netid[128], *out = NULL;
	char vol[200], node[80], volenv[240];
	const char *extra[] = { "RIDESHARE_WORKER_PID_ZNODE=1", host,
		s->volume != NULL ? volenv : NULL, NULL };
	char **env;
	json_t *o = NULL, *jenv, *secrets = NULL, *cons, *tt, *img = NULL;

	/* A service name resolves to its task on the overlay (dnsrr). */
	snprintf(host, sizeof(host), "RIDESHARE_NNG_HOST=%s", name);
	/* The worker names its volume in ZooKeeper when it is master. */
	if (s->volume != NULL) {
		choose_volume(
		    s, id, name, vol, sizeof(vol), node, sizeof(node));
		snprintf(
		    volenv, sizeof(volenv), RS_ENV_WORKER_VOLUME "=%s", vol);
	}
	/* Run the image by id: the swarm executor skips its registry pull
	 * for an id, and a node that lacks the image fails the task at once
	 * instead of waiting for a registry (docs/swarm.md). */
	snprintf(image, sizeof(image), "%s", s->image);
	{
		char path[300];

		snprintf(path, sizeof(path), "/images/%s/json", s->image);
		if (call(s, "GET", path, NULL, RS_EIO, &img) == RS_OK
		    && json_string_value(json_object_get(img, "Id")) != NULL)
			snprintf(image, sizeof(image), "%s",
			    json_string_value(json_object_get(img, "Id")));
		json_decref(img);
	}
	if (secrets_of(s, &secrets) != RS_OK)
		goto out;
	env = rs_orch_worker_env(
	    environ, id, (const char *const *) s->fixed, extra, true);
	if (env == NULL)
		goto out;
	jenv = json_array();
	for (size_t i = 0; env[i] != NULL; i++)
		json_array_append_new(jenv, json_string(env[i]));
	rs_orch_env_free(env);
	cons = json_array();
	if (s->constraints != NULL) {
		char *copy = strdup(s->constraints), *save = NULL, *tok;

		for (tok = copy ? strtok_r(copy, ",", &save) : NULL;
		     tok != NULL; tok = strtok_r(NULL, ",", &save))
			if (*tok != '\0')
				json_array_append_new(cons, json_string(tok));
		free(copy);
	}
	tt = json_pack("{s:{s:s, s:o, s:s, s:o, s:o, s:I}, s:{s:s}, s:{s:o}}",
	    "ContainerSpec", "Image", image, "Env", jenv, "Hostname", name,
	    "Labels", labels_of(s, id), "Secrets", secrets, "StopGracePeriod",
	    (json_int_t) 10000000000LL, "RestartPolicy", "Condition", "none",
	    "Placement", "Constraints", cons);
	secrets = NULL;
	if (s->volume != NULL) {
		if (node[0] != '\0') {
			char place[100];

			snprintf(place, sizeof(place), "node.id==%s", node);
			json_array_append_new(cons, json_string(place));
		}
		json_object_set_new(json_object_get(tt, "ContainerSpec"),
		    "Mounts",
		    json_pack("[{s:s, s:s, s:s, s:{s:o}}]", "Type", "volume",
		        "Source", vol, "Target", s->volume, "VolumeOptions",
		        "Labels", labels_of(s, id)));
	}
	if (s->network != NULL) {
		if (lookup_id(s, "networks", s->network, netid, sizeof(netid))
		    != RS_OK)
			snprintf(netid, sizeof(netid), "%s", s->network);
		json_object_set_new(tt, "Networks",
		    json_pack(
		        "[{s:s, s:[s]}]", "Target", netid, "Aliases", name));
	}
	o = json_pack("{s:s, s:o, s:o, s:{s:{s:i}}, s:{s:s}}", "Name", name,
	    "Labels", labels_of(s, id), "TaskTemplate", tt, "Mode",
	    "Replicated", "Replicas", 1, "EndpointSpec", "Mode", "dnsrr");
	out = json_dumps(o, JSON_COMPACT);
out:
	json_decref(secrets);
	json_decref(o);
	return out;
}

static bool
ended(const char *state)
{
	static const char *const end[] = { "complete", "failed", "shutdown",
		"rejected", "orphaned", "remove", NULL };

	for (size_t i = 0; end[i] != NULL; i++)
		if (strcmp(state, end[i]) == 0)
			return true;
	return false;
}

/* The current task of service name: the one swarm wants running, else the
 * newest. RS_ENOTFOUND when the service is gone or has no task yet
 * (t->state "" then). */
static int
task_of(struct swarm *s, const char *name, struct task *t)
{
	char filt[256], enc[512], path[700];
	json_t *r = NULL, *best = NULL;
	json_int_t best_ver = -1;
	int rv;

	memset(t, 0, sizeof(*t));
	snprintf(filt, sizeof(filt), "{\"service\":[\"%s\"]}", name);
	url_encode(filt, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/tasks?filters=%s", enc);
	if ((rv = call(s, "GET", path, NULL, RS_EIO, &r)) != RS_OK)
		return rv;
	for (size_t i = 0; json_is_array(r) && i < json_array_size(r); i++) {
		json_t *o = json_array_get(r, i);
		json_int_t ver = json_integer_value(
		    json_object_get(json_object_get(o, "Version"), "Index"));
		const char *want
		    = json_string_value(json_object_get(o, "DesiredState"));

		if (want != NULL && strcmp(want, "running") == 0)
			ver += (json_int_t) 1 << 40; /* preferred */
		if (ver > best_ver) {
			best_ver = ver;
			best = o;
		}
	}
	if (best == NULL) {
		json_decref(r);
		return RS_ENOTFOUND;
	}
	{
		json_t *st = json_object_get(best, "Status");
		json_t *cs = json_object_get(st, "ContainerStatus");
		const char *v;

		if ((v = json_string_value(json_object_get(st, "State"))))
			snprintf(t->state, sizeof(t->state), "%s", v);
		if ((v = json_string_value(json_object_get(st, "Err"))))
			snprintf(t->err, sizeof(t->err), "%s", v);
		if ((v = json_string_value(
		         json_object_get(cs, "ContainerID"))))
			snprintf(t->container, sizeof(t->container), "%s", v);
		if ((v = json_string_value(json_object_get(best, "NodeID"))))
			snprintf(t->node, sizeof(t->node), "%s", v);
		t->host_pid = json_integer_value(json_object_get(cs, "PID"));
		t->exit_code = (int) json_integer_value(
		    json_object_get(cs, "ExitCode"));
	}
	json_decref(r);
	return RS_OK;
}

/* The worker pid of a running task (the rule in spawner_swarm.h). */
static int64_t
worker_pid(struct swarm *s, const struct task *t)
{
	char path[200];
	json_t *r = NULL;
	long long idx = 0;

	snprintf(path, sizeof(path), "/nodes/%s", t->node);
	if (t->node[0] != '\0'
	    && call(s, "GET", path, NULL, RS_EIO, &r) == RS_OK) {
		const char *v = json_string_value(json_object_get(
		    json_object_get(json_object_get(r, "Spec"), "Labels"),
		    NODE_LABEL));

		if (v != NULL)
			idx = strtoll(v, NULL, 10);
		if (idx < 0 || idx > 900000000000LL)
			idx = 0;
	}
	json_decref(r);
	return idx * RS_ORCH_SWARM_PID_NODE + t->host_pid;
}

static void
remove_service(struct swarm *s, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/services/%s", name);
	(void) call(s, "DELETE", path, NULL, RS_OK, NULL);
}

static int
grow(struct swarm *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct svc *b = realloc(s->svcs, cap * sizeof(*b));

		if (b == NULL)
			return RS_ENOMEM;
		s->svcs = b;
		s->cap = cap;
	}
	return RS_OK;
}

static void
keep(struct swarm *s, const char *id, const char *name, int64_t pid)
{
	snprintf(s->svcs[s->n].id, sizeof(s->svcs[s->n].id), "%s", id);
	snprintf(s->svcs[s->n].name, sizeof(s->svcs[s->n].name), "%s", name);
	s->svcs[s->n].pid = pid;
	s->n++;
}

static int
swarm_spawn(void *impl, const char *id, int64_t *pid_out)
{
	struct swarm *s = impl;
	char name[160], *body;
	struct task t;
	int64_t t0 = rs_time_now_ms(), pid = 0;
	int rv;

	if ((rv = grow(s)) != RS_OK)
		return rv;
	snprintf(name, sizeof(name), "%s%s", s->prefix, id);
	if ((body = create_body(s, id, name)) == NULL)
		return RS_EIO;
	rv = call(s, "POST", "/services/create", body, RS_EEXIST, NULL);
	free(body);
	if (rv != RS_OK) {
		rs_error(NULL,
		    "event=spawn_failed spawner=swarm id=%s step=create "
		    "image=%s err=%s",
		    id, s->image, rs_strerror(rv));
		return rv;
	}
	for (;;) {
		rv = task_of(s, name, &t);
		if (rv == RS_OK && strcmp(t.state, "running") == 0
		    && t.host_pid > 0)
			break;
		if (rv == RS_OK && ended(t.state)) {
			rs_error(NULL,
			    "event=spawn_failed spawner=swarm id=%s step=task "
			    "state=%s err=\"%s\"",
			    id, t.state, t.err);
			rv = RS_ESTATE;
			goto fail;
		}
		if (rv != RS_OK && rv != RS_ENOTFOUND)
			goto fail;
		if (rs_time_now_ms() - t0 > s->start_timeout_ms) {
			rs_error(NULL,
			    "event=spawn_failed spawner=swarm id=%s step=task "
			    "state=%s err=\"not running after %d ms\"",
			    id, t.state, s->start_timeout_ms);
			rv = RS_ETIMEDOUT;
			goto fail;
		}
		rs_time_sleep_ms(POLL_EVERY_MS);
	}
	pid = worker_pid(s, &t);
	if (s->publish != NULL
	    && (rv = s->publish(s->publish_arg, id, pid)) != RS_OK)
		goto fail;
	rs_info(NULL,
	    "event=spawned spawner=swarm id=%s service=%s pid=%lld "
	    "task_start_ms=%lld",
	    id, name, (long long) pid, (long long) (rs_time_now_ms() - t0));
	keep(s, id, name, pid);
	*pid_out = pid;
	return RS_OK;
fail:
	remove_service(s, name);
	return rv;
}

static int
swarm_signal(void *impl, const char *id, int64_t pid, int sig)
{
	struct swarm *s = impl;
	const char *name = NULL;
	char path[300];
	struct task t;
	int rv;

	(void) pid; /* the service name is the handle */
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->svcs[i].id, id) == 0)
			name = s->svcs[i].name;
	if (name == NULL)
		return RS_ENOTFOUND;
	if (sig == SIGKILL && task_of(s, name, &t) == RS_OK
	    && t.container[0] != '\0') {
		/* A crash, as on one machine: the task's container killed
		 * (works when it runs on this manager's node). */
		snprintf(path, sizeof(path),
		    "/containers/%s/kill?signal=SIGKILL", t.container);
		rv = call(s, "POST", path, NULL, RS_ESTATE, NULL);
		if (rv != RS_ENOTFOUND)
			return rv;
	}
	/* Elsewhere, or a graceful stop: swarm stops the task. */
	snprintf(path, sizeof(path), "/services/%s", name);
	return call(s, "DELETE", path, NULL, RS_ESTATE, NULL);
}

static int
swarm_reap(void *impl, rs_orch_exit_fn fn, void *arg)
{
	struct swarm *s = impl;
	int64_t now = rs_time_now_ms();
	size_t i = 0;

	if (now - s->last_reap_ms < REAP_EVERY_MS)
		return RS_OK;
	s->last_reap_ms = now;
	while (i < s->n) {
		struct task t;
		char how[48];
		int rv = task_of(s, s->svcs[i].name, &t);

		if (rv == RS_ECONN || rv == RS_EIO)
			return rv; /* manager unreachable: nothing is known */
		if (rv == RS_OK && !ended(t.state)) {
			i++;
			continue;
		}
		if (rv == RS_ENOTFOUND)
			snprintf(how, sizeof(how), "removed");
		else if (strcmp(t.state, "failed") == 0
		    || strcmp(t.state, "complete") == 0)
			snprintf(how, sizeof(how), "exit %d", t.exit_code);
		else
			snprintf(how, sizeof(how), "task %s", t.state);
		remove_service(s, s->svcs[i].name);
		fn(arg, s->svcs[i].id, s->svcs[i].pid, how);
		s->svcs[i] = s->svcs[--s->n];
	}
	return RS_OK;
}

static int
swarm_adopt(void *impl, const char *id, int64_t pid_hint)
{
	struct swarm *s = impl;
	char name[160];
	struct task t;
	int rv;

	(void) pid_hint; /* recomputed from the task: same rule */
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->svcs[i].id, id) == 0)
			return RS_EEXIST;
	if ((rv = grow(s)) != RS_OK)
		return rv;
	snprintf(name, sizeof(name), "%s%s", s->prefix, id);
	if ((rv = task_of(s, name, &t)) != RS_OK)
		return rv;
	if (strcmp(t.state, "running") != 0)
		return RS_ENOTFOUND;
	keep(s, id, name, worker_pid(s, &t));
	return RS_OK;
}

static int
swarm_count(void *impl)
{
	return (int) ((struct swarm *) impl)->n;
}

/* Sum over the nodes a task can land on (ready and active; placement
 * constraints are not evaluated): per_node each, or the node's CPUs. */
static int
swarm_capacity(void *impl, int per_node)
{
	struct swarm *s = impl;
	json_t *nodes = NULL, *n;
	size_t i;
	long long total = 0, nano;

	if (call(s, "GET", "/nodes", NULL, RS_EIO, &nodes) != RS_OK
	    || !json_is_array(nodes)) {
		json_decref(nodes);
		return 0;
	}
	json_array_foreach(nodes, i, n)
	{
		const char *state = json_string_value(
		    json_object_get(json_object_get(n, "Status"), "State"));
		const char *avail = json_string_value(json_object_get(
		    json_object_get(n, "Spec"), "Availability"));

		if (state == NULL || strcmp(state, "ready") != 0
		    || avail == NULL || strcmp(avail, "active") != 0)
			continue;
		nano = json_integer_value(json_object_get(
		    json_object_get(
		        json_object_get(n, "Description"), "Resources"),
		    "NanoCPUs"));
		total += per_node > 0 ? per_node
		                      : (nano + 999999999LL) / 1000000000LL;
	}
	json_decref(nodes);
	return total > 0 && total < 1024 ? (int) total : 0;
}

static void
swarm_destroy(void *impl)
{
	struct swarm *s = impl;

	/* Workers outlive the orchestrator (supervisor: "leaving workers
	 * running"): the next orchestrator adopts their services by name.
	 * swarm.sh down removes them. */
	free(s->svcs);
	free(s->socket);
	free(s->image);
	free(s->network);
	free(s->label_key);
	free(s->label_val);
	free(s->api);
	free(s->prefix);
	free(s->secrets);
	free(s->constraints);
	free(s->volume);
	free(s->volumes_first);
	rs_orch_env_free(s->fixed);
	free(s);
}

static const struct rs_orch_spawner_ops swarm_ops = {
	.name = "swarm",
	.spawn = swarm_spawn,
	.signal = swarm_signal,
	.reap = swarm_reap,
	.count = swarm_count,
	.capacity = swarm_capacity,
	.adopt = swarm_adopt,
	.destroy = swarm_destroy,
};

static char *
dup_or_null(const char *v)
{
	return (v == NULL || *v == '\0') ? NULL : strdup(v);
}

int
rs_orch_spawner_swarm_create(const rs_orch_swarm_cfg *cfg,
    rs_orch_pid_fn publish_pid, void *arg, rs_orch_spawner **out)
{
	struct swarm *s = calloc(1, sizeof(*s));
	const char *eq;

	if (s == NULL)
		return RS_ENOMEM;
	s->socket = strdup(cfg->socket ? cfg->socket : "/var/run/docker.sock");
	s->image = strdup(cfg->image ? cfg->image : "rideshare/worker:latest");
	s->network = dup_or_null(cfg->network);
	s->api = strdup(cfg->api_version ? cfg->api_version : "v1.41");
	s->prefix = strdup(
	    cfg->name_prefix ? cfg->name_prefix : "rideshare-worker-");
	s->secrets = dup_or_null(cfg->secrets);
	s->constraints = dup_or_null(cfg->constraints);
	s->volume = dup_or_null(cfg->volume);
	s->volumes_first = dup_or_null(cfg->volumes_first);
	s->recorded = cfg->recorded_volume;
	s->recorded_arg = cfg->recorded_arg;
	s->start_timeout_ms
	    = cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms : 60000;
	if (cfg->label != NULL && *cfg->label != '\0') {
		eq = strchr(cfg->label, '=');
		s->label_key = eq
		    ? strndup(cfg->label, (size_t) (eq - cfg->label))
		    : strdup(cfg->label);
		s->label_val = strdup(eq ? eq + 1 : "");
	}
	s->fixed = rs_orch_env_dup(cfg->fixed_env);
	s->publish = publish_pid;
	s->publish_arg = arg;
	if (s->socket == NULL || s->image == NULL || s->api == NULL
	    || s->prefix == NULL || s->fixed == NULL) {
		swarm_destroy(s);
		return RS_ENOMEM;
	}
	return rs_orch_spawner_wrap(&swarm_ops, s, out);
}
