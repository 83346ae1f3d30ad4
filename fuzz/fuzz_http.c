/* libFuzzer harness: the HTTP request path of http/rs_http.c (CivetWeb
 * 1.15 underneath) through a real socket. A server with a token and a few
 * routes runs in this process (its threads are instrumented too); each
 * input is sent as the raw bytes of one connection, the write side is then
 * shut down and the answer read to the end. Checked properties: no crash,
 * leak or undefined behaviour in either; a connection that starts with a
 * well-formed request line and has a complete header block gets an HTTP
 * answer (never a silent close; CivetWeb answers HTTP/1.0 requests with
 * an HTTP/1.0 status line). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rs_err.h"
#include "rs_gw.h"
#include "rs_http.h"
#include "rs_log.h"
#include "rs_test_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static rs_http *srv;
static int port;

/* A JSON body through the gateways' strict parser, like PUT users. */
static void
body(rs_http_req *req, void *arg)
{
	static const char *const fields[] = { "username", "password", NULL };
	json_t *o;

	if (rs_gw_body_object(req, fields, &o) != RS_OK)
		return;
	json_decref(o);
	rs_http_reply_empty_object(req, 201);
}

static const rs_http_route routes[] = {
	{ "GET", "/things/{name}", rs_test_echo, NULL, RS_HTTP_COUNTED },
	{ "POST", "/things/{name}", rs_test_echo, NULL, RS_HTTP_COUNTED },
	{ "DELETE", "/things/{name}", rs_test_echo, NULL, 0 },
	{ "PUT", "/users", body, NULL, 0 },
	{ "GET", "/users/{a}/rides/{b}", rs_test_echo, NULL, 0 },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	rs_http_cfg cfg = rs_test_http_cfg("fuzz");

	signal(SIGPIPE, SIG_IGN);
	rs_log_set_level(RS_LOG_ERROR);
	cfg.threads = 8;
	cfg.body_limit = 4096;
	cfg.request_timeout_ms = 500;
	cfg.auth_token = "fuzz-token-0123456789abcdef";
	if (rs_http_start(
	        &cfg, routes, sizeof(routes) / sizeof(routes[0]), &srv)
	    != RS_OK)
		abort();
	port = rs_http_port(srv);
	return 0;
}

/* "METHOD SP target SP HTTP/1.x CRLF" at the start, and a CRLF CRLF. */
static int
well_formed_head(const uint8_t *d, size_t n)
{
	static const char *const methods[]
	    = { "GET ", "POST ", "PUT ", "DELETE ", "OPTIONS ", NULL };
	const char *end;
	size_t i = 0, m;

	for (m = 0; methods[m] != NULL; m++) {
		size_t l = strlen(methods[m]);
		if (n > l && memcmp(d, methods[m], l) == 0) {
			i = l;
			break;
		}
	}
	if (methods[m] == NULL || i >= n || (d[i] != '/' && d[i] != '*'))
		return 0;
	while (i < n && d[i] > ' ' && d[i] < 0x7f)
		i++;
	if (n - i < 11 || memcmp(d + i, " HTTP/1.", 8) != 0
	    || (d[i + 8] != '0' && d[i + 8] != '1') || d[i + 9] != '\r'
	    || d[i + 10] != '\n')
		return 0;
	end = memmem(d, n, "\r\n\r\n", 4);
	/* Nothing odd in the header block (CivetWeb may then wait for a
	 * header continuation or count NULs as the end of the data). */
	for (const uint8_t *p = d; end != NULL && p < (const uint8_t *) end;
	     p++) {
		if (*p == '\0' || (*p == '\r' && p[1] != '\n')
		    || (*p == '\n' && p > d && p[-1] != '\r'))
			return 0;
	}
	return end != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in a;
	struct timeval tv = { 3, 0 };
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	int s, first = 1, answered = 0;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		abort();
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t) port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *) &a, sizeof(a)) != 0)
		abort();
	if (size > 0 && send(s, data, size, MSG_NOSIGNAL) < 0) {
		close(s);
		return 0; /* the server closed early (e.g. 413): fine */
	}
	shutdown(s, SHUT_WR);
	while ((n = recv(s, buf, sizeof(buf), 0)) > 0) {
		if (first && n >= 9 && memcmp(buf, "HTTP/1.", 7) == 0)
			answered = 1;
		first = 0;
		got += (size_t) n;
	}
	close(s);
	if (!answered && well_formed_head(data, size)) {
		fprintf(stderr, "no HTTP answer (%zu bytes back)\n", got);
		abort();
	}
	return 0;
}
