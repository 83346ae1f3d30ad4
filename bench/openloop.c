/* Open-loop (constant arrival rate) HTTP load generator for the read
 * scenarios of ./rideshare bench (issue 17 item 4; wrk2 is not in Debian).
 *
 *   openloop --port P [--host 127.0.0.1] --rate R --seconds S [--conns C]
 *            [--warmup W] (--rides-list SRC_LO:SRC_HI,DST_LO:DST_HI
 *                          | --ride-get ID_LO:ID_HI)
 *
 * Request i is due at t0 + i / R whatever happened to the ones before it.
 * Its latency is measured from that intended send time, not from when a
 * connection was free to send it: a stall of the server shows up as the
 * latency of every request that was due during it (coordinated omission
 * corrected, as wrk2 does), where a closed-loop client would just send
 * fewer requests. Requests due while all C keep-alive connections are busy
 * wait in a queue (their wait counts). One thread, epoll, nanosecond
 * timeouts (epoll_pwait2), no pipelining (one request in flight per
 * connection, like wrk and browsers).
 *
 * Prints one JSON object: target and achieved rate, counts, non-2xx,
 * errors, latency percentiles (ms, from the intended time) p50/p90/p99/
 * p99.9/max, and service-time p50/p99 (from the actual send) for
 * comparison. The first W seconds (default 1) are sent but not recorded.
 * Requests not answered 10 s after the last was due count as errors.
 * Exit 1 when nothing was answered. */
#include "bench_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_S  10.0 /* answers awaited after the last due time */
#define RESP_MAX (1 << 20) /* a response larger than this is an error */
#define REQ_MAX  256

enum { C_DOWN, C_IDLE, C_BUSY };

struct conn {
	int fd, state;
	bool want_out; /* EPOLLOUT armed: a request is partly written */
	double due, sent; /* of the request in flight */
	char req[REQ_MAX];
	size_t req_len, req_off;
	char *buf;
	size_t len, cap;
};

static struct {
	const char *host;
	int port, conns;
	double rate, seconds, warmup;
	bool list; /* rides list (else ride by id) */
	long src_lo, src_hi, dst_lo, dst_hi, id_lo, id_hi;
	struct sockaddr_in addr;
	int ep;
	uint64_t rng;
	/* queue of due times waiting for a connection (ring) */
	double *q;
	size_t q_cap, q_head, q_len;
	double t0;
	uint64_t due_n, total_n; /* scheduled so far, to schedule */
	uint64_t done, recorded, non2xx, errors, late_max_q;
	bench_lat lat, svc;
} g;

static uint64_t
rnd(void)
{
	/* xorshift64*: deterministic per run, no locking. */
	g.rng ^= g.rng >> 12;
	g.rng ^= g.rng << 25;
	g.rng ^= g.rng >> 27;
	return g.rng * 2685821657736338717ULL;
}

static long
pick(long lo, long hi)
{
	return lo + (long) (rnd() % (uint64_t) (hi - lo + 1));
}

static void
parse_range(const char *opt, const char *s, long *lo, long *hi)
{
	if (sscanf(s, "%ld:%ld", lo, hi) != 2 || *lo > *hi || *lo < 0) {
		fprintf(stderr, "%s: expected LO:HI, got \"%s\"\n", opt, s);
		exit(2);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: openloop --port P [--host H] --rate R --seconds S "
	    "[--conns C] [--warmup W]\n"
	    "                (--rides-list SLO:SHI,DLO:DHI | --ride-get "
	    "LO:HI)\n");
	exit(2);
}

static void
conn_open(struct conn *c)
{
	/* EPOLLOUT only while a write is pending (level-triggered: armed on
	 * an idle socket it would fire on every wait). */
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *) &g.addr, sizeof(g.addr)) != 0
	    && errno != EINPROGRESS) {
		perror("connect");
		exit(1);
	}
	epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->state = C_IDLE;
	c->want_out = false;
	c->len = 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_DOWN;
}

static void
record(struct conn *c, int status, double now)
{
	g.done++;
	if (status < 200 || status > 299)
		g.non2xx++;
	if (c->due - g.t0 < g.warmup)
		return;
	g.recorded++;
	bench_lat_add(&g.lat, (now - c->due) * 1000.0);
	bench_lat_add(&g.svc, (now - c->sent) * 1000.0);
}

static void
fail(struct conn *c)
{
	/* The request in flight is lost: counted, and the connection is
	 * opened again for the next one. */
	if (c->state == C_BUSY)
		g.errors++;
	conn_close(c);
	conn_open(c);
}

static void
arm_out(struct conn *c, bool on)
{
	struct epoll_event ev
	    = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out != on) {
		epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = on;
	}
}

static void
try_write(struct conn *c)
{
	while (c->req_off < c->req_len) {
		ssize_t n = send(c->fd, c->req + c->req_off,
		    c->req_len - c->req_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				arm_out(c, true);
				return;
			}
			fail(c);
			return;
		}
		c->req_off += (size_t) n;
	}
	arm_out(c, false);
}

static void
send_next(struct conn *c, double due, double now)
{
	if (g.list)
		c->req_len = (size_t) snprintf(c->req, sizeof(c->req),
		    "GET /api/v1/rides?source=%ld&destination=%ld HTTP/1.1\r\n"
		    "Host: %s:%d\r\n\r\n",
		    pick(g.src_lo, g.src_hi), pick(g.dst_lo, g.dst_hi), g.host,
		    g.port);
	else
		c->req_len = (size_t) snprintf(c->req, sizeof(c->req),
		    "GET /api/v1/rides/%ld HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
		    pick(g.id_lo, g.id_hi), g.host, g.port);
	c->req_off = 0;
	c->due = due;
	c->sent = now;
	c->state = C_BUSY;
	c->len = 0;
	try_write(c);
}

/* Length of a complete response at the start of buf, 0 when incomplete,
 * -1 when malformed. *status gets the status code. Bodies are framed by
 * Content-Length or chunked encoding; a chunked body ends at "\r\n0\r\n\r\n"
 * (JSON never carries a raw CR LF, so the marker cannot occur inside). */
static long
response_len(const char *buf, size_t len, int *status, bool *close_after)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *h;
	size_t hlen;
	long cl = -1;
	bool chunked = false;

	if (end == NULL)
		return len > 65536 ? -1 : 0;
	hlen = (size_t) (end - buf) + 4;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(buf + 9);
	*close_after = false;
	for (h = memchr(buf, '\n', hlen); h != NULL && h < end;
	     h = memchr(h + 1, '\n', (size_t) (end - h))) {
		const char *l = h + 1;

		if (strncasecmp(l, "Content-Length:", 15) == 0)
			cl = strtol(l + 15, NULL, 10);
		else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0
		    && strncasecmp(l + 18, " chunked", 8) == 0)
			chunked = true;
		else if (strncasecmp(l, "Connection:", 11) == 0
		    && strncasecmp(l + 11, " close", 6) == 0)
			*close_after = true;
	}
	if (chunked) {
		const char *z = memmem(
		    buf + hlen - 2, len - hlen + 2, "\r\n0\r\n\r\n", 7);

		return z == NULL ? 0 : (long) (z - buf) + 7;
	}
	if (cl < 0)
		return -1; /* no framing: not what the edge sends */
	return len >= hlen + (size_t) cl ? (long) (hlen + (size_t) cl) : 0;
}

static void
on_readable(struct conn *c, double now)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 16384) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *b;

			if (cap > RESP_MAX
			    || (b = realloc(c->buf, cap)) == NULL) {
				fail(c);
				return;
			}
			c->buf = b;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			fail(c);
			return;
		}
		if (n < 0)
			break;
		c->len += (size_t) n;
	}
	if (c->state == C_BUSY && c->len > 0) {
		int status = 0;
		bool close_after = false;
		long rl = response_len(c->buf, c->len, &status, &close_after);

		if (rl < 0) {
			fail(c);
			return;
		}
		if (rl > 0) {
			record(c, status, now);
			c->state = C_IDLE;
			c->len = 0;
			if (close_after) {
				conn_close(c);
				conn_open(c);
			}
		}
	}
}

static void
q_push(double due)
{
	if (g.q_len == g.q_cap) {
		size_t cap = g.q_cap ? g.q_cap * 2 : 4096;
		double *q = malloc(cap * sizeof(*q));

		if (q == NULL) {
			perror("malloc");
			exit(1);
		}
		for (size_t i = 0; i < g.q_len; i++)
			q[i] = g.q[(g.q_head + i) % g.q_cap];
		free(g.q);
		g.q = q;
		g.q_cap = cap;
		g.q_head = 0;
	}
	g.q[(g.q_head + g.q_len) % g.q_cap] = due;
	g.q_len++;
	if (g.q_len > g.late_max_q)
		g.late_max_q = g.q_len;
}

static double
q_pop(void)
{
	double d = g.q[g.q_head];

	g.q_head = (g.q_head + 1) % g.q_cap;
	g.q_len--;
	return d;
}

static void
parse_args(int argc, char **argv)
{
	g.host = "127.0.0.1";
	g.conns = 32;
	g.warmup = 1;
	g.rng = 0x9e3779b97f4a7c15ULL;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i],
		           *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		i++;
		if (strcmp(o, "--port") == 0)
			g.port = (int) bench_arg_long(o, v, 1, 65535);
		else if (strcmp(o, "--host") == 0)
			g.host = v;
		else if (strcmp(o, "--rate") == 0)
			g.rate = (double) bench_arg_long(o, v, 1, 1000000);
		else if (strcmp(o, "--seconds") == 0)
			g.seconds = (double) bench_arg_long(o, v, 1, 3600);
		else if (strcmp(o, "--warmup") == 0)
			g.warmup = (double) bench_arg_long(o, v, 0, 600);
		else if (strcmp(o, "--conns") == 0)
			g.conns = (int) bench_arg_long(o, v, 1, 4096);
		else if (strcmp(o, "--rides-list") == 0) {
			char a[64], b[64];

			if (sscanf(v, "%63[^,],%63s", a, b) != 2)
				usage();
			parse_range(o, a, &g.src_lo, &g.src_hi);
			parse_range(o, b, &g.dst_lo, &g.dst_hi);
			g.list = true;
		} else if (strcmp(o, "--ride-get") == 0) {
			parse_range(o, v, &g.id_lo, &g.id_hi);
			g.list = false;
		} else
			usage();
	}
	if (g.port == 0 || g.rate <= 0 || g.seconds <= 0
	    || (!g.list && g.id_hi == 0) || g.warmup >= g.seconds)
		usage();
	g.addr.sin_family = AF_INET;
	g.addr.sin_port = htons((uint16_t) g.port);
	if (inet_pton(AF_INET, g.host, &g.addr.sin_addr) != 1) {
		fprintf(stderr, "--host: expected an IPv4 address\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct conn *cs;
	struct epoll_event evs[256];
	double now, end, next;
	uint64_t sent_late = 0;

	parse_args(argc, argv);
	g.total_n = (uint64_t) (g.rate * g.seconds);
	g.ep = epoll_create1(0);
	cs = calloc((size_t) g.conns, sizeof(*cs));
	if (g.ep < 0 || cs == NULL) {
		perror("setup");
		return 1;
	}
	for (int i = 0; i < g.conns; i++) {
		cs[i].fd = -1;
		conn_open(&cs[i]);
	}
	g.t0 = bench_now() + 0.2; /* connections settle first */
	end = g.t0 + g.seconds + DRAIN_S;
	for (;;) {
		struct timespec ts;
		int n, busy = 0;

		now = bench_now();
		/* Everything due by now joins the queue, in due order. */
		while (g.due_n < g.total_n
		    && (next = g.t0 + (double) g.due_n / g.rate) <= now) {
			q_push(next);
			g.due_n++;
		}
		for (int i = 0; i < g.conns && g.q_len > 0; i++)
			if (cs[i].state == C_IDLE) {
				double due = q_pop();

				if (now - due > 0.001)
					sent_late++;
				send_next(&cs[i], due, now);
			}
		for (int i = 0; i < g.conns; i++)
			busy += cs[i].state == C_BUSY;
		if (g.due_n == g.total_n && g.q_len == 0 && busy == 0)
			break;
		if (now >= end)
			break;
		/* Sleep until the next due time or an event. */
		next = g.due_n < g.total_n ? g.t0 + (double) g.due_n / g.rate
		                           : end;
		if (g.q_len > 0 || next < now)
			next = now;
		ts.tv_sec = (time_t) (next - now);
		ts.tv_nsec = (long) ((next - now - (double) ts.tv_sec) * 1e9);
		n = epoll_pwait2(g.ep, evs, 256, &ts, NULL);
		now = bench_now();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				fail(c);
				continue;
			}
			if ((evs[i].events & EPOLLOUT) && c->state == C_BUSY)
				try_write(c);
			if (c->fd >= 0 && (evs[i].events & EPOLLIN))
				on_readable(c, now);
		}
	}
	/* Still in flight or never sent at the drain deadline: errors. */
	for (int i = 0; i < g.conns; i++)
		if (cs[i].state == C_BUSY)
			g.errors++;
	g.errors += g.q_len + (g.total_n - g.due_n);
	{
		double secs = g.seconds - g.warmup;

		printf(
		    "{\"target_rate\": %.0f, \"achieved_rate\": %.1f, "
		    "\"seconds\": %.0f, \"warmup_s\": %.0f, \"conns\": %d, "
		    "\"scheduled\": %llu, \"answered\": %llu, "
		    "\"recorded\": %llu, \"non2xx\": %llu, \"errors\": %llu, "
		    "\"sent_late_over_1ms\": %llu, \"max_queue\": %llu, "
		    "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
		    "\"p999_ms\": %.3f, \"max_ms\": %.3f, "
		    "\"service_p50_ms\": %.3f, \"service_p99_ms\": %.3f}\n",
		    g.rate, (double) g.recorded / secs, g.seconds, g.warmup,
		    g.conns, (unsigned long long) g.total_n,
		    (unsigned long long) g.done,
		    (unsigned long long) g.recorded,
		    (unsigned long long) g.non2xx,
		    (unsigned long long) g.errors,
		    (unsigned long long) sent_late,
		    (unsigned long long) g.late_max_q,
		    bench_lat_pct(&g.lat, 50), bench_lat_pct(&g.lat, 90),
		    bench_lat_pct(&g.lat, 99), bench_lat_pct(&g.lat, 99.9),
		    bench_lat_pct(&g.lat, 100), bench_lat_pct(&g.svc, 50),
		    bench_lat_pct(&g.svc, 99));
	}
	for (int i = 0; i < g.conns; i++) {
		conn_close(&cs[i]);
		free(cs[i].buf);
	}
	free(cs);
	free(g.q);
	bench_lat_free(&g.lat);
	bench_lat_free(&g.svc);
	close(g.ep);
	return g.done > 0 ? 0 : 1;
}
