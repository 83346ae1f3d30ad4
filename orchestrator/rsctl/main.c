/* rsctl: the orchestrator's command-line client. Database commands go as
 * protobuf DbRequests over AMQP (rs_rpc) to the orchestrator's queue
 * (RS_Q_ORCHESTRATOR), and the DbResponse is printed as proto3 JSON. Exit
 * codes: 0 status OK, 1 any other status (business failure), 2 usage or
 * connection error. */
#include "admin_target.h"
#include "backup.h"
#include "load.h"
#include "watch.h"
#include "rs_contract.h"
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
	    "  status [--json]                  the cluster at a glance\n"
	    "  pause [REASON] | resume          maintenance mode: no "
	    "scaling,\n"
	    "                                   replacement or failover\n"
	    "  drain PID                        stop one slave gracefully\n"
	    "  switchover [PID]                 move the master role to slave "
	    "PID\n"
	    "                                   (default: the lowest pid)\n"
	    "  watch [--since SEQ] [--until SEQ]\n"
	    "                                   follow the change feed: every "
	    "write\n"
	    "                                   after SEQ as a JSON line, "
	    "then "
	    "live\n"
	    "  recover                          why writes are refused, if "
	    "they are\n"
	    "  recover --accept-loss            start from the most advanced\n"
	    "                                   surviving copy although it "
	    "misses\n"
	    "                                   acknowledged writes\n"
	    "%s"
	    "\nEnvironment: RIDESHARE_AMQP_URL, RIDESHARE_ADMIN_URL (or\n"
	    "RIDESHARE_PORT_BASE), RIDESHARE_RPC_TIMEOUT_MS,\n"
	    "RIDESHARE_ADMIN_TOKEN or RIDESHARE_ADMIN_TOKEN_FILE (sent as a "
	    "bearer token\nto the admin API), RIDESHARE_JSON_MAX_DEPTH "
	    "(64).\n"
	    "Exit codes: 0 OK, 1 the database said no, 2 usage or connection "
	    "error.\n",
	    rsctl_usage_ops, rsctl_usage_backup);
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
admin_call(const char *path, const char *body, int timeout_ms, long *status,
    rs_buf *out)
{
	return rsctl_admin_fetch(
	    path, body, (long) timeout_ms, collect, out, status);
}

static int
admin_request(const char *path, const char *body, long want, int timeout_ms)
{
	rs_buf out = RS_BUF_INIT;
	long status = 0;
	int rv = admin_call(path, body, timeout_ms, &status, &out);

	if (rv == 0) {
		printf("%s\n", out.data ? out.data : "");
		rv = status == want ? 0 : EXIT_BUSINESS;
	}
	rs_buf_fini(&out);
	return rv;
}

static json_int_t
jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

/* status: GET /api/v1/status rendered for a terminal (the same facts as
 * the status page); --json prints the document as it came. */
static int
cmd_status(int argc, char **argv, int timeout_ms)
{
	rs_buf out = RS_BUF_INIT;
	long status = 0;
	json_error_t jerr;
	json_t *st, *v;
	size_t i;
	const char *k;
	int rv;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return admin_request("/api/v1/status", NULL, 200, timeout_ms);
	if (argc != 1) {
		fprintf(stderr, "usage: rsctl status [--json]\n");
		return EXIT_USAGE;
	}
	rv = admin_call("/api/v1/status", NULL, timeout_ms, &status, &out);
	if (rv != 0) {
		rs_buf_fini(&out);
		return rv;
	}
	st = out.data ? json_loads(out.data, 0, &jerr) : NULL;
	if (status != 200 || !json_is_object(st)) {
		fprintf(stderr, "rsctl: status: HTTP %ld %s\n", status,
		    out.data ? out.data : "");
		json_decref(st);
		rs_buf_fini(&out);
		return EXIT_BUSINESS;
	}
	rs_buf_fini(&out);
	json_array_foreach(json_object_get(st, "banners"), i, v)
	    printf("!! %s\n", jstr(v, "text"));
	v = json_object_get(st, RS_ROLE_MASTER);
	printf("master: %s  epoch: %lld  commit_seq: %lld  head_seq: %lld\n",
	    json_is_object(v) ? jstr(v, "id") : "none",
	    (long long) jint(st, "epoch"), (long long) jint(st, "commit_seq"),
	    (long long) jint(st, "head_seq"));
	v = json_object_get(st, "scaling");
	printf("reads in window: %lld (%lld/%lld ms)  target slaves: %lld\n",
	    (long long) jint(v, "window_reads"),
	    (long long) jint(v, "window_elapsed_ms"),
	    (long long) jint(v, "window_ms"),
	    (long long) jint(v, "target_slaves"));
	printf("\n%-8s %-10s %-7s %-9s %5s %11s %8s %9s\n", "PID", "ID",
	    "ROLE", "STATE", "EPOCH", "APPLIED", "LAG", "UPTIME_S");
	json_array_foreach(json_object_get(st, "workers"), i, v)
	{
		json_t *up = json_object_get(v, "uptime_s");
		char ups[32];

		if (json_is_number(up))
			snprintf(
			    ups, sizeof(ups), "%.0f", json_number_value(up));
		else
			snprintf(ups, sizeof(ups), "-");
		printf("%-8lld %-10.10s %-7s %-9s %5lld %11lld %8lld %9s\n",
		    (long long) jint(v, "pid"), jstr(v, "id"), jstr(v, "role"),
		    jstr(v, "state"), (long long) jint(v, "epoch"),
		    (long long) jint(v, "applied_seq"),
		    (long long) jint(v, "lag_seqs"), ups);
	}
	printf("\nqueues:");
	json_object_foreach(json_object_get(st, "queues"), k, v)
	{
		if (json_is_object(v))
			printf(" %s=%lld", k, (long long) jint(v, "messages"));
		else
			printf(" %s=?", k);
	}
	printf("\n\nrecent events:\n");
	json_array_foreach(json_object_get(st, "events"), i, v)
	{
		if (i >= 10)
			break;
		printf("  %s %-9s %s\n", jstr(v, "ts"), jstr(v, "kind"),
		    jstr(v, "text"));
	}
	json_decref(st);
	return 0;
}

/* pause [REASON] / resume / drain PID: maintenance mode. */
static int
cmd_maintenance(int argc, char **argv, int timeout_ms)
{
	char path[96];
	json_t *j;
	char *body;
	int rv;

	if (strcmp(argv[0], "resume") == 0 && argc == 1)
		return admin_request("/api/v1/resume", "", 200, timeout_ms);
	if (strcmp(argv[0], "pause") == 0 && argc <= 2) {
		j = json_pack(
		    "{s:s}", "reason", argc == 2 ? argv[1] : "maintenance");
		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		rv = admin_request("/api/v1/pause", body, 200, timeout_ms);
		free(body);
		return rv;
	}
	if (strcmp(argv[0], "switchover") == 0 && argc <= 2) {
		char cbody[64] = "";

		if (argc == 2)
			snprintf(cbody, sizeof(cbody), "{\"candidate\": %lld}",
			    strtoll(argv[1], NULL, 10));
		return admin_request(
		    "/api/v1/switchover", cbody, 200, timeout_ms);
	}
	if (strcmp(argv[0], "drain") == 0 && argc == 2) {
		snprintf(
		    path, sizeof(path), "/api/v1/workers/%s/drain", argv[1]);
		return admin_request(path, "", 202, timeout_ms);
	}
	fprintf(stderr,
	    "usage: rsctl pause [REASON] | resume | drain PID | "
	    "switchover [PID]\n");
	return EXIT_USAGE;
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
	rv = rs_rpc_create(amqp_url, RS_Q_ORCHESTRATOR, timeout_ms, &rpc);
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
	if (strcmp(argv[0], "watch") == 0)
		return rsctl_watch(argc, argv);
	if (strcmp(argv[0], "load") == 0)
		return cmd_load(argc, argv, amqp_url, timeout_ms);
	if (strcmp(argv[0], "recover") == 0)
		return cmd_recover(argc, argv, timeout_ms);
	if (strcmp(argv[0], "status") == 0)
		return cmd_status(argc, argv, timeout_ms);
	if (strcmp(argv[0], "backup") == 0)
		return rsctl_backup(argc, argv);
	if (strcmp(argv[0], "restore") == 0)
		return rsctl_restore(argc, argv);
	if (strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") == 0
	    || strcmp(argv[0], "drain") == 0
	    || strcmp(argv[0], "switchover") == 0)
		return cmd_maintenance(argc, argv, timeout_ms);
	return cmd_db(argv[0], argc - 1, argv + 1, amqp_url, timeout_ms, rid);
}
