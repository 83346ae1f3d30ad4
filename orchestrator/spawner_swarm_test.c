/* The swarm spawner against a fake Docker Engine API (swarm manager): a tiny
 * HTTP server on a unix socket (a thread of this test) that answers from a
 * script and records every request. Covers the service body (image by id,
 * secrets, network, dnsrr, labels), the pid rule, liveness from task states,
 * kill, adopt and the error paths. */
#include "fake_engine.h"
#include "rs_err.h"
#include "spawner_swarm.h"

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

/* What the fake ZooKeeper holds in RS_ZK_MASTER_VOLUME; NULL: absent. */
static const char *recorded_vol;

static int
recorded(void *arg, char *buf, size_t len)
{
	(void) arg;
	if (recorded_vol == NULL)
		return RS_ENOTFOUND;
	snprintf(buf, len, "%s", recorded_vol);
	return RS_OK;
}

static rs_orch_spawner *
make_first(const char *socket, const char *volumes_first)
{
	rs_orch_swarm_cfg cfg = { .socket = socket,
		.recorded_volume = recorded,
		.image = "rs/worker:test",
		.network = "rs_net",
		.label = "org.rideshare.project=test",
		.api_version = "v1.41",
		.name_prefix = "rs-",
		.secrets = "rs_amqp_url:amqp_url,rs_zk_auth:zk_auth",
		.constraints = "node.role==worker",
		.volume = "/var/lib/postgresql/data",
		.volumes_first = volumes_first,
		.start_timeout_ms = 2000 };
	rs_orch_spawner *sp = NULL;

	assert_int_equal(
	    rs_orch_spawner_swarm_create(&cfg, publish, NULL, &sp), RS_OK);
	return sp;
}

static rs_orch_spawner *
make(const char *socket)
{
	return make_first(socket, NULL);
}

#define TASK_RUNNING                                                      \
	"[{\"ID\":\"t1\",\"NodeID\":\"n1\",\"DesiredState\":\"running\"," \
	"\"Version\":{\"Index\":7},\"Status\":{\"State\":\"running\","    \
	"\"ContainerStatus\":{\"ContainerID\":\"c1\",\"PID\":4242,"       \
	"\"ExitCode\":0}}}]"
#define TASK_FAILED                                                        \
	"[{\"ID\":\"t1\",\"NodeID\":\"n1\",\"DesiredState\":\"shutdown\"," \
	"\"Version\":{\"Index\":9},\"Status\":{\"State\":\"failed\","      \
	"\"Err\":\"task: non-zero exit (137)\",\"ContainerStatus\":{"      \
	"\"ContainerID\":\"c1\",\"PID\":0,\"ExitCode\":137}}}]"

static void
infra_rules(void)
{
	rule("GET", "/images/rs/worker:test/json", 200,
	    "{\"Id\":\"sha256:abcdef\"}");
	rule("GET", "/secrets?filters=", 200,
	    "[{\"ID\":\"s-amqp\",\"Spec\":{\"Name\":\"rs_amqp_url\"}},"
	    "{\"ID\":\"s-zk\",\"Spec\":{\"Name\":\"rs_zk_auth\"}}]");
	rule("GET", "/networks?filters=", 200,
	    "[{\"Id\":\"net1\",\"Name\":\"rs_net\"}]");
	rule("GET", "/nodes/n1", 200,
	    "{\"ID\":\"n1\",\"Spec\":{\"Labels\":"
	    "{\"org.rideshare.node-index\":\"3\"}}}");
}

static void
test_spawn_creates_service_waits_for_task_and_publishes_pid(void **state)
{
	rs_orch_spawner *sp;
	int64_t pid = 0;
	const char *b;

	(void) state;
	setenv("RIDESHARE_AMQP_URL_FILE", "/run/secrets/amqp_url", 1);
	infra_rules();
	rule("POST", "/v1.41/services/create", 201, "{\"ID\":\"svc1\"}");
	rule("GET", "/tasks?filters=", 200,
	    "[{\"ID\":\"t1\",\"NodeID\":\"n1\",\"DesiredState\":\"running\","
	    "\"Version\":{\"Index\":2},\"Status\":{\"State\":\"preparing\"}}"
	    "]");
	sp = make(fk.path);
	/* The task runs on the second poll. */
	rebody("GET", "/tasks?filters=", TASK_RUNNING);
	assert_int_equal(rs_orch_spawner_spawn(sp, "w1-abc", &pid), RS_OK);
	/* node-index 3 * 10^7 + host pid 4242 */
	assert_int_equal(pid, 3 * RS_ORCH_SWARM_PID_NODE + 4242);
	assert_int_equal(published_count, 1);
	assert_int_equal(published_pid, pid);
	assert_int_equal(rs_orch_spawner_count(sp), 1);
	b = body_of("POST /v1.41/services/create");
	assert_non_null(strstr(b, "\"Name\":\"rs-w1-abc\""));
	/* By id: no registry pull at task start. */
	assert_non_null(strstr(b, "\"Image\":\"sha256:abcdef\""));
	assert_non_null(strstr(b, "RIDESHARE_WORKER_ID=w1-abc"));
	assert_non_null(strstr(b, "RIDESHARE_NNG_HOST=rs-w1-abc"));
	assert_non_null(strstr(b, "RIDESHARE_WORKER_PID_ZNODE=1"));
	assert_non_null(
	    strstr(b, "RIDESHARE_AMQP_URL_FILE=/run/secrets/amqp_url"));
	assert_non_null(strstr(b, "\"org.rideshare.project\":\"test\""));
	assert_non_null(strstr(b, "\"org.rideshare.worker-id\":\"w1-abc\""));
	assert_non_null(strstr(b, "\"SecretID\":\"s-amqp\""));
	assert_non_null(strstr(b, "\"Name\":\"zk_auth\""));
	assert_non_null(strstr(b, "\"Target\":\"net1\""));
	assert_non_null(strstr(b, "\"Mode\":\"dnsrr\""));
	assert_non_null(strstr(b, "\"Condition\":\"none\""));
	assert_non_null(strstr(b, "node.role==worker"));
	assert_non_null(strstr(b, "\"Source\":\"rs-w1-abc-data\""));
	assert_non_null(strstr(b, "\"Target\":\"/var/lib/postgresql/data\""));
	/* SIGKILL: the task's container, through this daemon. */
	rule("POST", "/containers/c1/kill?signal=SIGKILL", 204, "");
	assert_int_equal(
	    rs_orch_spawner_signal(sp, "w1-abc", pid, SIGKILL), RS_OK);
	assert_int_equal(logged("POST /v1.41/containers/c1/kill"), 1);
	rs_orch_spawner_destroy(sp);
	/* Workers outlive the orchestrator: destroy removes nothing. */
	assert_int_equal(logged("DELETE /v1.41/services/rs-w1-abc"), 0);
	unsetenv("RIDESHARE_AMQP_URL_FILE");
}

static void
test_reap_reports_failed_task_and_removes_service(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	infra_rules();
	rule("POST", "/services/create", 201, "{\"ID\":\"svc1\"}");
	rule("GET", "/tasks?filters=", 200, TASK_RUNNING);
	rule("DELETE", "/services/rs-w2-x", 200, "");
	assert_int_equal(rs_orch_spawner_spawn(sp, "w2-x", &pid), RS_OK);
	assert_int_equal(rs_orch_spawner_reap(sp, on_exit_cb, NULL), RS_OK);
	assert_int_equal(reaped, 0);
	rebody("GET", "/tasks?filters=", TASK_FAILED);
	usleep(250 * 1000); /* reap polls at most every 200 ms */
	assert_int_equal(rs_orch_spawner_reap(sp, on_exit_cb, NULL), RS_OK);
	assert_int_equal(reaped, 1);
	assert_string_equal(reaped_how, "exit 137");
	assert_int_equal(logged("DELETE /v1.41/services/rs-w2-x"), 1);
	assert_int_equal(rs_orch_spawner_count(sp), 0);
	rs_orch_spawner_destroy(sp);
}

static void
test_task_that_fails_at_start_is_not_spawned(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	infra_rules();
	rule("POST", "/services/create", 201, "{\"ID\":\"svc1\"}");
	rule("GET", "/tasks?filters=", 200,
	    "[{\"ID\":\"t1\",\"NodeID\":\"n1\",\"DesiredState\":\"shutdown\","
	    "\"Version\":{\"Index\":3},\"Status\":{\"State\":\"rejected\","
	    "\"Err\":\"No such image: sha256:abcdef\"}}]");
	rule("DELETE", "/services/", 200, "");
	assert_int_equal(rs_orch_spawner_spawn(sp, "w3-x", &pid), RS_ESTATE);
	assert_int_equal(published_count, 0);
	assert_int_equal(logged("DELETE /v1.41/services/rs-w3-x"), 1);
	assert_int_equal(rs_orch_spawner_count(sp), 0);
	rs_orch_spawner_destroy(sp);
}

static void
test_task_that_never_runs_times_out(void **state)
{
	rs_orch_spawner *sp = make(fk.path);
	int64_t pid = 0;

	(void) state;
	infra_rules();
	rule("POST", "/services/create", 201, "{\"ID\":\"svc1\"}");
	rule("GET", "/tasks?filters=", 200, "[]");
	rule("DELETE", "/services/", 200, "");
	assert_int_equal(
	    rs_orch_spawner_spawn(sp, "w4-x", &pid), RS_ETIMEDOUT);
	assert_int_equal(logged("DELETE /v1.41/services/rs-w4-x"), 1);
	rs_orch_spawner_destroy(sp);
}

static void
test_missing_secret_and_conflict_and_daemon_gone(void **state)
{
	rs_orch_spawner *sp = make(fk.path), *gone;
	int64_t pid = 0;

	(void) state;
	rule("GET", "/images/", 200, "{\"Id\":\"sha256:abcdef\"}");
	rule("GET", "/secrets?filters=", 200, "[]");
	assert_int_not_equal(rs_orch_spawner_spawn(sp, "w5-x", &pid), RS_OK);
	assert_int_equal(logged("POST /v1.41/services/create"), 0);
	rs_orch_spawner_destroy(sp);
	fk.nrules = 0;
	infra_rules();
	rule("POST", "/services/create", 409,
	    "{\"message\":\"name conflicts with an existing object\"}");
	sp = make(fk.path);
	assert_int_equal(rs_orch_spawner_spawn(sp, "w6-x", &pid), RS_EEXIST);
	rs_orch_spawner_destroy(sp);
	gone = make("/tmp/rs-no-such-swarm.sock");
	assert_int_not_equal(rs_orch_spawner_spawn(gone, "w7-x", &pid), RS_OK);
	assert_int_equal(rs_orch_spawner_count(gone), 0);
	rs_orch_spawner_destroy(gone);
}

static void
test_adopt_by_service_name(void **state)
{
	rs_orch_spawner *sp = make(fk.path);

	(void) state;
	infra_rules();
	rule("GET", "/tasks?filters=%7B%22service%22%3A%5B%22rs-w8-x%22%5D",
	    200, TASK_RUNNING);
	rule("GET", "/tasks?filters=", 200, "[]");
	assert_int_equal(rs_orch_spawner_adopt(sp, "w8-x", 1), RS_OK);
	assert_int_equal(rs_orch_spawner_adopt(sp, "w8-x", 1), RS_EEXIST);
	assert_int_equal(rs_orch_spawner_count(sp), 1);
	assert_int_equal(rs_orch_spawner_adopt(sp, "w9-x", 1), RS_ENOTFOUND);
	/* SIGTERM: swarm stops the task (service removed). */
	rule("DELETE", "/services/rs-w8-x", 200, "");
	assert_int_equal(
	    rs_orch_spawner_signal(sp, "w8-x", 0, SIGTERM), RS_OK);
	assert_int_equal(logged("DELETE /v1.41/services/rs-w8-x"), 1);
	rs_orch_spawner_destroy(sp);
}

/* After the volume rules of a test: no other container uses a volume, this
 * node's id, and a spawn that runs at once. */
static void
adoption_rules(void)
{
	rule("GET", "/containers/json?all=1&filters=", 200, "[]");
	rule("GET", "/info", 200, "{\"Swarm\":{\"NodeID\":\"node-self\"}}");
	rule("POST", "/v1.41/services/create", 201, "{\"ID\":\"svc1\"}");
	rule("GET", "/tasks?filters=", 200, TASK_RUNNING);
}

/* A kept volume that no service mounts and no container uses is taken
 * (the smallest name), and the task is placed on this node; a volume in
 * use, of another prefix or not a data volume is not. */
static void
test_spawn_adopts_a_free_kept_volume(void **state)
{
	rs_orch_spawner *sp;
	int64_t pid = 0;
	const char *b;

	(void) state;
	infra_rules();
	rule("GET", "/volumes?filters=", 200,
	    "{\"Volumes\":[{\"Name\":\"rs-w0-zzz-data\"},"
	    "{\"Name\":\"rs-w0-aaa-data\"},{\"Name\":\"rs-w0-mmm-data\"},"
	    "{\"Name\":\"xrs-w0-a-data\"},{\"Name\":\"rs-w0-bbb\"}]}");
	rule("GET", "/services", 200,
	    "[{\"Spec\":{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":"
	    "[{\"Source\":\"rs-w0-mmm-data\"}]}}}}]");
	rule("GET", "rs-w0-aaa-data", 200, "[{\"Id\":\"stopping\"}]");
	adoption_rules();
	sp = make(fk.path);
	assert_int_equal(rs_orch_spawner_spawn(sp, "w2-new", &pid), RS_OK);
	b = body_of("POST /v1.41/services/create");
	assert_non_null(strstr(b, "\"Source\":\"rs-w0-zzz-data\""));
	assert_null(strstr(b, "rs-w2-new-data"));
	assert_non_null(strstr(b, "node.id==node-self"));
	assert_non_null(strstr(b, "node.role==worker"));
	rs_orch_spawner_destroy(sp);
}

/* Spawns worker id with these kept volumes (GET /volumes body), services
 * (GET /services body), swarm.sh down's list first and the volume the last
 * master recorded (NULL: none); returns the services/create body. */
static const char *
spawn_with(const char *volumes, const char *services, const char *first,
    const char *rec, const char *id)
{
	rs_orch_spawner *sp;
	int64_t pid = 0;

	infra_rules();
	rule("GET", "/volumes?filters=", 200, volumes);
	rule("GET", "/services", 200, services);
	adoption_rules();
	recorded_vol = rec;
	sp = make_first(fk.path, first);
	assert_int_equal(rs_orch_spawner_spawn(sp, id, &pid), RS_OK);
	recorded_vol = NULL;
	rs_orch_spawner_destroy(sp);
	return body_of("POST /v1.41/services/create");
}

#define KEPT_VOLUMES                                   \
	"{\"Volumes\":[{\"Name\":\"rs-w1-old-data\"}," \
	"{\"Name\":\"rs-w7-last-data\"},"              \
	"{\"Name\":\"rs-w8-master-data\"},"            \
	"{\"Name\":\"rs-w9-last-data\"}]}"

/* The volumes swarm.sh down listed (the last workers': levelled copies)
 * come first, in list order, when free. */
static void
test_spawn_adopts_listed_volumes_first(void **state)
{
	(void) state;
	assert_non_null(strstr(spawn_with(KEPT_VOLUMES, "[]",
	                           "rs-w5-gone-data,rs-w9-last-data,"
	                           "rs-w7-last-data",
	                           NULL, "w10-new"),
	    "\"Source\":\"rs-w9-last-data\""));
}

/* After every worker crashed at once: the volume the last master named
 * (its copy is at or above the history mark) goes before swarm.sh down's
 * list and the smallest name, and the worker learns which volume it has.
 */
static void
test_spawn_adopts_the_last_masters_volume_first(void **state)
{
	const char *b;

	(void) state;
	b = spawn_with(KEPT_VOLUMES, "[]", "rs-w9-last-data,rs-w7-last-data",
	    "rs-w8-master-data", "w10-new");
	assert_non_null(strstr(b, "\"Source\":\"rs-w8-master-data\""));
	assert_non_null(
	    strstr(b, "\"RIDESHARE_WORKER_VOLUME=rs-w8-master-data\""));
	assert_non_null(strstr(b, "node.id==node-self"));
}

/* A recorded volume a service still mounts (its master lives) is not
 * taken: the list order applies. */
static void
test_spawn_skips_the_last_masters_volume_in_use(void **state)
{
	(void) state;
	assert_non_null(strstr(
	    spawn_with(KEPT_VOLUMES,
	        "[{\"Spec\":{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":"
	        "[{\"Source\":\"rs-w8-master-data\"}]}}}}]",
	        "rs-w9-last-data", "rs-w8-master-data", "w11-new"),
	    "\"Source\":\"rs-w9-last-data\""));
}

/* No kept volume: a new one named after the service, no placement on
 * this node, and the worker is told its name. */
static void
test_spawn_without_kept_volume_names_a_new_one(void **state)
{
	const char *b;

	(void) state;
	b = spawn_with(
	    "{\"Volumes\":[]}", "[]", NULL, "rs-w8-gone-data", "w12-new");
	assert_non_null(strstr(b, "\"Source\":\"rs-w12-new-data\""));
	assert_non_null(
	    strstr(b, "\"RIDESHARE_WORKER_VOLUME=rs-w12-new-data\""));
	assert_null(strstr(b, "node.id=="));
}

/* Capacity: ready and active nodes only, one slave per CPU
 * (NanoCPUs rounded up) or per_node each; a daemon error -> fallback. */
static void
test_capacity_sums_ready_active_nodes(void **state)
{
	rs_orch_spawner *sp = make(fk.path);

	(void) state;
	rule("GET", "/nodes", 200,
	    "[{\"Status\":{\"State\":\"ready\"},"
	    "\"Spec\":{\"Availability\":\"active\"},"
	    "\"Description\":{\"Resources\":{\"NanoCPUs\":4000000000}}},"
	    "{\"Status\":{\"State\":\"ready\"},"
	    "\"Spec\":{\"Availability\":\"active\"},"
	    "\"Description\":{\"Resources\":{\"NanoCPUs\":1500000000}}},"
	    "{\"Status\":{\"State\":\"down\"},"
	    "\"Spec\":{\"Availability\":\"active\"},"
	    "\"Description\":{\"Resources\":{\"NanoCPUs\":8000000000}}},"
	    "{\"Status\":{\"State\":\"ready\"},"
	    "\"Spec\":{\"Availability\":\"drain\"},"
	    "\"Description\":{\"Resources\":{\"NanoCPUs\":8000000000}}}]");
	assert_int_equal(rs_orch_spawner_capacity(sp, 0), 4 + 2);
	assert_int_equal(rs_orch_spawner_capacity(sp, 3), 3 + 3);
	rs_orch_spawner_destroy(sp);
}

RS_TEST_MAIN(
    FAKE_TEST(test_spawn_creates_service_waits_for_task_and_publishes_pid),
    FAKE_TEST(test_reap_reports_failed_task_and_removes_service),
    FAKE_TEST(test_task_that_fails_at_start_is_not_spawned),
    FAKE_TEST(test_task_that_never_runs_times_out),
    FAKE_TEST(test_missing_secret_and_conflict_and_daemon_gone),
    FAKE_TEST(test_adopt_by_service_name),
    FAKE_TEST(test_spawn_adopts_a_free_kept_volume),
    FAKE_TEST(test_spawn_adopts_listed_volumes_first),
    FAKE_TEST(test_spawn_adopts_the_last_masters_volume_first),
    FAKE_TEST(test_spawn_skips_the_last_masters_volume_in_use),
    FAKE_TEST(test_spawn_without_kept_volume_names_a_new_one),
    FAKE_TEST(test_capacity_sums_ready_active_nodes))
