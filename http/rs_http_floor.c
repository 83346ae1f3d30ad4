#include "rs_http_floor.h"

#include "rs_err.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_http_floor {
	struct mg_context *ctx;
	size_t len;
	char body[];
};

static int
raw_handler(struct mg_connection *conn, void *arg)
{
	const rs_http_floor *f = arg;

	mg_printf(conn,
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    f->len, f->body);
	return 200;
}

int
rs_http_floor_start(
    int port, int threads, const char *body, size_t len, rs_http_floor **out)
{
	char listen[64], nthreads[16];
	const char *opts[] = { "listening_ports", listen, "num_threads",
		nthreads, "enable_keep_alive", "yes", "keep_alive_timeout_ms",
		"5000", "request_timeout_ms", "30000", "tcp_nodelay", "1",
		"decode_url", "no", "listen_backlog", "1024", NULL };
	struct mg_callbacks cb;
	rs_http_floor *f = malloc(sizeof(*f) + len + 1);

	if (f == NULL)
		return RS_ENOMEM;
	f->len = len;
	memcpy(f->body, body, len);
	f->body[len] = '\0';
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(nthreads, sizeof(nthreads), "%d", threads);
	memset(&cb, 0, sizeof(cb));
	mg_init_library(0);
	f->ctx = mg_start(&cb, NULL, opts);
	if (f->ctx == NULL) {
		free(f);
		return RS_EIO;
	}
	mg_set_request_handler(f->ctx, "/floor$", raw_handler, f);
	*out = f;
	return RS_OK;
}

void
rs_http_floor_stop(rs_http_floor *f)
{
	if (f == NULL)
		return;
	mg_stop(f->ctx);
	free(f);
}
