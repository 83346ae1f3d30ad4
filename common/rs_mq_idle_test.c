/* rs_mq against a real RabbitMQ with a 1 s heartbeat: connections whose
 * owner makes no call for several intervals stay alive (the keepalive
 * thread), deliveries that arrive meanwhile are kept in order, and a
 * broker that closes an idle connection makes it fail fast. Run by
 * tests/with-stack.sh (RIDESHARE_AMQP_URL, RIDESHARE_STACK_DIR). The file
 * is included so the test can look at the object's state without calling
 * it (a call would service the connection itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_mq.c"
#include "rs_test_stack.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEARTBEAT "1"
/* More than three intervals; the broker drops a silent client after two
 * or three. */
#define IDLE_MS 4000

static const char *url;

/* A connection called idle-test-<what>-<pid> (its name goes to name, 64
 * bytes, for broker_conn), with the heartbeat the test set. */
static rs_mq *
connect_as(const char *what, char *name)
{
	rs_mq *mq = NULL;

	snprintf(name, 64, "idle-test-%s-%ld", what, (long) getpid());
	assert_int_equal(rs_mq_connect_retry(url, name, 10000, &mq), RS_OK);
	assert_int_equal(mq->heartbeat_s, atoi(HEARTBEAT));
	return mq;
}

/* mq's own exclusive queue, <name>-q (q: 80 bytes). */
static void
declare_own_queue(rs_mq *mq, const char *name, char *q)
{
	snprintf(q, 80, "%s-q", name);
	assert_int_equal(rs_mq_declare_queue(mq, q, RS_MQ_EXCLUSIVE), RS_OK);
}

/* The local TCP port: the same port means the same connection. */
static int
local_port(rs_mq *mq)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(
	    getsockname(rs_mq_fd(mq), (struct sockaddr *) &a, &len), 0);
	return ntohs(a.sin_port);
}

/* State the keepalive changes, read under the lock without servicing the
 * connection: dead, and the messages the keepalive took in while the
 * owner was idle (nidle). */
typedef struct {
	bool dead;
	size_t nidle;
} mq_state;

static mq_state
peek(rs_mq *mq)
{
	mq_state st;

	pthread_mutex_lock(&mq->lock);
	st.dead = mq->dead;
	st.nidle = mq->nidle;
	pthread_mutex_unlock(&mq->lock);
	return st;
}

/* Waits up to timeout_ms for the keepalive to mark mq dead; returns the
 * milliseconds waited. */
static int64_t
wait_dead(rs_mq *mq, int timeout_ms)
{
	int64_t t0 = rs_time_now_ms();

	while (!peek(mq).dead && rs_time_now_ms() - t0 < timeout_ms)
		rs_time_sleep_ms(20);
	return rs_time_now_ms() - t0;
}

/* A dead connection fails a publish at once: RS_ECONN within 100 ms. */
static void
assert_fails_fast(rs_mq *mq)
{
	int64_t t0 = rs_time_now_ms();

	assert_int_equal(
	    rs_mq_publish(mq, "", "nowhere", "x", 1, NULL), RS_ECONN);
	assert_true(rs_time_now_ms() - t0 < 100);
}

/* `./rideshare rabbitmqctl list_connections pid client_properties`: the
 * broker's pid of the connection called name (the connection_name client
 * property), or false when the broker does not list it. */
static bool
broker_conn(const char *name, char *pid, size_t cap)
{
	char line[4096], needle[128];
	bool found = false;
	FILE *p = popen(RS_SOURCE_DIR "/rideshare rabbitmqctl -q "
	                              "list_connections --no-table-headers "
	                              "pid client_properties 2>&1",
	    "r");

	assert_non_null(p);
	snprintf(needle, sizeof(needle), "{\"connection_name\",\"%s\"}", name);
	while (fgets(line, sizeof(line), p) != NULL) {
		char *tab = strchr(line, '\t');

		if (tab == NULL || strstr(tab, needle) == NULL)
			continue;
		*tab = '\0';
		if (pid != NULL && strlen(line) < cap)
			memcpy(pid, line, strlen(line) + 1);
		found = true;
	}
	assert_int_equal(pclose(p), 0);
	return found;
}

static void
test_idle_publisher_confirms_on_the_same_connection(void **state)
{
	char name[64], q[80];
	rs_mq_props props = { .persistent = true };
	rs_mq *mq;
	int port;

	(void) state;
	mq = connect_as("pub", name);
	declare_own_queue(mq, name, q);
	assert_int_equal(rs_mq_confirm_select(mq), RS_OK);
	port = local_port(mq);

	rs_time_sleep_ms(IDLE_MS);
	assert_false(peek(mq).dead);
	assert_int_equal(rs_mq_publish(mq, "", q, "x", 1, &props), RS_OK);
	assert_int_equal(rs_mq_wait_confirms(mq, 2000), RS_OK);
	/* Twice: the second idle period starts from a used connection. */
	rs_time_sleep_ms(IDLE_MS);
	assert_int_equal(rs_mq_publish(mq, "", q, "y", 1, &props), RS_OK);
	assert_int_equal(rs_mq_wait_confirms(mq, 2000), RS_OK);
	assert_int_equal(local_port(mq), port);
	assert_true(broker_conn(name, NULL, 0));
	rs_mq_destroy(mq);
}

static void
test_idle_consumer_receives_a_later_message(void **state)
{
	char name[64], pname[64], q[80];
	rs_mq *c, *p;
	rs_mq_msg m;
	int port;

	(void) state;
	c = connect_as("cons", name);
	declare_own_queue(c, name, q);
	assert_int_equal(rs_mq_consume(c, q, false, NULL), RS_OK);
	port = local_port(c);

	rs_time_sleep_ms(IDLE_MS);
	assert_false(peek(c).dead);
	p = connect_as("late-publisher", pname);
	assert_int_equal(rs_mq_publish(p, "", q, "late", 4, NULL), RS_OK);
	assert_int_equal(rs_mq_next(c, 3000, &m), RS_OK);
	assert_int_equal(m.len, 4);
	assert_memory_equal(m.body, "late", 4);
	assert_int_equal(rs_mq_ack(c, m.delivery_tag, false), RS_OK);
	rs_mq_msg_release(c, &m);
	assert_int_equal(local_port(c), port);
	assert_true(broker_conn(name, NULL, 0));
	rs_mq_destroy(p);
	rs_mq_destroy(c);
}

static void
test_deliveries_while_idle_are_kept_in_order(void **state)
{
	char name[64], pname[64], q[80], body[16];
	rs_mq *c, *p;
	rs_mq_msg m;

	(void) state;
	c = connect_as("order", name);
	p = connect_as("order-publisher", pname);
	declare_own_queue(c, name, q);
	assert_int_equal(rs_mq_consume(c, q, false, NULL), RS_OK);

	rs_time_sleep_ms(1000);
	for (int i = 1; i <= 3; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		assert_int_equal(
		    rs_mq_publish(p, "", q, body, 2, NULL), RS_OK);
	}
	rs_time_sleep_ms(IDLE_MS - 1000);
	/* The keepalive read them off the socket while the owner was away. */
	assert_int_equal(peek(c).nidle, 3);
	assert_true(rs_mq_has_buffered(c));
	assert_int_equal(rs_mq_publish(p, "", q, "m4", 2, NULL), RS_OK);
	for (int i = 1; i <= 4; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		assert_int_equal(rs_mq_next(c, 3000, &m), RS_OK);
		assert_int_equal(m.len, 2);
		assert_memory_equal(m.body, body, 2);
		assert_int_equal(rs_mq_ack(c, m.delivery_tag, false), RS_OK);
	}
	assert_int_equal(rs_mq_next(c, 200, &m), RS_ETIMEDOUT);
	rs_mq_msg_release(c, &m);
	rs_mq_destroy(p);
	rs_mq_destroy(c);
}

static void
test_broker_closing_an_idle_connection_fails_fast(void **state)
{
	char name[64], pid[128], cmd[512];
	rs_mq *mq;

	(void) state;
	mq = connect_as("closed", name);
	assert_int_equal(rs_mq_confirm_select(mq), RS_OK);
	assert_true(broker_conn(name, pid, sizeof(pid)));
	snprintf(cmd, sizeof(cmd),
	    RS_SOURCE_DIR "/rideshare rabbitmqctl -q close_connection '%s' "
	                  "idle-test >/dev/null 2>&1",
	    pid);
	assert_int_equal(system(cmd), 0);
	/* Noticed without any call by the owner. */
	wait_dead(mq, 5000);
	assert_true(peek(mq).dead);
	assert_fails_fast(mq);
	rs_mq_destroy(mq);
}

/* The pid of the stack's RabbitMQ node (beam.smp), or 0. */
static pid_t
broker_pid(void)
{
	const char *dir = getenv("RIDESHARE_STACK_DIR"),
	           *port = getenv("RIDESHARE_AMQP_PORT");
	char path[512];
	long pid = 0;
	FILE *f;

	if (dir == NULL || port == NULL)
		return 0;
	snprintf(path, sizeof(path),
	    "%s/rabbitmq/mnesia/rideshare-%s@localhost.pid", dir, port);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t) pid;
}

static void
test_silent_broker_makes_an_idle_connection_dead(void **state)
{
	char name[64];
	pid_t broker = broker_pid();
	int64_t waited;
	rs_mq *mq;

	(void) state;
	if (broker <= 0)
		skip();
	mq = connect_as("silent", name);
	assert_int_equal(rs_mq_confirm_select(mq), RS_OK);
	rs_time_sleep_ms(1500);
	/* A hung broker: the socket stays open, nothing comes. */
	assert_int_equal(kill(broker, SIGSTOP), 0);
	waited = wait_dead(mq, 8000);
	assert_int_equal(kill(broker, SIGCONT), 0);
	print_message(
	    "silent broker noticed after %lld ms\n", (long long) waited);
	assert_true(peek(mq).dead);
	/* Two intervals without a byte, plus a visit. */
	assert_true(waited <= 2000 * atoi(HEARTBEAT) + 1000);
	assert_fails_fast(mq);
	rs_mq_destroy(mq);
}

/* The control: the same idle publisher without the keepalive is dropped
 * by the broker, which is the failure the keepalive exists for. */
static void
test_without_keepalive_an_idle_publisher_is_dropped(void **state)
{
	char name[64];
	rs_mq *mq;
	int rc;

	(void) state;
	mq = connect_as("nokeepalive", name);
	assert_int_equal(rs_mq_confirm_select(mq), RS_OK);
	ka_unregister(mq);
	rs_time_sleep_ms(IDLE_MS + 2000);
	rc = rs_mq_publish(mq, "", "nowhere", "x", 1, NULL);
	if (rc == RS_OK)
		rc = rs_mq_wait_confirms(mq, 2000);
	assert_int_equal(rc, RS_ECONN);
	assert_false(broker_conn(name, NULL, 0));
	rs_mq_destroy(mq);
}

/* Owners that alternate short bursts with pauses around the idle
 * threshold, each on its own connection, while the keepalive visits
 * them: every message arrives once, in order (run under TSan too). */
struct worker_arg {
	int id;
	int got;
};

static void *
busy_idle_worker(void *arg)
{
	struct worker_arg *w = arg;
	char name[64], q[80], body[16];
	rs_mq *mq = NULL;
	rs_mq_msg m;

	snprintf(name, sizeof(name), "idle-test-worker-%d-%ld", w->id,
	    (long) getpid());
	snprintf(q, sizeof(q), "%s-q", name);
	if (rs_mq_connect_retry(url, name, 10000, &mq) != RS_OK
	    || rs_mq_declare_queue(mq, q, RS_MQ_EXCLUSIVE) != RS_OK
	    || rs_mq_consume(mq, q, false, NULL) != RS_OK)
		return NULL;
	for (int i = 0; i < 12; i++) {
		int len = snprintf(body, sizeof(body), "%d-%d", w->id, i);

		if (rs_mq_publish(mq, "", q, body, (size_t) len, NULL)
		    != RS_OK)
			break;
		/* 0 .. 900 ms: sometimes the keepalive reads it first. */
		rs_time_sleep_ms((w->id * 7 + i * 13) % 10 * 100);
		if (rs_mq_next(mq, 3000, &m) != RS_OK)
			break;
		if (m.len != (size_t) len || memcmp(m.body, body, m.len) != 0)
			break;
		if (rs_mq_ack(mq, m.delivery_tag, false) != RS_OK)
			break;
		w->got++;
	}
	rs_mq_msg_release(mq, &m);
	rs_mq_destroy(mq);
	return NULL;
}

static void
test_busy_and_idle_owners_in_parallel(void **state)
{
	pthread_t t[4];
	struct worker_arg a[4];

	(void) state;
	for (int i = 0; i < 4; i++) {
		a[i].id = i;
		a[i].got = 0;
		assert_int_equal(
		    pthread_create(&t[i], NULL, busy_idle_worker, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].got, 12);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_idle_publisher_confirms_on_the_same_connection),
		cmocka_unit_test(test_idle_consumer_receives_a_later_message),
		cmocka_unit_test(test_deliveries_while_idle_are_kept_in_order),
		cmocka_unit_test(
		    test_broker_closing_an_idle_connection_fails_fast),
		cmocka_unit_test(
		    test_silent_broker_makes_an_idle_connection_dead),
		cmocka_unit_test(
		    test_without_keepalive_an_idle_publisher_is_dropped),
		cmocka_unit_test(test_busy_and_idle_owners_in_parallel),
	};

	setenv("RIDESHARE_AMQP_HEARTBEAT_S", HEARTBEAT, 1);
	url = rs_test_amqp_init("rs_mq_idle_test");
	return cmocka_run_group_tests_name("rs_mq_idle", tests, NULL, NULL);
}
