#include "spawner.h"
#include "capacity.h"
#include "rs_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rs_orch_spawner_wrap(
    const struct rs_orch_spawner_ops *ops, void *impl, rs_orch_spawner **out)
{
	rs_orch_spawner *sp = calloc(1, sizeof(*sp));

	if (sp == NULL) {
		ops->destroy(impl);
		return RS_ENOMEM;
	}
	sp->ops = ops;
	sp->impl = impl;
	pthread_mutex_init(&sp->lock, NULL);
	*out = sp;
	return RS_OK;
}

int
rs_orch_spawner_spawn(rs_orch_spawner *sp, const char *id, int64_t *pid)
{
	int rv;

	pthread_mutex_lock(&sp->lock);
	rv = sp->ops->spawn(sp->impl, id, pid);
	pthread_mutex_unlock(&sp->lock);
	return rv;
}

int
rs_orch_spawner_signal(
    rs_orch_spawner *sp, const char *id, int64_t pid, int sig)
{
	int rv;

	pthread_mutex_lock(&sp->lock);
	rv = sp->ops->signal(sp->impl, id, pid, sig);
	pthread_mutex_unlock(&sp->lock);
	return rv;
}

int
rs_orch_spawner_set_env(rs_orch_spawner *sp, const char *kv)
{
	int rv = RS_ESTATE;

	pthread_mutex_lock(&sp->lock);
	if (sp->ops->set_env != NULL)
		rv = sp->ops->set_env(sp->impl, kv);
	pthread_mutex_unlock(&sp->lock);
	return rv;
}

int
rs_orch_spawner_reap(rs_orch_spawner *sp, rs_orch_exit_fn fn, void *arg)
{
	int rv;

	pthread_mutex_lock(&sp->lock);
	rv = sp->ops->reap(sp->impl, fn, arg);
	pthread_mutex_unlock(&sp->lock);
	return rv;
}

int
rs_orch_spawner_adopt(rs_orch_spawner *sp, const char *id, int64_t pid)
{
	int rv;

	pthread_mutex_lock(&sp->lock);
	rv = sp->ops->adopt(sp->impl, id, pid);
	pthread_mutex_unlock(&sp->lock);
	return rv;
}

int
rs_orch_spawner_count(rs_orch_spawner *sp)
{
	int n;

	pthread_mutex_lock(&sp->lock);
	n = sp->ops->count(sp->impl);
	pthread_mutex_unlock(&sp->lock);
	return n;
}

int
rs_orch_spawner_capacity(rs_orch_spawner *sp, int per_node)
{
	int n = 0;

	if (sp->ops->capacity != NULL) {
		pthread_mutex_lock(&sp->lock);
		n = sp->ops->capacity(sp->impl, per_node);
		pthread_mutex_unlock(&sp->lock);
	}
	if (n > 0)
		return n;
	return per_node > 0 ? per_node : rs_orch_local_cpus();
}

const char *
rs_orch_spawner_name(rs_orch_spawner *sp)
{
	return sp->ops->name;
}

void
rs_orch_spawner_destroy(rs_orch_spawner *sp)
{
	if (sp == NULL)
		return;
	sp->ops->destroy(sp->impl);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

/* Variables the spawner decides for each worker; never inherited. */
static bool
spawner_owned(const char *kv)
{
	static const char *const own[]
	    = { "RIDESHARE_WORKER_ID=", "RIDESHARE_WORKER_PID=",
		      "RIDESHARE_WORKER_PID_ZNODE=", "RIDESHARE_NNG_HOST=" };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		if (strncmp(kv, own[i], strlen(own[i])) == 0)
			return true;
	}
	return false;
}

void
rs_orch_env_free(char **env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* True when kv's key ("KEY=") is set by one of the entries of list. */
static bool
overridden(const char *kv, const char *const *list)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t) (eq - kv) + 1 : strlen(kv);

	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		if (strncmp(kv, list[i], klen) == 0)
			return true;
	}
	return false;
}

static size_t
count(const char *const *list)
{
	size_t n = 0;

	while (list != NULL && list[n] != NULL)
		n++;
	return n;
}

char **
rs_orch_env_dup(const char *const *list)
{
	size_t n = count(list);
	char **out = calloc(n + 1, sizeof(*out));

	for (size_t i = 0; out != NULL && i < n; i++) {
		if ((out[i] = strdup(list[i])) == NULL) {
			rs_orch_env_free(out);
			return NULL;
		}
	}
	return out;
}

char **
rs_orch_worker_env(char *const *env, const char *id, const char *const *fixed,
    const char *const *extra, bool only_rideshare)
{
	size_t n = count((const char *const *) env), k = 0;
	size_t nfixed = count(fixed), nextra = count(extra);
	char **out;

	out = calloc(n + nfixed + nextra + 2, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (spawner_owned(env[i]) || overridden(env[i], fixed)
		    || overridden(env[i], extra))
			continue;
		if (only_rideshare && strncmp(env[i], "RIDESHARE_", 10) != 0)
			continue;
		if ((out[k++] = strdup(env[i])) == NULL)
			goto fail;
	}
	if (asprintf(&out[k], "RIDESHARE_WORKER_ID=%s", id) < 0) {
		out[k] = NULL;
		goto fail;
	}
	k++;
	for (size_t i = 0; i < nfixed; i++) {
		if ((out[k++] = strdup(fixed[i])) == NULL)
			goto fail;
	}
	for (size_t i = 0; i < nextra; i++) {
		if ((out[k++] = strdup(extra[i])) == NULL)
			goto fail;
	}
	return out;
fail:
	rs_orch_env_free(out);
	return NULL;
}
