#include "orch_sys.h"
#include "rs_contract.h"

#include "rs_cfg.h"
#include "rs_buf.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_worker_info.h"
#include "rs_zk.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *admin_url;
static const char *amqp_url;
static const char *zk_hosts;

static const char *
need(const char *var)
{
	const char *v = rs_cfg_str(var, NULL); /* or its NAME_FILE */

	if (v == NULL || *v == '\0') {
		fprintf(stderr,
		    "%s is not set (run under tests/with-stack.sh)\n", var);
		exit(2);
	}
	return v;
}

int sys_failed;

/* tests/system/digest.sql, read by sys_init. */
static char *digest_sql;

/* The whole of file path (malloc'd), or exit 2. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	rs_buf b = RS_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rs_buf_append(&b, chunk, n);
	fclose(f);
	if (b.err != 0) {
		fprintf(stderr, "out of memory reading %s\n", path);
		exit(2);
	}
	return rs_buf_take(&b);
}

void
sys_init(void)
{
	admin_url = need("RIDESHARE_ADMIN_URL");
	amqp_url = need("RIDESHARE_AMQP_URL");
	zk_hosts = need("RIDESHARE_ZK_HOSTS");
	digest_sql = slurp(RS_DIGEST_SQL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

const char *
sys_amqp_url(void)
{
	return amqp_url;
}

int
sys_rpc(rs_rpc **out)
{
	return rs_rpc_create(amqp_url, RS_Q_ORCHESTRATOR, 10000, out);
}

static size_t
collect(char *d, size_t s, size_t n, void *arg)
{
	return rs_buf_append(arg, d, s * n) == 0 ? s * n : 0;
}

long
sys_admin(const char *method, const char *path, json_t **body)
{
	CURL *c = curl_easy_init();
	rs_buf out = RS_BUF_INIT;
	char url[512];
	long status = 0;

	if (body != NULL)
		*body = NULL;
	snprintf(url, sizeof(url), "%s%s", admin_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (body != NULL && out.len > 0)
		*body = json_loadb(out.data, out.len, 0, NULL);
	rs_buf_fini(&out);
	curl_easy_cleanup(c);
	return status;
}

long
sys_crash(const char *role, int64_t *victim)
{
	char path[64];
	json_t *b = NULL;
	long st;

	snprintf(path, sizeof(path), "/api/v1/crash/%s", role);
	st = sys_admin("POST", path, &b);
	*victim = -1;
	if (json_is_array(b) && json_array_size(b) == 1
	    && json_is_string(json_array_get(b, 0)))
		*victim = strtoll(
		    json_string_value(json_array_get(b, 0)), NULL, 10);
	json_decref(b);
	return st;
}

int
sys_worker_list(int64_t *pids, int max)
{
	json_t *b = NULL, *v;
	size_t i;
	int n = 0;

	if (sys_admin("GET", "/api/v1/worker/list", &b) != 200
	    || !json_is_array(b)) {
		json_decref(b);
		return -1;
	}
	json_array_foreach(b, i, v)
	{
		if (n < max)
			pids[n++] = json_integer_value(v);
	}
	json_decref(b);
	return n;
}

int64_t
sys_wait_workers(int n, int timeout_ms)
{
	int64_t t0 = rs_time_now_ms(), pids[64];

	while (rs_time_now_ms() - t0 < timeout_ms) {
		if (sys_worker_list(pids, 64) == n
		    && sys_admin("GET", "/readyz", NULL) == 200)
			return rs_time_now_ms() - t0;
		rs_time_sleep_ms(20);
	}
	return -1;
}

int
sys_roles(int64_t *master, int64_t *slaves, int max)
{
	json_t *b = NULL, *ws, *w;
	size_t i;
	int n = 0;

	*master = 0;
	if (sys_admin("GET", "/api/v1/worker/details", &b) != 200) {
		json_decref(b);
		return -1;
	}
	ws = json_object_get(b, "workers");
	json_array_foreach(ws, i, w)
	{
		const char *role
		    = json_string_value(json_object_get(w, "role"));
		const char *st
		    = json_string_value(json_object_get(w, "state"));
		int64_t pid = json_integer_value(json_object_get(w, "pid"));

		if (role == NULL || st == NULL || strcmp(st, "running") != 0
		    || !json_is_true(json_object_get(w, "registered")))
			continue;
		if (strcmp(role, RS_ROLE_MASTER) == 0)
			*master = pid;
		else if (strcmp(role, RS_ROLE_SLAVE) == 0 && n < max)
			slaves[n++] = pid;
	}
	json_decref(b);
	return n;
}

_Thread_local int sys_read_level;
_Thread_local uint64_t sys_read_min_seq;

static int
call(rs_rpc *rpc, Rideshare__DbRequest *req, const char *rid, int timeout_ms,
    Rideshare__DbResponse **resp)
{
	char fresh[RS_ID_LEN + 1];
	Rideshare__DbResponse *r = NULL;
	int st;

	if (resp != NULL)
		*resp = NULL;
	if (rid == NULL) {
		rs_id_new(fresh);
		rid = fresh;
	}
	req->request_id = (char *) rid;
	if (rs_rpc_call(rpc, req, timeout_ms, &r) != RS_OK)
		return -1;
	st = (int) r->status;
	if (resp != NULL)
		*resp = r;
	else
		rideshare__db_response__free_unpacked(r, NULL);
	return st;
}

int
sys_add_user(rs_rpc *rpc, const char *name, const char *rid, int timeout_ms,
    Rideshare__DbResponse **resp)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__AddUser op = RIDESHARE__ADD_USER__INIT;

	op.username = (char *) name;
	op.password = (char *) SYS_PASSWORD;
	req.op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
	req.add_user = &op;
	return call(rpc, &req, rid, timeout_ms, resp);
}

int
sys_get_user(rs_rpc *rpc, const char *name, int timeout_ms,
    Rideshare__DbResponse **resp)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__GetUser op = RIDESHARE__GET_USER__INIT;

	op.username = (char *) name;
	req.op_case = RIDESHARE__DB_REQUEST__OP_GET_USER;
	req.get_user = &op;
	req.consistency = (Rideshare__Consistency) sys_read_level;
	req.min_seq = sys_read_min_seq;
	return call(rpc, &req, NULL, timeout_ms, resp);
}

int
sys_list_users(rs_rpc *rpc, int timeout_ms, Rideshare__DbResponse **resp)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__ListUsers op = RIDESHARE__LIST_USERS__INIT;

	req.op_case = RIDESHARE__DB_REQUEST__OP_LIST_USERS;
	req.list_users = &op;
	req.consistency = (Rideshare__Consistency) sys_read_level;
	req.min_seq = sys_read_min_seq;
	return call(rpc, &req, NULL, timeout_ms, resp);
}

/* One row of text from a query, or NULL. */
static char *
scalar(PGconn *db, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	char *v = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static int
read_db(sys_db *d)
{
	PGconn *db = PQconnectdb(d->conninfo);
	char *seq, *dig, *users;
	int rv = RS_OK;

	if (PQstatus(db) != CONNECTION_OK) {
		PQfinish(db);
		return RS_ECONN;
	}
	seq = scalar(db, "SELECT applied_seq FROM meta");
	dig = scalar(db, digest_sql);
	users = scalar(db, "SELECT count(*) FROM users");
	if (seq == NULL || dig == NULL || users == NULL) {
		rv = RS_EDB;
	} else {
		d->applied_seq = strtoull(seq, NULL, 10);
		snprintf(d->digest, sizeof(d->digest), "%s", dig);
		d->users = strtol(users, NULL, 10);
	}
	free(seq);
	free(dig);
	free(users);
	PQfinish(db);
	return rv;
}

int
sys_dbs(sys_db *out, int max)
{
	rs_zk *zk = NULL;
	char **names = NULL;
	int count = 0, n = 0;

	if (rs_zk_connect(zk_hosts, 4000, 5000, NULL, NULL, &zk) != RS_OK)
		return -1;
	if (rs_zk_children(zk, RS_ZK_WORKERS, false, &names, &count)
	    != RS_OK) {
		rs_zk_close(zk);
		return -1;
	}
	for (int i = 0; i < count && n < max; i++) {
		Rideshare__WorkerInfo *wi;

		if (rs_worker_info_get(zk, names[i], false, &wi) != RS_OK)
			continue;
		if (wi->role == RIDESHARE__ROLE__MASTER
		    || wi->role == RIDESHARE__ROLE__SLAVE) {
			sys_db *d = &out[n];

			memset(d, 0, sizeof(*d));
			snprintf(d->id, sizeof(d->id), "%s", names[i]);
			d->role = (int) wi->role;
			d->pid = wi->pid;
			snprintf(d->conninfo, sizeof(d->conninfo), "%s",
			    wi->pg_conninfo);
			if (read_db(d) == RS_OK)
				n++;
		}
		rideshare__worker_info__free_unpacked(wi, NULL);
	}
	rs_zk_free_children(names, count);
	rs_zk_close(zk);
	return n;
}

int
sys_dbs_converged(sys_db *out, int max, int timeout_ms)
{
	int64_t t0 = rs_time_now_ms();

	while (rs_time_now_ms() - t0 < timeout_ms) {
		int n = sys_dbs(out, max);
		bool same = n > 0;

		for (int i = 1; i < n; i++)
			same
			    = same && out[i].applied_seq == out[0].applied_seq;
		if (same)
			return n;
		rs_time_sleep_ms(50);
	}
	return -1;
}

int
sys_db_user_counts(
    const char *conninfo, char *const *names, int n, int *counts)
{
	PGconn *db = PQconnectdb(conninfo);
	rs_buf arr = RS_BUF_INIT;
	PGresult *r;
	const char *params[1];
	int rv = 0;

	if (PQstatus(db) != CONNECTION_OK) {
		PQfinish(db);
		return -1;
	}
	/* A text[] literal; our names need no escaping ([a-z0-9_]). */
	rs_buf_append(&arr, "{", 1);
	for (int i = 0; i < n; i++)
		rs_buf_printf(&arr, "%s%s", i ? "," : "", names[i]);
	rs_buf_append(&arr, "}", 1);
	params[0] = arr.data;
	r = PQexecParams(db,
	    "SELECT n.i, (SELECT count(*) FROM users u WHERE u.username = "
	    "n.name)"
	    " FROM unnest($1::text[]) WITH ORDINALITY AS n(name, i)",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != n) {
		rv = -1;
	} else {
		for (int k = 0; k < n; k++) {
			long i = strtol(PQgetvalue(r, k, 0), NULL, 10) - 1;

			if (i >= 0 && i < n)
				counts[i] = (int) strtol(
				    PQgetvalue(r, k, 1), NULL, 10);
		}
	}
	PQclear(r);
	rs_buf_fini(&arr);
	PQfinish(db);
	return rv;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

double
sys_median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t) n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
sys_metric(const char *name)
{
	CURL *c = curl_easy_init();
	rs_buf out = RS_BUF_INIT;
	char url[512];
	const char *p;
	size_t len = strlen(name);
	double v = -1;

	snprintf(url, sizeof(url), "%s/metrics", admin_url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (curl_easy_perform(c) == CURLE_OK
	    && rs_buf_append(&out, "", 1) == RS_OK) {
		/* A sample line starts a line: "name value". */
		for (p = out.data; p != NULL && *p != '\0';
		     p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL)
			if (strncmp(p, name, len) == 0 && p[len] == ' ') {
				v = strtod(p + len + 1, NULL);
				break;
			}
	}
	rs_buf_fini(&out);
	curl_easy_cleanup(c);
	return v;
}
