/* The docker spawner against the machine's real Docker daemon (issue 8).
 * The local stack's orchestrator runs with RIDESHARE_SPAWNER=docker and
 * RIDESHARE_DOCKER_NETWORK=host (worker containers on the host's network
 * reach the stack's servers on 127.0.0.1); tests/system/docker_spawner.sh
 * skips when there is no daemon or no worker image, and checks afterwards
 * that every container is gone.
 *  - worker/list equals the State.Pid of the worker containers;
 *  - crash/master: a new master, writes succeed again;
 *  - docker kill of a slave container: a replacement is serving;
 *  - both leave no dead container behind. */
#include "orch_sys.h"
#include "rs_contract.h"
#include "rs_buf.h"
#include "rs_err.h"
#include "rs_log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *sock = "/var/run/docker.sock";
static const char *label; /* key=value from RIDESHARE_DOCKER_LABEL */

static size_t
collect(char *d, size_t s, size_t n, void *arg)
{
	return rs_buf_append(arg, d, s * n) == 0 ? s * n : 0;
}

static long
engine(const char *method, const char *path, json_t **body)
{
	CURL *c = curl_easy_init();
	rs_buf out = RS_BUF_INIT;
	char url[1024];
	long st = 0;

	snprintf(url, sizeof(url), "http://localhost/v1.41%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	if (body != NULL)
		*body
		    = out.len ? json_loadb(out.data, out.len, 0, NULL) : NULL;
	rs_buf_fini(&out);
	curl_easy_cleanup(c);
	return st;
}

/* State.Pid of every running worker container of this stack, sorted;
 * names[i] gets the container name. Also counts all (incl. exited). */
static int
containers(int64_t *pids, char names[][128], int max, int *all)
{
	char path[512], *enc;
	json_t *b = NULL, *c;
	size_t i;
	int n = 0;
	CURL *h = curl_easy_init();
	char filt[256];

	snprintf(filt, sizeof(filt), "{\"label\":[\"%s\"]}", label);
	enc = curl_easy_escape(h, filt, 0);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", enc);
	curl_free(enc);
	curl_easy_cleanup(h);
	*all = 0;
	if (engine("GET", path, &b) != 200 || !json_is_array(b)) {
		json_decref(b);
		return -1;
	}
	json_array_foreach(b, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *state
		    = json_string_value(json_object_get(c, "State"));
		json_t *ins = NULL;

		(*all)++;
		if (state == NULL || strcmp(state, "running") != 0 || n >= max)
			continue;
		snprintf(path, sizeof(path), "/containers/%s/json", id);
		if (engine("GET", path, &ins) == 200) {
			pids[n] = json_integer_value(json_object_get(
			    json_object_get(ins, "State"), "Pid"));
			const char *nm
			    = json_string_value(json_object_get(ins, "Name"));

			snprintf(names[n], 128, "%.127s", nm ? nm + 1 : "");
			n++;
		}
		json_decref(ins);
	}
	json_decref(b);
	/* Sort pids and names together (insertion sort: a handful). */
	for (int a = 1; a < n; a++) {
		for (int j = a; j > 0 && pids[j - 1] > pids[j]; j--) {
			int64_t tp = pids[j];
			char tn[128];

			pids[j] = pids[j - 1];
			pids[j - 1] = tp;
			memcpy(tn, names[j], sizeof(tn));
			memcpy(names[j], names[j - 1], sizeof(tn));
			memcpy(names[j - 1], tn, sizeof(tn));
		}
	}
	return n;
}

/* worker/list == running containers' State.Pid (both sorted). */
static bool
list_matches(int *ncont, int *nall)
{
	int64_t list[32], pids[32];
	char names[32][128];
	int n = sys_worker_list(list, 32);
	int k = containers(pids, names, 32, nall);

	*ncont = k;
	if (n != k || n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (list[i] != pids[i])
			return false;
	}
	return true;
}

static bool
wait_match(int want, int timeout_ms, int64_t *took)
{
	int64_t t0 = rs_time_now_ms();
	int k = 0, all = 0;

	while (rs_time_now_ms() - t0 < timeout_ms) {
		if (sys_wait_workers(want, 200) >= 0 && list_matches(&k, &all)
		    && k == want && all == want) {
			*took = rs_time_now_ms() - t0;
			return true;
		}
		rs_time_sleep_ms(50);
	}
	*took = rs_time_now_ms() - t0;
	return false;
}

int
main(void)
{
	rs_rpc *rpc = NULL;
	int64_t took, master, slaves[8], victim;
	int64_t t0;
	json_t *b = NULL;
	char path[256], slave_name[128] = "";
	int ns;

	rs_log_init("docker_spawner_test");
	sys_init();
	if (getenv("RIDESHARE_DOCKER_SOCKET") != NULL)
		sock = getenv("RIDESHARE_DOCKER_SOCKET");
	label = getenv("RIDESHARE_DOCKER_LABEL");
	if (label == NULL) {
		fprintf(stderr, "RIDESHARE_DOCKER_LABEL not set\n");
		return 2;
	}
	CHECK(wait_match(2, 60000, &took),
	    "worker/list != containers' State.Pid");
	printf("1 master + 1 slave in containers; worker/list == State.Pid\n");
	if (sys_rpc(&rpc) != RS_OK)
		return 1;
	CHECK(sys_add_user(rpc, "dk_before", NULL, 10000, NULL) == 0,
	    "write before the crash");

	t0 = rs_time_now_ms();
	CHECK(sys_admin("POST", "/api/v1/crash/master", &b) == 200,
	    "crash/master");
	json_decref(b);
	for (int i = 0; i < 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "dk_after_%d", i);
		if (sys_add_user(rpc, name, NULL, 2000, NULL) == 0)
			break;
	}
	printf("crash/master -> write acknowledged after %lld ms\n",
	    (long long) (rs_time_now_ms() - t0));
	CHECK(
	    wait_match(2, 20000, &took), "no healthy tier after crash/master");
	printf("crash/master -> replacement container serving after %lld ms\n",
	    (long long) (rs_time_now_ms() - t0));

	ns = sys_roles(&master, slaves, 8);
	CHECK(ns == 1, "want one slave");
	{
		int64_t pids[32];
		char names[32][128];
		int all, k = containers(pids, names, 32, &all);

		for (int i = 0; i < k; i++) {
			if (ns == 1 && pids[i] == slaves[0])
				snprintf(slave_name, sizeof(slave_name),
				    "%.127s", names[i]);
		}
	}
	CHECK(slave_name[0] != '\0', "slave container not found");
	victim = slaves[0];
	t0 = rs_time_now_ms();
	snprintf(path, sizeof(path), "/containers/%s/kill?signal=SIGKILL",
	    slave_name);
	CHECK(engine("POST", path, NULL) == 204, "docker kill %s", slave_name);
	/* The killed pid must leave the list, a new slave must serve. */
	while (rs_time_now_ms() - t0 < 20000) {
		int64_t l[8];
		int n = sys_worker_list(l, 8);
		bool gone = n == 2;

		for (int i = 0; i < n; i++)
			gone = gone && l[i] != victim;
		if (gone && sys_admin("GET", "/readyz", NULL) == 200)
			break;
		if (rs_time_now_ms() - t0 > 19900) {
			fprintf(stderr, "list after docker kill:");
			for (int i = 0; i < n; i++)
				fprintf(stderr, " %lld", (long long) l[i]);
			fprintf(
			    stderr, " (victim %lld)\n", (long long) victim);
		}
		rs_time_sleep_ms(20);
	}
	printf("docker kill slave %s -> replacement serving after %lld ms\n",
	    slave_name, (long long) (rs_time_now_ms() - t0));
	CHECK(wait_match(2, 20000, &took),
	    "worker/list != containers after docker kill (or dead ones left)");
	CHECK(sys_add_user(rpc, "dk_end", NULL, 10000, NULL) == 0,
	    "final write");
	{
		Rideshare__DbResponse *r = NULL;

		CHECK(sys_get_user(rpc, "dk_before", 10000, &r) == 0,
		    "write from before the crashes lost");
		if (r != NULL)
			rideshare__db_response__free_unpacked(r, NULL);
	}
	rs_rpc_destroy(rpc);
	printf("%s\n", sys_failed == 0 ? "PASS" : "FAIL");
	return sys_failed;
}
