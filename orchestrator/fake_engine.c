/* A fake Docker Engine API for the spawners' unit tests: a tiny HTTP
 * server on a unix socket (a thread of the test) that answers from a
 * script of rules and records every request (fake_engine.h). */
#include "fake_engine.h"

#include "rs_err.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

struct fake fk;

int published_count;
int64_t published_pid;
int reaped;
char reaped_how[64];

int
publish(void *arg, const char *id, int64_t pid)
{
	(void) arg;
	(void) id;
	published_count++;
	published_pid = pid;
	return RS_OK;
}

static void
serve_one(int c)
{
	char buf[65536], method[16] = "", path[1024] = "";
	size_t got = 0;
	char *hdr_end = NULL, *cl;
	long clen = 0;
	const struct rule *r = NULL;
	char out[8192];
	int n;

	while (got < sizeof(buf) - 1) {
		ssize_t k = read(c, buf + got, sizeof(buf) - 1 - got);

		if (k <= 0)
			return;
		got += (size_t) k;
		buf[got] = '\0';
		if (hdr_end == NULL
		    && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = strcasestr(buf, "Content-Length:");
			clen = cl && cl < hdr_end ? strtol(cl + 15, NULL, 10)
			                          : 0;
		}
		if (hdr_end != NULL
		    && got >= (size_t) (hdr_end + 4 - buf) + (size_t) clen)
			break;
	}
	sscanf(buf, "%15s %1023s", method, path);
	pthread_mutex_lock(&fk.lock);
	if (fk.nlog < MAX_LOG) {
		snprintf(
		    fk.log[fk.nlog], sizeof(fk.log[0]), "%s %s", method, path);
		snprintf(fk.bodies[fk.nlog], sizeof(fk.bodies[0]), "%s",
		    hdr_end ? hdr_end + 4 : "");
		fk.nlog++;
	}
	for (int i = 0; i < fk.nrules && r == NULL; i++) {
		if (strcmp(fk.rules[i].method, method) == 0
		    && strstr(path, fk.rules[i].path_part) != NULL)
			r = &fk.rules[i];
	}
	pthread_mutex_unlock(&fk.lock);
	n = snprintf(out, sizeof(out),
	    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    r ? r->status : 404,
	    strlen(r ? r->body : "{\"message\":\"no rule\"}"),
	    r ? r->body : "{\"message\":\"no rule\"}");
	(void) !write(c, out, (size_t) n);
}

static void *
fake_loop(void *arg)
{
	(void) arg;
	for (;;) {
		int c = accept(fk.fd, NULL, NULL);

		if (c < 0)
			return NULL;
		serve_one(c);
		close(c);
	}
}

void
fake_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.lock, NULL);
	snprintf(fk.path, sizeof(fk.path), "/tmp/rs-fake-engine-%d.sock",
	    (int) getpid());
	unlink(fk.path);
	fk.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk.path);
	assert_int_equal(bind(fk.fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.fd, 16), 0);
	pthread_create(&fk.thr, NULL, fake_loop, NULL);
	published_count = 0;
	published_pid = 0;
	reaped = 0;
	reaped_how[0] = '\0';
}

void
fake_stop(void)
{
	shutdown(fk.fd, SHUT_RDWR);
	close(fk.fd);
	pthread_join(fk.thr, NULL);
	unlink(fk.path);
}

void
rule(const char *method, const char *part, int status, const char *body)
{
	pthread_mutex_lock(&fk.lock);
	fk.rules[fk.nrules++] = (struct rule) { method, part, status, body };
	pthread_mutex_unlock(&fk.lock);
}

int
logged(const char *prefix)
{
	int k = 0;

	pthread_mutex_lock(&fk.lock);
	for (int i = 0; i < fk.nlog; i++)
		k += strncmp(fk.log[i], prefix, strlen(prefix)) == 0;
	pthread_mutex_unlock(&fk.lock);
	return k;
}

void
rebody(const char *method, const char *part, const char *body)
{
	pthread_mutex_lock(&fk.lock);
	for (int i = 0; i < fk.nrules; i++)
		if (strcmp(fk.rules[i].method, method) == 0
		    && strcmp(fk.rules[i].path_part, part) == 0)
			fk.rules[i].body = body;
	pthread_mutex_unlock(&fk.lock);
}

const char *
body_of(const char *prefix)
{
	for (int i = 0; i < fk.nlog; i++)
		if (strncmp(fk.log[i], prefix, strlen(prefix)) == 0)
			return fk.bodies[i];
	return "";
}

int
fake_setup(void **state)
{
	(void) state;
	/* The fake writes to sockets the spawner may have closed. */
	signal(SIGPIPE, SIG_IGN);
	fake_start();
	return 0;
}

int
fake_teardown(void **state)
{
	(void) state;
	fake_stop();
	return 0;
}

void
on_exit_cb(void *arg, const char *id, int64_t pid, const char *how)
{
	(void) arg;
	(void) id;
	(void) pid;
	reaped++;
	snprintf(reaped_how, sizeof(reaped_how), "%s", how);
}
