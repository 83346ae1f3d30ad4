/* rsctl: the orchestrator's command-line client. Database commands go as
 * protobuf DbRequests over AMQP (rs_rpc) to the "orchestrator" queue, and
 * the DbResponse is printed as proto3 JSON. Exit codes: 0 status OK,
 * 1 any other status (business failure), 2 usage or connection error. */
#include "load.h"
#include "ops.h"
#include "rs_buf.h"
#include "rs_cfg.h"
#include "rs_endpoint.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"
#include "rs_op.h"
#include "rs_pbjson.h"
#include "rs_rpc.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_BUSINESS 1
#define EXIT_USAGE    2

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: rsctl [--timeout MS] [--request-id ID] [--consistency L] "
	    "[--min-seq N]\n             COMMAND [ARGS...]\n"
	    "  --consistency linearizable|session|any   reads (default "
	    "linearizable)\n"
	    "  --min-seq N     reads: answer from a state that includes seq "
	    "N\n"
	    "\nDatabase commands (AMQP to the orchestrator queue; the reply "
	    "is\n"
	    "printed as proto3 JSON):\n%s"
	    "\nOther commands:\n"
	    "  workers                          workers with their lag and "
	    "read\n"
	    "                                   routing, JSON (admin API)\n"
	    "  load --clients N --ops M --write-ratio R\n"
	    "                                   load through the "
	    "orchestrator\n"
	    "  recover                          why writes are refused, if "
	    "they are\n"
	    "  recover --accept-loss            start from the most advanced\n"
	    "                                   surviving copy although it "
	    "misses\n"
	    "                                   acknowledged writes\n"
	    "\nEnvironment: RIDESHARE_AMQP_URL, RIDESHARE_ADMIN_URL (or\n"
	    "RIDESHARE_PORT_BASE), RIDESHARE_RPC_TIMEOUT_MS,\n"
	    "RIDESHARE_ADMIN_TOKEN or RIDESHARE_ADMIN_TOKEN_FILE (sent as a "
	    "bearer token\nto the admin API), RIDESHARE_JSON_MAX_DEPTH "
	    "(64).\n"
	    "Exit codes: 0 OK, 1 the database said no, 2 usage or connection "
	    "error.\n",
	    rsctl_usage_ops);
}

static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	return rs_buf_append(arg, data, size * nmemb) == 0 ? size * nmemb : 0;
}

/* One call to the orchestrator's admin API (RIDESHARE_ADMIN_URL): prints
 * the answer's body; returns 0 when the status is want, else EXIT_BUSINESS
 * (EXIT_USAGE when it cannot be reached). body NULL: a GET. The admin
 * token (RIDESHARE_ADMIN_TOKEN or _FILE, as the orchestrator reads it)
 * goes with every call: GETs do not need it, every other call does. */
static int
admin_request(const char *path, const char *body, long want, int timeout_ms)
{
	char base[512], url[600], why[160];
	char tok[RS_ADMIN_TOKEN_MAX + 1], auth[RS_ADMIN_TOKEN_MAX + 32];
	rs_buf out = RS_BUF_INIT;
	struct curl_slist *hdrs = NULL;
	const char *var;
	long status = 0;
	CURLcode cc;
	CURL *c;
	int rv;

	rv = rs_endpoint_admin_token(tok, sizeof(tok), &var, why, sizeof(why));
	if (rv == RS_EINVAL) {
		fprintf(stderr, "rsctl: %s: %s\n", var, why);
		return EXIT_USAGE;
	}
	rs_endpoint_admin_url(base, sizeof(base));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (rv == RS_OK) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body != NULL) {
		hdrs = curl_slist_append(
		    hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	if (cc != CURLE_OK) {
		fprintf(
		    stderr, "rsctl: %s: %s\n", url, curl_easy_strerror(cc));
		rs_buf_fini(&out);
		return EXIT_USAGE;
	}
	printf("%s\n", out.data ? out.data : "");
	rs_buf_fini(&out);
	return status == want ? 0 : EXIT_BUSINESS;
}

static int
cmd_workers(int timeout_ms)
{
	return admin_request("/api/v1/workers", NULL, 200, timeout_ms);
}

/* recover --accept-loss: the operator's consent to start a refused
 * recovery from the most advanced surviving copy (docs/failover.md).
 * Without the flag: prints /readyz, which says why writes are refused. */
static int
cmd_recover(int argc, char **argv, int timeout_ms)
{
	if (argc == 1)
		return admin_request("/readyz", NULL, 200, timeout_ms);
	if (argc == 2 && strcmp(argv[1], "--accept-loss") == 0)
		return admin_request("/api/v1/recover",
		    "{\"accept_loss\": true}", 202, timeout_ms);
	fprintf(stderr, "usage: rsctl recover [--accept-loss]\n");
	return EXIT_USAGE;
}

static int
cmd_load(int argc, char **argv, const char *amqp_url, int timeout_ms)
{
	static const struct option opts[]
	    = { { "clients", 1, NULL, 'c' }, { "ops", 1, NULL, 'n' },
		      { "write-ratio", 1, NULL, 'w' }, { NULL, 0, NULL, 0 } };
	rsctl_load_cfg cfg = { amqp_url, 8, 10000, 0.1, timeout_ms };
	rsctl_load_result r;
	char *end;
	int o, rv;

	optind = 1;
	while ((o = getopt_long(argc, argv, "c:n:w:", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg.clients = (int) strtol(optarg, &end, 10); break;
		case 'n': cfg.ops = strtol(optarg, &end, 10); break;
		case 'w': cfg.write_ratio = strtod(optarg, &end); break;
		default: return EXIT_USAGE;
		}
		if (*end != '\0') {
			fprintf(
			    stderr, "rsctl load: bad value \"%s\"\n", optarg);
			return EXIT_USAGE;
		}
	}
	if (cfg.clients < 1 || cfg.clients > 1024 || cfg.ops < 1
	    || cfg.write_ratio < 0 || cfg.write_ratio > 1) {
		fprintf(stderr,
		    "rsctl load: need --clients 1..1024, --ops >= 1, "
		    "--write-ratio 0..1\n");
		return EXIT_USAGE;
	}
	rv = rsctl_load_run(&cfg, &r);
	if (rv != RS_OK) {
		fprintf(stderr, "rsctl load: %s\n", rs_strerror(rv));
		return EXIT_USAGE;
	}
	printf("load: clients=%d ops=%ld write_ratio=%.2f elapsed_s=%.2f "
	       "errors=%ld\n",
	    cfg.clients, cfg.ops, cfg.write_ratio, r.elapsed_s, r.errors);
	printf("reads: n=%ld per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n", r.reads,
	    r.reads / r.elapsed_s, r.read_p50_ms, r.read_p99_ms);
	printf("writes: n=%ld per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n", r.writes,
	    r.writes / r.elapsed_s, r.write_p50_ms, r.write_p99_ms);
	printf("total: per_s=%.1f\n", (r.reads + r.writes) / r.elapsed_s);
	return r.errors == 0 ? 0 : EXIT_BUSINESS;
}

/* --consistency and --min-seq: what X-RideShare-Consistency and
 * X-RideShare-Min-Seq are to the gateways (docs/gateway.md). */
static Rideshare__Consistency opt_level = RIDESHARE__CONSISTENCY__LINEARIZABLE;
static uint64_t opt_min_seq;

static int
cmd_db(const char *cmd, int nargs, char **args, const char *amqp_url,
    int timeout_ms, const char *rid_opt)
{
	Rideshare__DbRequest *req = NULL;
	Rideshare__DbResponse *resp = NULL;
	char err[512], rid[RS_ID_LEN + 1], *text;
	char *own_rid;
	json_t *j = NULL;
	rs_rpc *rpc = NULL;
	int rv, code;

	rv = rsctl_build(cmd, nargs, args, &req, err, sizeof(err));
	if (rv != RS_OK) {
		fprintf(stderr, "rsctl: %s\n", err);
		if (rv == RS_ENOTFOUND)
			usage(stderr);
		return EXIT_USAGE;
	}
	own_rid = req->request_id;
	if (!rs_op_is_write(req->op_case)) {
		req->consistency = opt_level;
		if (opt_min_seq > req->min_seq)
			req->min_seq = opt_min_seq;
	}
	if (rid_opt != NULL) {
		req->request_id = (char *) rid_opt;
	} else if (req->request_id == NULL || req->request_id[0] == '\0') {
		rs_id_new(rid);
		req->request_id = rid;
	}
	rv = rs_rpc_create(amqp_url, "orchestrator", timeout_ms, &rpc);
	if (rv == RS_OK)
		rv = rs_rpc_call(rpc, req, timeout_ms, &resp);
	req->request_id = own_rid;
	rideshare__db_request__free_unpacked(req, NULL);
	rs_rpc_destroy(rpc);
	if (rv != RS_OK) {
		fprintf(stderr, "rsctl: %s: %s\n", amqp_url,
		    rv == RS_ETIMEDOUT ? "no reply (timed out)"
		                       : rs_strerror(rv));
		return EXIT_USAGE;
	}
	code = resp->status == RIDESHARE__STATUS__OK ? 0 : EXIT_BUSINESS;
	if (rs_pbjson_encode(&resp->base, &j) == RS_OK
	    && (text = json_dumps(j, JSON_COMPACT)) != NULL) {
		printf("%s\n", text);
		free(text);
	} else {
		fprintf(stderr, "rsctl: cannot print the reply\n");
		code = EXIT_USAGE;
	}
	json_decref(j);
	rideshare__db_response__free_unpacked(resp, NULL);
	return code;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "timeout", 1, NULL, 't' },
		{ "request-id", 1, NULL, 'r' },
		{ "consistency", 1, NULL, 'C' }, { "min-seq", 1, NULL, 'm' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char *end;
	char amqp_url[512];
	const char *rid = NULL;
	int timeout_ms, o;

	(void) rs_log_init("rsctl");
	rs_log_set_level(RS_LOG_WARN);
	timeout_ms
	    = (int) rs_cfg_long("RIDESHARE_RPC_TIMEOUT_MS", 5000, 1, 3600000);
	/* '+': options end at the command (its own options follow it). */
	while ((o = getopt_long(argc, argv, "+t:r:C:m:h", opts, NULL)) != -1) {
		switch (o) {
		case 't': timeout_ms = atoi(optarg); break;
		case 'r': rid = optarg; break;
		case 'C':
			if (strcmp(optarg, "linearizable") == 0) {
				opt_level
				    = RIDESHARE__CONSISTENCY__LINEARIZABLE;
			} else if (strcmp(optarg, "session") == 0) {
				opt_level = RIDESHARE__CONSISTENCY__SESSION;
			} else if (strcmp(optarg, "any") == 0) {
				opt_level = RIDESHARE__CONSISTENCY__ANY;
			} else {
				fprintf(stderr,
				    "rsctl: --consistency: "
				    "linearizable, session or any\n");
				return EXIT_USAGE;
			}
			break;
		case 'm':
			opt_min_seq = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0') {
				fprintf(stderr, "rsctl: --min-seq: a seq\n");
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc || timeout_ms <= 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (rid != NULL && !rs_id_valid(rid)) {
		fprintf(stderr, "rsctl: bad --request-id\n");
		return EXIT_USAGE;
	}
	rs_endpoint_amqp_url(amqp_url, sizeof(amqp_url));
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "workers") == 0)
		return argc == 1 ? cmd_workers(timeout_ms) : EXIT_USAGE;
	if (strcmp(argv[0], "load") == 0)
		return cmd_load(argc, argv, amqp_url, timeout_ms);
	if (strcmp(argv[0], "recover") == 0)
		return cmd_recover(argc, argv, timeout_ms);
	return cmd_db(argv[0], argc - 1, argv + 1, amqp_url, timeout_ms, rid);
}
