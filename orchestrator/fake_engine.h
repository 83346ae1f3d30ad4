/* A fake Docker Engine API (fake_engine.c) for spawner_docker_test.c and
 * spawner_swarm_test.c: rules answer requests whose method matches and
 * whose path contains path_part; unmatched requests get 404. */
#ifndef RS_ORCH_FAKE_ENGINE_H
#define RS_ORCH_FAKE_ENGINE_H

#include <pthread.h>
#include <stdint.h>

struct rule {
	const char *method;
	const char *path_part; /* substring of the request path */
	int status;
	const char *body;
};

#define MAX_RULES 16
#define MAX_LOG   64

struct fake {
	char path[108]; /* the unix socket */
	int fd;
	pthread_t thr;
	struct rule rules[MAX_RULES];
	int nrules;
	char log[MAX_LOG][512]; /* "METHOD path" */
	char bodies[MAX_LOG][4096];
	int nlog;
	pthread_mutex_t lock;
};

extern struct fake fk;
/* What publish (an rs_orch_pid_fn) was called with. */
extern int published_count;
extern int64_t published_pid;

int publish(void *arg, const char *id, int64_t pid);
/* Starts the server thread on a fresh socket; resets log and rules. */
void fake_start(void);
void fake_stop(void);
/* Adds a rule (strings are not copied: literals). */
void rule(const char *method, const char *part, int status, const char *body);
/* Changes the body of every rule matching method and part exactly (task
 * states move on between polls). */
void rebody(const char *method, const char *part, const char *body);
/* How many logged requests start with prefix ("METHOD /path"). */
int logged(const char *prefix);
/* Body of the first logged request starting with prefix, or "". */
const char *body_of(const char *prefix);

/* cmocka fixtures: fake_start and fake_stop around one test. */
int fake_setup(void **state);
int fake_teardown(void **state);
#define FAKE_TEST(f) \
	cmocka_unit_test_setup_teardown(f, fake_setup, fake_teardown)

/* An rs_orch_exit_fn that counts the exits reported (reaped, since the
 * last fake_start) and keeps the last one's `how`. */
extern int reaped;
extern char reaped_how[64];
void on_exit_cb(void *arg, const char *id, int64_t pid, const char *how);

#endif
