/* The docker spawner against a fake Docker Engine API: a tiny HTTP server
 * on a unix socket (a thread of this test) that answers from a script and
 * records every request. Covers the happy path and the error paths:
 * daemon gone, 404, 409, 500. */
#include "capacity.h"
#include "fake_engine.h"
#include "rs_err.h"
#include "spawner.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "rs_test.h"

static rs_orch_spawner *
make(const char *socket)
{
	rs_orch_docker_cfg cfg = { .socket = socket,
		.image = "rs/worker:test",
		.network = "rsnet",
		.label = "org.rideshare.project=test",
		.api_version = "v1.41",
		.name_prefix = "rs-" };
	rs_orch_spawner *sp = NULL;

	assert_int_equal(
	    rs_orch_spawner_docker_create(&cfg, publish, NULL, &sp), RS_OK);
	return sp;
}

static void
test_spawn_creates_starts_inspects_and_publishes_pid(void **state)
{
	rs_orch_spawner *sp;
	int64_t pid = 0;

	(void) state;
	setenv("RIDESHARE_AMQP_URL", "amqp://guest:guest@rabbit:5672", 1);
	setenv("RIDESHARE_WORKER_PID", "1", 1); /* never inherited */
	rule("POST", "/v1.41/containers/create?name=rs-w1-abc", 201,
	    "{\"Id\":\"c0ffee\"}");
	rule("POST", "/containers/rs-w1-abc/start", 204, "");
	rule("GET", "/containers/rs-w1-abc/json", 200,
	    "{\"State\":{\"Running\":true,\"Pid\":4242,\"ExitCode\":0}}");
	sp = make(fk.path);
	assert_int_equal(rs_orch_spawner_spawn(sp, "w1-abc", &pid), RS_OK);
	assert_int_equal(pid, 4242);
	assert_int_equal(published_count, 1);
	assert_int_equal(published_pid, 4242);
	assert_int_equal(rs_orch_spawner_count(sp), 1);
	/* The container's env and labels. */
	assert_non_null(strstr(fk.bodies[0], "\"Image\":\"rs/worker:test\""));
	assert_non_null(strstr(fk.bodies[0], "RIDESHARE_WORKER_ID=w1-abc"));
	assert_non_null(strstr(fk.bodies[0], "RIDESHARE_WORKER_PID_ZNODE=1"));
	assert_non_null(strstr(fk.bodies[0], "RIDESHARE_NNG_HOST=rs-w1-abc"));
	assert_non_null(strstr(fk.bodies[0],
	    "RIDESHARE_AMQP_URL=amqp://guest:guest@rabbit:5672"));
	assert_null(strstr(fk.bodies[0], "RIDESHARE_WORKER_PID=1"));
	assert_null(strstr(fk.bodies[0], "PATH="));
	assert_non_null(
	    strstr(fk.bodies[0], "\"org.rideshare.project\":\"test\""));
	assert_non_null(strstr(fk.bodies[0], "\"NetworkMode\":\"rsnet\""));
	/* SIGKILL through the API. */
	rule("POST", "/containers/rs-w1-abc/kill?signal=SIGKILL", 204, "");
	assert_int_equal(
	    rs_orch_spawner_signal(sp, "w1-abc", 4242, SIGKILL), RS_OK);
	assert_int_equal(logged("POST /v1.41/containers/rs-w1-abc/kill"), 1);
	rs_orch_spawner_destroy(sp);
	/* Destroy leaves the workers running (the next orchestrator adopts
	 * them). */
	assert_int_equal(logged("DELETE /v1.41/containers/rs-w1-abc"), 0);
	unsetenv("RIDESHARE_WORKER_PID");
}

static void
test_host_network_has_no_hostname_and_binds_loopback(void **state)
{
	rs_orch_docker_cfg cfg = { .socket = fk.path,
		.image = "rs/worker:test",
		.network = "host",
		.label = "org.rideshare.project=test",
		.api_version = "v1.41",
		.name_prefix = "rs-" };
	rs_orch_spawner *sp = NULL;
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 201, "{\"Id\":\"x\"}");
	rule("POST", "/start", 204, "");
	rule("GET", "/json", 200,
	    "{\"State\":{\"Running\":true,\"Pid\":99,\"ExitCode\":0}}");
	assert_int_equal(
	    rs_orch_spawner_docker_create(&cfg, publish, NULL, &sp), RS_OK);
	assert_int_equal(rs_orch_spawner_spawn(sp, "w1-h", &pid), RS_OK);
	assert_null(strstr(fk.bodies[0], "\"Hostname\""));
	assert_non_null(strstr(fk.bodies[0], "\"NetworkMode\":\"host\""));
	assert_non_null(strstr(fk.bodies[0], "RIDESHARE_NNG_HOST=127.0.0.1"));
	rs_orch_spawner_destroy(sp);
}

static void
test_daemon_gone_is_a_connection_error(void **state)
{
	rs_orch_spawner *sp = make("/tmp/rs-no-such-docker.sock");
	int64_t pid = 0;

	(void) state;
	assert_int_equal(rs_orch_spawner_spawn(sp, "w2-x", &pid), RS_ECONN);
	assert_int_equal(pid, 0);
	assert_int_equal(rs_orch_spawner_count(sp), 0);
	rs_orch_spawner_destroy(sp);
}

static void
test_missing_image_is_not_found(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 404,
	    "{\"message\":\"No such image: rs/worker:test\"}");
	assert_int_equal(
	    rs_orch_spawner_spawn(sp, "w3-x", &pid), RS_ENOTFOUND);
	assert_int_equal(published_count, 0);
	assert_int_equal(logged("POST /v1.41/containers/rs-w3-x/start"), 0);
	rs_orch_spawner_destroy(sp);
}

static void
test_name_conflict_is_exists(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 409,
	    "{\"message\":\"Conflict. The container name is already in "
	    "use\"}");
	assert_int_equal(rs_orch_spawner_spawn(sp, "w4-x", &pid), RS_EEXIST);
	rs_orch_spawner_destroy(sp);
}

static void
test_start_failure_removes_the_container(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 201, "{\"Id\":\"x\"}");
	rule("POST", "/start", 500, "{\"message\":\"driver failed\"}");
	rule("DELETE", "/containers/rs-w5-x", 204, "");
	assert_int_equal(rs_orch_spawner_spawn(sp, "w5-x", &pid), RS_EIO);
	assert_int_equal(
	    logged("DELETE /v1.41/containers/rs-w5-x?force=true"), 1);
	assert_int_equal(rs_orch_spawner_count(sp), 0);
	assert_int_equal(published_count, 0);
	rs_orch_spawner_destroy(sp);
}

static void
test_container_that_exits_at_once_is_not_spawned(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 201, "{\"Id\":\"x\"}");
	rule("POST", "/start", 204, "");
	rule("GET", "/json", 200,
	    "{\"State\":{\"Running\":false,\"Pid\":0,\"ExitCode\":2}}");
	assert_int_not_equal(rs_orch_spawner_spawn(sp, "w6-x", &pid), RS_OK);
	assert_int_equal(logged("DELETE"), 1);
	rs_orch_spawner_destroy(sp);
}

static void
test_kill_errors_and_reap_of_exited_container(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 201, "{\"Id\":\"x\"}");
	rule("POST", "/start", 204, "");
	rule("GET", "/containers/rs-w7-x/json", 200,
	    "{\"State\":{\"Running\":true,\"Pid\":777,\"ExitCode\":0}}");
	assert_int_equal(rs_orch_spawner_spawn(sp, "w7-x", &pid), RS_OK);
	/* Unknown worker: nothing to signal. */
	assert_int_equal(
	    rs_orch_spawner_signal(sp, "nobody", 1, SIGKILL), RS_ENOTFOUND);
	/* Not running any more -> 409; gone -> 404. */
	rule("POST", "/kill", 409, "{\"message\":\"is not running\"}");
	assert_int_equal(
	    rs_orch_spawner_signal(sp, "w7-x", 777, SIGTERM), RS_ESTATE);
	/* Still running: reap reports nothing. */
	assert_int_equal(rs_orch_spawner_reap(sp, on_exit_cb, NULL), RS_OK);
	assert_int_equal(reaped, 0);
	/* Now it exited: reaped (after the 200 ms throttle) and removed. */
	pthread_mutex_lock(&fk.lock);
	fk.rules[2].body
	    = "{\"State\":{\"Running\":false,\"Pid\":0,\"ExitCode\":137}}";
	pthread_mutex_unlock(&fk.lock);
	usleep(250 * 1000);
	assert_int_equal(rs_orch_spawner_reap(sp, on_exit_cb, NULL), RS_OK);
	assert_int_equal(reaped, 1);
	assert_string_equal(reaped_how, "exit 137");
	assert_int_equal(rs_orch_spawner_count(sp), 0);
	assert_int_equal(logged("DELETE /v1.41/containers/rs-w7-x"), 1);
	rs_orch_spawner_destroy(sp);
}

static void
test_daemon_error_500_on_inspect(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	rule("POST", "/containers/create", 201, "{\"Id\":\"x\"}");
	rule("POST", "/start", 204, "");
	rule("GET", "/json", 500, "{\"message\":\"boom\"}");
	assert_int_equal(rs_orch_spawner_spawn(sp, "w8-x", &pid), RS_EIO);
	assert_int_equal(logged("DELETE /v1.41/containers/rs-w8-x"), 1);
	rs_orch_spawner_destroy(sp);
}

static void
test_worker_env_keeps_config_drops_spawner_owned(void **state)
{
	char *env[] = { "PATH=/bin", "RIDESHARE_AMQP_URL=amqp://x",
		"RIDESHARE_WORKER_ID=old", "RIDESHARE_NNG_HOST=h", NULL };
	const char *extra[] = { "RIDESHARE_WORKER_PID_ZNODE=1", NULL };
	char **e;

	(void) state;
	e = rs_orch_worker_env(env, "w9-y", NULL, extra, true);
	assert_non_null(e);
	assert_string_equal(e[0], "RIDESHARE_AMQP_URL=amqp://x");
	assert_string_equal(e[1], "RIDESHARE_WORKER_ID=w9-y");
	assert_string_equal(e[2], "RIDESHARE_WORKER_PID_ZNODE=1");
	assert_null(e[3]);
	rs_orch_env_free(e);
	e = rs_orch_worker_env(env, "w9-y", NULL, NULL, false);
	assert_string_equal(e[0], "PATH=/bin");
	assert_string_equal(e[2], "RIDESHARE_WORKER_ID=w9-y");
	assert_null(e[3]);
	rs_orch_env_free(e);
	/* Fixed entries replace inherited ones: the orchestrator's resolved
	 * endpoints win over whatever the environment held. */
	{
		const char *fixed[] = { "RIDESHARE_AMQP_URL=amqp://resolved",
			"RIDESHARE_ZK_HOSTS=127.0.0.1:24024", NULL };

		e = rs_orch_worker_env(env, "w9-y", fixed, extra, true);
		assert_string_equal(e[0], "RIDESHARE_WORKER_ID=w9-y");
		assert_string_equal(
		    e[1], "RIDESHARE_AMQP_URL=amqp://resolved");
		assert_string_equal(
		    e[2], "RIDESHARE_ZK_HOSTS=127.0.0.1:24024");
		assert_string_equal(e[3], "RIDESHARE_WORKER_PID_ZNODE=1");
		assert_null(e[4]);
		rs_orch_env_free(e);
	}
}

/* Capacity: the daemon host's NCPU, or per_node; no answer -> this
 * machine's CPUs (rs_orch_local_cpus), never 0. */
static void
test_capacity_is_daemon_ncpu_or_per_node(void **state)
{
	rs_orch_spawner *sp = make(fk.path);

	(void) state;
	assert_int_equal(
	    rs_orch_spawner_capacity(sp, 0), rs_orch_local_cpus());
	rule("GET", "/info", 200, "{\"NCPU\":12,\"Name\":\"h\"}");
	assert_int_equal(rs_orch_spawner_capacity(sp, 0), 12);
	assert_int_equal(rs_orch_spawner_capacity(sp, 5), 5);
	rs_orch_spawner_destroy(sp);
}

RS_TEST_MAIN(FAKE_TEST(test_spawn_creates_starts_inspects_and_publishes_pid),
    FAKE_TEST(test_host_network_has_no_hostname_and_binds_loopback),
    cmocka_unit_test(test_daemon_gone_is_a_connection_error),
    FAKE_TEST(test_missing_image_is_not_found),
    FAKE_TEST(test_name_conflict_is_exists),
    FAKE_TEST(test_start_failure_removes_the_container),
    FAKE_TEST(test_container_that_exits_at_once_is_not_spawned),
    FAKE_TEST(test_kill_errors_and_reap_of_exited_container),
    FAKE_TEST(test_daemon_error_500_on_inspect),
    cmocka_unit_test(test_worker_env_keeps_config_drops_spawner_owned),
    FAKE_TEST(test_capacity_is_daemon_ncpu_or_per_node))
