#include "worker_harness.h"
#include "rs_contract.h"

#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_mq.h"
#include "rs_op.h"
#include "rs_worker_info.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct wh {
	const char *worker_bin;
	const char *amqp_url;
	const char *zk_hosts;
	const char *log_dir;
	bool orch;
	rs_zk *zk;
	rs_mq *mq; /* publishes; consumes direct reply-to (+ responseQ) */
	uint64_t commit_seq;
	/* The responses of the last reply message (a ResponseBatch's: a
	 * slave's replies of one step to this address) that wh_recv has not
	 * handed out yet: pending[next..npending). */
	Rideshare__DbResponse *pending[RS_RESPONSE_BATCH_MAX];
	size_t npending, next;
	uint64_t batches; /* ResponseBatch replies received */
};

/* The stack's setting (or its NAME_FILE, common/rs_cfg), else def. */
static const char *
env(const char *name, const char *def)
{
	return rs_cfg_str(name, def);
}

/* True when something listens on the orchestrator's admin port. */
static bool
admin_port_open(void)
{
	int port = atoi(env("RIDESHARE_ADMIN_PORT", "0"));
	struct sockaddr_in sa
	    = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	if (port <= 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

void
wh_close(wh *h)
{
	if (h == NULL)
		return;
	rs_mq_destroy(h->mq);
	if (h->zk != NULL)
		rs_zk_close(h->zk);
	/* Only what was not handed out is still ours. */
	while (h->next < h->npending)
		rideshare__db_response__free_unpacked(
		    h->pending[h->next++], NULL);
	free(h);
}

int
wh_open(const char *worker_bin, wh **out)
{
	wh *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL)
		return RS_ENOMEM;
	h->worker_bin = worker_bin;
	h->amqp_url
	    = env("RIDESHARE_AMQP_URL", "amqp://guest:guest@127.0.0.1:8101");
	h->zk_hosts = env("RIDESHARE_ZK_HOSTS", "127.0.0.1:8104");
	static char logs[512];
	snprintf(
	    logs, sizeof(logs), "%s/logs", env("RIDESHARE_STACK_DIR", "/tmp"));
	mkdir(logs, 0755);
	h->log_dir = logs;
	if ((rc = rs_zk_connect(h->zk_hosts, 4000, 10000, NULL, NULL, &h->zk))
	    != RS_OK)
		goto fail;
	if ((rc = rs_mq_connect_retry(
	         h->amqp_url, "worker-test", 5000, &h->mq))
	    != RS_OK)
		goto fail;
	if ((rc = rs_mq_declare_topology(h->mq)) != RS_OK)
		goto fail;
	const char *mode = env("WH_MODE", "");
	if (strcmp(mode, "orch") == 0)
		h->orch = true;
	else if (strcmp(mode, "hand") == 0)
		h->orch = false;
	else
		h->orch = admin_port_open()
		    || rs_zk_exists(h->zk, RS_ZK_MASTER, false) == RS_OK;
	if ((rc = rs_mq_consume(h->mq, RS_MQ_DIRECT_REPLY, true, NULL))
	    != RS_OK)
		goto fail;
	if (!h->orch
	    && (rc = rs_mq_consume(h->mq, RS_Q_RESPONSE, true, NULL)) != RS_OK)
		goto fail;
	fprintf(stderr, "harness: mode=%s\n",
	    h->orch ? "through the orchestrator" : "by-hand workers");
	if (h->orch) {
		char *m = wh_master_id(h, 30000);
		if (m == NULL) {
			fprintf(stderr, "harness: no master elected\n");
			rc = RS_ETIMEDOUT;
			goto fail;
		}
		free(m);
	}
	*out = h;
	return RS_OK;
fail:
	wh_close(h);
	return rc;
}

const char *
wh_main_args(int argc, char **argv, const char *args)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s %s\n", argv[0], args);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return argv[1];
}

int
wh_open_tagged(const char *worker_bin, wh **out, char *tag)
{
	char hex[RS_ID_LEN + 1];
	int rc = wh_open(worker_bin, out);

	if (rc != RS_OK)
		return rc;
	rs_id_new(hex);
	memcpy(tag, hex, 8);
	tag[8] = '\0';
	return RS_OK;
}

int
wh_master_ready(wh *h, const char *hand_id, const char *fault, char *id,
    size_t cap, pid_t *pid)
{
	if (h->orch) {
		char *m = wh_master_id(h, 20000);

		if (m == NULL)
			return RS_ETIMEDOUT;
		snprintf(id, cap, "%s", m);
		free(m);
		return RS_OK;
	}
	snprintf(id, cap, "%s", hand_id);
	*pid = wh_worker_start(h, id, fault);
	if (wh_wait_role(h, id, RIDESHARE__ROLE__MASTER, 20000) != RS_OK) {
		fprintf(stderr,
		    "worker %s never became master (is another master "
		    "running?)\n",
		    id);
		return RS_ETIMEDOUT;
	}
	return RS_OK;
}

void
wh_close_stopping(wh *h, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pids[i] > 0)
			wh_worker_stop(pids[i], 10000);
	}
	wh_close(h);
}

bool
wh_orchestrated(wh *h)
{
	return h->orch;
}

rs_zk *
wh_zk(wh *h)
{
	return h->zk;
}

pid_t
wh_worker_start(wh *h, const char *id, const char *fault)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/worker-%s.log", h->log_dir, id);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	setenv("RIDESHARE_WORKER_ID", id, 1);
	unsetenv("RIDESHARE_WORKER_PID");
	if (fault != NULL)
		setenv("RIDESHARE_FAULT", fault, 1);
	else
		unsetenv("RIDESHARE_FAULT");
	const char *stack = getenv("RIDESHARE_STACK_DIR");
	if (stack != NULL)
		setenv("RIDESHARE_STACK_MEMBER", stack, 1);
	execl(h->worker_bin, "rideshare-worker", (char *) NULL);
	_exit(127);
}

int
wh_worker_wait(pid_t pid, int timeout_ms)
{
	int64_t end = rs_time_now_ms() + timeout_ms;
	int st;
	do {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		rs_time_sleep_ms(10);
	} while (rs_time_now_ms() < end);
	return -1;
}

int
wh_worker_stop(pid_t pid, int timeout_ms)
{
	kill(pid, SIGTERM);
	int st = wh_worker_wait(pid, timeout_ms);
	if (st == -1) {
		kill(pid, SIGKILL);
		st = wh_worker_wait(pid, 5000);
	}
	return st;
}

int
wh_worker_info(wh *h, const char *id, Rideshare__WorkerInfo **out)
{
	return rs_worker_info_get(h->zk, id, false, out);
}

int
wh_wait_role(wh *h, const char *id, Rideshare__Role role, int timeout_ms)
{
	int64_t end = rs_time_now_ms() + timeout_ms;
	do {
		Rideshare__WorkerInfo *wi;
		if (wh_worker_info(h, id, &wi) == RS_OK) {
			bool ok = wi->role == role;
			rideshare__worker_info__free_unpacked(wi, NULL);
			if (ok)
				return RS_OK;
		}
		rs_time_sleep_ms(20);
	} while (rs_time_now_ms() < end);
	return RS_ETIMEDOUT;
}

char *
wh_master_id(wh *h, int timeout_ms)
{
	int64_t end = rs_time_now_ms() + timeout_ms;
	do {
		char *id;
		size_t len;
		if (rs_zk_get(h->zk, RS_ZK_MASTER, false, &id, &len)
		    == RS_OK) {
			if (wh_wait_role(h, id, RIDESHARE__ROLE__MASTER, 0)
			    == RS_OK)
				return id;
			free(id);
		}
		rs_time_sleep_ms(20);
	} while (rs_time_now_ms() < end);
	return NULL;
}

int
wh_send_read_direct(wh *h, const Rideshare__DbRequest *req)
{
	rs_mq_props props = { .correlation_id = req->request_id,
		.reply_to = RS_MQ_DIRECT_REPLY };

	return rs_mq_publish_pb(h->mq, "", RS_Q_READ, &req->base, &props);
}

int
wh_send(wh *h, const Rideshare__DbRequest *req)
{
	bool write = rs_op_is_write(req->op_case);
	rs_mq_props props = { .correlation_id = req->request_id,
		.reply_to = RS_MQ_DIRECT_REPLY,
		.persistent = write };

	if (h->orch)
		return rs_mq_publish_pb(
		    h->mq, "", RS_Q_ORCHESTRATOR, &req->base, &props);
	Rideshare__DbRequest copy = *req;
	if (!write)
		copy.min_seq = h->commit_seq;
	return rs_mq_publish_pb(
	    h->mq, "", write ? RS_Q_WRITE : RS_Q_READ, &copy.base, &props);
}

/* The responses of the reply message m, a plain DbResponse or a
 * ResponseBatch (checked with rs_op_response_batch_decode), into
 * out[0..*n) (each the caller's). RS_EPROTO: it does not decode. */
static int
reply_unpack(const rs_mq_msg *m, Rideshare__DbResponse **out, size_t *n)
{
	Rideshare__ResponseBatch *b;
	Rideshare__DbResponse *r;

	if (strcmp(m->content_type, RS_CT_RESPONSE_BATCH) == 0) {
		if (rs_op_response_batch_decode(m->body, m->len, &b) != NULL)
			return RS_EPROTO;
		/* Out of the batch: freeing b leaves them alone. */
		for (size_t i = 0; i < b->n_responses; i++)
			out[i] = b->responses[i];
		*n = b->n_responses;
		b->n_responses = 0;
		rideshare__response_batch__free_unpacked(b, NULL);
		return RS_OK;
	}
	r = rideshare__db_response__unpack(NULL, m->len, m->body);
	if (r == NULL)
		return RS_EPROTO;
	out[0] = r;
	*n = 1;
	return RS_OK;
}

/* The next reply: the rest of the last message's first, then what comes.
 * RS_EPROTO: undecodable. */
static int
next_reply(wh *h, int timeout_ms, Rideshare__DbResponse **out)
{
	rs_mq_msg msg;
	int rc;

	if (h->next == h->npending) {
		if ((rc = rs_mq_next(h->mq, timeout_ms, &msg)) != RS_OK)
			return rc;
		h->next = h->npending = 0;
		rc = reply_unpack(&msg, h->pending, &h->npending);
		rs_mq_msg_release(h->mq, &msg);
		if (rc != RS_OK)
			return rc;
		h->batches += h->npending > 1;
	}
	*out = h->pending[h->next++];
	return RS_OK;
}

uint64_t
wh_reply_batches(wh *h)
{
	return h->batches;
}

int
wh_recv(wh *h, int timeout_ms, Rideshare__DbResponse **resp)
{
	Rideshare__DbResponse *r;
	int rc = next_reply(h, timeout_ms, &r);
	if (rc != RS_OK)
		return rc;
	if (r->epoch > 0 && r->seq > h->commit_seq) {
		h->commit_seq = r->seq; /* write replies carry an epoch */
		if (!h->orch) {
			/* As the orchestrator does: slaves hold a read reply
			 * until they know commit_seq covers its state. */
			char body[24];
			int n = snprintf(body, sizeof(body), "%llu",
			    (unsigned long long) h->commit_seq);
			(void) rs_mq_publish(h->mq, RS_MQ_COMMIT_EXCHANGE, "",
			    body, (size_t) n, NULL);
		}
	}
	*resp = r;
	return RS_OK;
}

int
wh_call(wh *h, const Rideshare__DbRequest *req, int timeout_ms, int tries,
    Rideshare__DbResponse **resp)
{
	int rc = RS_ETIMEDOUT;
	for (int t = 0; t < tries; t++) {
		if ((rc = wh_send(h, req)) != RS_OK)
			return rc;
		int64_t end = rs_time_now_ms() + timeout_ms;
		for (;;) {
			int64_t left = end - rs_time_now_ms();
			if (left <= 0) {
				rc = RS_ETIMEDOUT;
				break;
			}
			Rideshare__DbResponse *r;
			rc = wh_recv(h, (int) left, &r);
			if (rc != RS_OK && rc != RS_EPROTO)
				break;
			if (rc == RS_OK
			    && strcmp(r->request_id, req->request_id) == 0) {
				*resp = r;
				return RS_OK;
			}
			if (rc == RS_OK)
				rideshare__db_response__free_unpacked(r, NULL);
		}
		fprintf(stderr, "harness: no reply to %s in %d ms (try %d)\n",
		    req->request_id, timeout_ms, t + 1);
	}
	return rc;
}

uint64_t
wh_commit_seq(wh *h)
{
	return h->commit_seq;
}

int
wh_publish_raw(wh *h, const char *queue, const void *body, size_t len)
{
	rs_mq_props props
	    = { .correlation_id = "raw", .reply_to = RS_MQ_DIRECT_REPLY };
	return rs_mq_publish(h->mq, "", queue, body, len, &props);
}

/* Puts r in out[i] when it answers ids[i] and out[i] is still empty:
 * true then (r is out's), else false (r is still the caller's). */
static bool
place_reply(Rideshare__DbResponse *r, const char *const *ids, size_t n,
    Rideshare__DbResponse **out)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] == NULL && strcmp(r->request_id, ids[i]) == 0) {
			out[i] = r;
			return true;
		}
	return false;
}

int
wh_recv_replies(wh *h, const char *const *ids, size_t n, int timeout_ms,
    Rideshare__DbResponse **out)
{
	int64_t deadline = rs_time_deadline(timeout_ms);
	size_t got = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	while (got < n && rs_time_left_ms(deadline) > 0) {
		Rideshare__DbResponse *r;
		int64_t left = rs_time_left_ms(deadline);

		if (wh_recv(h, left < 200 ? (int) left : 200, &r) != RS_OK)
			continue;
		if (place_reply(r, ids, n, out))
			got++;
		else
			rideshare__db_response__free_unpacked(r, NULL);
	}
	return got == n ? RS_OK : RS_ETIMEDOUT;
}

bool
wh_wait_turn(int64_t t0)
{
	struct timespec ts = { 0, 20000000 };

	if (rs_time_now_ms() - t0 > 10000)
		return false;
	nanosleep(&ts, NULL);
	return true;
}

/* Takes one reply message off queue (basic.get, no ack) apart into
 * out[0..*n): RS_OK, RS_ENOTFOUND when queue is empty, RS_EPROTO when it
 * does not decode or is a plain reply its caller could not match (its
 * correlation id is not its request_id). */
static int
get_replies(wh *h, const char *queue, Rideshare__DbResponse **out, size_t *n)
{
	rs_mq_msg m;
	int rc = rs_mq_get(h->mq, queue, true, &m);

	if (rc != RS_OK)
		return rc;
	rc = reply_unpack(&m, out, n);
	if (rc == RS_OK && *n == 1
	    && strcmp(m.correlation_id, out[0]->request_id) != 0) {
		rideshare__db_response__free_unpacked(out[0], NULL);
		rc = RS_EPROTO;
	}
	rs_mq_msg_release(h->mq, &m);
	return rc;
}

int
wh_collect_replies(wh *h, const char *queue, const char *const *ids, size_t n,
    Rideshare__DbResponse **out, wh_reply_stats *st)
{
	int64_t t0 = rs_time_now_ms();
	size_t got = 0;

	*st = (wh_reply_stats) { 0 };
	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	while (got < n) {
		Rideshare__DbResponse *rs[RS_RESPONSE_BATCH_MAX];
		size_t k;
		int rc = get_replies(h, queue, rs, &k);

		if (rc == RS_ENOTFOUND) {
			if (!wh_wait_turn(t0))
				return RS_ETIMEDOUT;
			continue;
		}
		if (rc != RS_OK)
			return rc;
		st->msgs++;
		st->batches += k > 1;
		for (size_t i = 0; i < k; i++) {
			if (place_reply(rs[i], ids, n, out)) {
				got++;
				continue;
			}
			st->others++;
			rideshare__db_response__free_unpacked(rs[i], NULL);
		}
	}
	return RS_OK;
}

rs_mq *
wh_mq(wh *h)
{
	return h->mq;
}

uint32_t
wh_queue_depth(wh *h, const char *queue)
{
	uint32_t n = 0, c = 0;
	if (rs_mq_queue_depth(h->mq, queue, &n, &c) != RS_OK)
		return 0;
	return n;
}

PGconn *
wh_worker_db(wh *h, const char *id)
{
	Rideshare__WorkerInfo *wi;
	PGconn *db;
	if (wh_worker_info(h, id, &wi) == RS_OK) {
		db = PQconnectdb(wi->pg_conninfo);
		rideshare__worker_info__free_unpacked(wi, NULL);
	} else {
		/* Gone from ZooKeeper (stopped): its database outlives it,
		 * named by the one rule (rs_db_worker_dbname). */
		char name[160], *ci;
		const char *maint = getenv("RIDESHARE_PG_CONNINFO");
		rs_db_worker_dbname(id, name, sizeof(name));
		if (maint == NULL
		    || rs_db_conninfo_with_db(maint, name, &ci) != RS_OK)
			return NULL;
		db = PQconnectdb(ci);
		free(ci);
	}
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(
		    stderr, "harness: db of %s: %s", id, PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	return db;
}

int64_t
wh_db_int(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	int64_t v = -1;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	return v;
}

char *
wh_db_digest(PGconn *db)
{
	static const char *const q[] = {
		"SELECT 'users:' || coalesce(md5(string_agg(username || '|' "
		"|| "
		"password || '|' || created, ',' ORDER BY created)), '-') "
		"FROM users",
		"SELECT 'rides:' || coalesce(md5(string_agg(ride_id || '|' || "
		"created_by || '|' || ts || '|' || source || '|' || "
		"destination, ',' ORDER BY ride_id)), '-') FROM rides",
		"SELECT 'ride_members:' || coalesce(md5(string_agg(ride_id || "
		"'|' || username || '|' || seq, ',' ORDER BY ride_id, seq)), "
		"'-') FROM ride_members",
		"SELECT 'applied_requests:' || coalesce(md5(string_agg("
		"request_id || '|' || seq || '|' || encode(response, 'hex'), "
		"',' ORDER BY request_id)), '-') FROM applied_requests",
		"SELECT 'meta:' || applied_seq || '|' || epoch || '|' || "
		"next_ride_id FROM meta",
	};
	size_t cap = 1024, len = 0;
	char *out = calloc(1, cap);
	for (size_t i = 0; out != NULL && i < sizeof(q) / sizeof(q[0]); i++) {
		PGresult *res = PQexec(db, q[i]);
		const char *v = PQresultStatus(res) == PGRES_TUPLES_OK
		        && PQntuples(res) == 1
		    ? PQgetvalue(res, 0, 0)
		    : "error";
		len += (size_t) snprintf(
		    out + len, cap - len, "%s%s", i ? " " : "", v);
		PQclear(res);
	}
	return out;
}

/* Starts r as a request of op with a fresh id (<op name>-<hex>) and an
 * empty op message in r->op for the builder to fill: protobuf-c numbers a
 * oneof's cases by field number and keeps each member pointer at its
 * field's offset, so the descriptor says which message and where. */
static void
req_op(wh_req *r, Rideshare__DbRequest__OpCase op)
{
	const ProtobufCFieldDescriptor *f
	    = protobuf_c_message_descriptor_get_field(
	        &rideshare__db_request__descriptor, (unsigned) op);
	void *m = &r->op;
	char hex[RS_ID_LEN + 1];

	rs_id_new(hex);
	memset(r, 0, sizeof(*r));
	rideshare__db_request__init(&r->req);
	snprintf(r->id, sizeof(r->id), "%s-%s", rs_op_name(op), hex);
	r->req.request_id = r->id;
	r->req.op_case = op;
	protobuf_c_message_init(f->descriptor, m);
	memcpy((char *) &r->req + f->offset, &m, sizeof(m));
}

/* r's copy of name, or name itself when it does not fit (see the header). */
static char *
req_name(wh_req *r, const char *name)
{
	if (strlen(name) >= sizeof(r->name))
		return (char *) name;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r->name;
}

void
wh_req_add_user(wh_req *r, const char *name)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_ADD_USER);
	r->op.add_user.username = req_name(r, name);
	r->op.add_user.password = "3d4f2bf07dc1be38b20cd6e46949a1071f9d0e3d";
}

void
wh_req_remove_user(wh_req *r, const char *name)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_REMOVE_USER);
	r->op.remove_user.username = req_name(r, name);
}

void
wh_req_get_user(wh_req *r, const char *name)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_GET_USER);
	r->op.get_user.username = req_name(r, name);
}

void
wh_req_list_users(wh_req *r)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_LIST_USERS);
}

void
wh_req_create_ride(wh_req *r, const char *by, int64_t ts, int src, int dst)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_CREATE_RIDE);
	r->op.create_ride.created_by = req_name(r, by);
	r->op.create_ride.timestamp = ts;
	r->op.create_ride.source = src;
	r->op.create_ride.destination = dst;
}

void
wh_req_join_ride(wh_req *r, int64_t ride_id, const char *name)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_JOIN_RIDE);
	r->op.join_ride.ride_id = ride_id;
	r->op.join_ride.username = req_name(r, name);
}

void
wh_req_get_ride(wh_req *r, int64_t ride_id)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_GET_RIDE);
	r->op.get_ride.ride_id = ride_id;
}

void
wh_req_delete_ride(wh_req *r, int64_t ride_id)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_DELETE_RIDE);
	r->op.delete_ride.ride_id = ride_id;
}

void
wh_req_list_rides(wh_req *r, int src, int dst, int64_t after)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_LIST_RIDES);
	r->op.list_rides.source = src;
	r->op.list_rides.destination = dst;
	r->op.list_rides.after = after;
}

void
wh_req_count_rides(wh_req *r)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_COUNT_RIDES);
}

void
wh_req_clear(wh_req *r)
{
	req_op(r, RIDESHARE__DB_REQUEST__OP_CLEAR);
}
