/* Kept worker volumes (swarm_volume.h): GET /volumes (label and name
 * filters), GET /services (every service's mounts), GET /containers/json
 * ?all=1 with a volume filter (a container of a removed service may still
 * hold it: two PostgreSQL servers on one data directory would corrupt it),
 * GET /info (this node's swarm id). */
#include "swarm_volume.h"
#include "engine_api.h"
#include "rs_err.h"
#include "rs_time.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WAIT_FREE_POLL_MS 250

static int
get(const char *socket, const char *api, const char *path, json_t **r)
{
	return rs_orch_engine_call(socket, api, "GET", path, NULL, RS_EIO, r);
}

/* path + url-encoded filters JSON. */
static int
get_filtered(const char *socket, const char *api, const char *base,
    const char *filters, json_t **r)
{
	char *enc = curl_easy_escape(NULL, filters, 0);
	char path[1200];
	int rv;

	if (enc == NULL)
		return RS_ENOMEM;
	snprintf(path, sizeof(path), "%s%s", base, enc);
	curl_free(enc);
	rv = get(socket, api, path, r);
	return rv;
}

static bool
mounted_by_a_service(json_t *services, const char *vol)
{
	size_t i, j;
	json_t *svc, *m;

	json_array_foreach(services, i, svc)
	{
		json_t *mounts = json_object_get(
		    json_object_get(
		        json_object_get(
		            json_object_get(svc, "Spec"), "TaskTemplate"),
		        "ContainerSpec"),
		    "Mounts");

		json_array_foreach(mounts, j, m)
		{
			const char *src
			    = json_string_value(json_object_get(m, "Source"));

			if (src != NULL && strcmp(src, vol) == 0)
				return true;
		}
	}
	return false;
}

/* RS_OK when no container uses vol, RS_EEXIST when one does. */
static int
unused_by_containers(const char *socket, const char *api, const char *vol)
{
	char filt[400];
	json_t *r = NULL;
	int rv;

	snprintf(filt, sizeof(filt), "{\"volume\":[\"%s\"]}", vol);
	rv = get_filtered(
	    socket, api, "/containers/json?all=1&filters=", filt, &r);
	if (rv == RS_OK && !json_is_array(r))
		rv = RS_EIO;
	if (rv == RS_OK && json_array_size(r) > 0)
		rv = RS_EEXIST;
	json_decref(r);
	return rv;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Position of vol in the comma-separated list first, or -1. */
static int
rank_in(const char *first, const char *vol)
{
	size_t n = strlen(vol);
	int k = 0;

	for (const char *p = first; p != NULL && *p != '\0'; k++) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t) (end - p) : strlen(p);

		if (len == n && strncmp(p, vol, n) == 0)
			return k;
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* Does (rank a, name a) come before (rank b, name b)? Listed volumes
 * first, in list order, then the others by name. */
static bool
before(int ra, const char *a, int rb, const char *b)
{
	if (ra != rb)
		return ra >= 0 && (rb < 0 || ra < rb);
	return strcmp(a, b) < 0;
}

int
rs_orch_swarm_free_volume(const char *socket, const char *api,
    const char *label_key, const char *label_val, const char *prefix,
    const char *first, char *name, size_t len, char *node, size_t nodelen)
{
	char filt[600];
	json_t *vols = NULL, *services = NULL, *info = NULL, *v;
	const char *best = NULL, *nid;
	int best_rank = -1;
	size_t i;
	int rv;

	if (label_key != NULL)
		snprintf(filt, sizeof(filt),
		    "{\"name\":[\"%s\"],\"label\":[\"%s=%s\"]}", prefix,
		    label_key, label_val ? label_val : "");
	else
		snprintf(filt, sizeof(filt), "{\"name\":[\"%s\"]}", prefix);
	if ((rv = get_filtered(socket, api, "/volumes?filters=", filt, &vols))
	        != RS_OK
	    || (rv = get(socket, api, "/services", &services)) != RS_OK
	    || (rv = get(socket, api, "/info", &info)) != RS_OK)
		goto out;
	nid = json_string_value(
	    json_object_get(json_object_get(info, "Swarm"), "NodeID"));
	if (nid == NULL || *nid == '\0' || !json_is_array(services)) {
		rv = RS_EIO;
		goto out;
	}
	rv = RS_ENOTFOUND;
	json_array_foreach(json_object_get(vols, "Volumes"), i, v)
	{
		const char *n = json_string_value(json_object_get(v, "Name"));
		int r = n ? rank_in(first, n) : -1;

		/* The name filter matches substrings: check the shape. */
		if (n == NULL || strncmp(n, prefix, strlen(prefix)) != 0
		    || !ends_with(n, "-data") || strlen(n) >= len
		    || (best != NULL && !before(r, n, best_rank, best))
		    || mounted_by_a_service(services, n))
			continue;
		int u = unused_by_containers(socket, api, n);
		if (u == RS_EEXIST)
			continue;
		if (u != RS_OK) {
			rv = u;
			goto out;
		}
		best = n;
		best_rank = r;
	}
	if (best != NULL) {
		snprintf(name, len, "%s", best);
		snprintf(node, nodelen, "%s", nid);
		rv = RS_OK;
	}
out:
	json_decref(vols);
	json_decref(services);
	json_decref(info);
	return rv;
}

int
rs_orch_swarm_volume_wait_free(
    const char *socket, const char *api, const char *vol, int timeout_ms)
{
	int64_t until = rs_time_now_ms() + timeout_ms;
	json_t *services = NULL;
	int rv;

	for (;;) {
		if ((rv = get(socket, api, "/services", &services)) != RS_OK)
			return rv;
		bool mounted = json_is_array(services)
		    && mounted_by_a_service(services, vol);
		json_decref(services);
		services = NULL;
		if (mounted)
			return RS_EEXIST;
		rv = unused_by_containers(socket, api, vol);
		if (rv != RS_EEXIST)
			return rv;
		if (rs_time_now_ms() >= until)
			return RS_ETIMEDOUT;
		rs_time_sleep_ms(WAIT_FREE_POLL_MS);
	}
}
