/* civet_floor: the HTTP server limit. Serves GET /floor with a fixed small
 * JSON body, either through gateway/rs_http (the services' own server
 * framework: routing, request ids, metrics, access logs) or, with --raw,
 * through bare CivetWeb with the same options. run.sh drives it with wrk
 * to get the req/s ceiling of one service process on this machine.
 *
 *   civet_floor [--port P] [--threads N] [--raw]
 *
 * Prints "listening <port>" once it serves; stops on SIGTERM/SIGINT. */
#include "bench_util.h"
#include "rs_err.h"
#include "rs_gw.h"
#include "rs_http.h"
#include "rs_log.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char body[] = "{\"rideId\": 1, \"username\": \"floor\"}";

static void
floor_handler(rs_http_req *req, void *arg)
{
	(void) arg;
	rs_http_reply(req, 200, "application/json", body, sizeof(body) - 1);
}

static int
raw_handler(struct mg_connection *conn, void *arg)
{
	(void) arg;
	mg_printf(conn,
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    sizeof(body) - 1, body);
	return 200;
}

/* Bare CivetWeb with the options rs_http uses. */
static struct mg_context *
raw_start(int port, int threads)
{
	char listen[64], nthreads[16];
	const char *opts[] = { "listening_ports", listen, "num_threads",
		nthreads, "enable_keep_alive", "yes", "keep_alive_timeout_ms",
		"5000", "request_timeout_ms", "30000", "tcp_nodelay", "1",
		"decode_url", "no", "listen_backlog", "1024", NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(nthreads, sizeof(nthreads), "%d", threads);
	memset(&cb, 0, sizeof(cb));
	mg_init_library(0);
	ctx = mg_start(&cb, NULL, opts);
	if (ctx != NULL)
		mg_set_request_handler(ctx, "/floor$", raw_handler, NULL);
	return ctx;
}

int
main(int argc, char **argv)
{
	static const rs_http_route routes[] = {
		{ "GET", "/floor", floor_handler, NULL, 0 },
	};
	int port = 0, threads = 16, raw = 0, sig;
	struct mg_context *ctx = NULL;
	rs_http *srv = NULL;
	rs_http_cfg cfg;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = (int) bench_arg_long(
			    "--port", argv[++i], 0, 65535);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (int) bench_arg_long(
			    "--threads", argv[++i], 1, 1024);
		else if (strcmp(argv[i], "--raw") == 0)
			raw = 1;
		else {
			fprintf(stderr,
			    "usage: civet_floor [--port P] "
			    "[--threads N] [--raw]\n");
			return 2;
		}
	}
	rs_gw_signals_block();
	rs_log_init("civet_floor");
	if (raw) {
		if ((ctx = raw_start(port, threads)) == NULL) {
			fprintf(stderr, "civet_floor: cannot listen on %d\n",
			    port);
			return 1;
		}
	} else {
		rs_http_cfg_from_env(&cfg, "civet_floor", port);
		cfg.addr = "127.0.0.1";
		cfg.port = port;
		cfg.threads = threads;
		if (rs_http_start(&cfg, routes, 1, &srv) != RS_OK)
			return 1;
		port = rs_http_port(srv);
	}
	printf("listening %d\n", port);
	fflush(stdout);
	sig = rs_gw_signals_wait();
	(void) sig;
	if (srv != NULL)
		rs_http_stop(srv);
	if (ctx != NULL)
		mg_stop(ctx);
	return 0;
}
