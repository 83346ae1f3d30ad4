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
#include "rs_http_floor.h"
#include "rs_http.h"
#include "rs_log.h"

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

int
main(int argc, char **argv)
{
	static const rs_http_route routes[] = {
		{ "GET", "/floor", floor_handler, NULL, 0 },
	};
	int port = 0, threads = 16, raw = 0, sig;
	rs_http_floor *raw_srv = NULL;
	rs_http *srv = NULL;
	rs_http_cfg cfg;

	const bench_opt opts[] = {
		{ "--port", BENCH_INT, &port, 0, 65535, NULL },
		{ "--threads", BENCH_INT, &threads, 1, 1024, NULL },
		{ "--raw", BENCH_FLAG, &raw, 0, 0, NULL },
		{ NULL, BENCH_STR, NULL, 0, 0, NULL },
	};

	if (bench_args(argc, argv, opts, "civet_floor",
	        "[--port P] [--threads N] [--raw]", NULL)
	    != 0)
		return 2;
	rs_gw_signals_block();
	rs_log_init("civet_floor");
	if (raw) {
		if (rs_http_floor_start(
		        port, threads, body, sizeof(body) - 1, &raw_srv)
		    != RS_OK) {
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
	rs_http_floor_stop(raw_srv);
	return 0;
}
