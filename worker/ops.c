#include "ops.h"

#include "rs_err.h"
#include "rs_op.h"
#include "schema.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Rideshare__DbResponse resp_t;

typedef struct {
	char s[24];
} num_t;

static num_t
num(int64_t v)
{
	num_t n;
	snprintf(n.s, sizeof(n.s), "%" PRId64, v);
	return n;
}

static resp_t *
resp_new(rs_worker_arena *a, const Rideshare__DbRequest *req)
{
	resp_t *r = rs_worker_arena_alloc(a, sizeof(*r));
	if (r == NULL)
		return NULL;
	rideshare__db_response__init(r);
	r->request_id = rs_worker_arena_strdup(a, req->request_id);
	if (r->request_id == NULL)
		return NULL;
	return r;
}

static void
fail(resp_t *r, Rideshare__Status st, const char *why)
{
	r->status = st;
	r->error = (char *) why; /* static text, never freed */
}

/* 1 when the statement returned at least one row, 0 when none, <0 on
 * error. */
static int
exists(PGconn *db, const char *stmt, int n, const char *const *p)
{
	PGresult *res;
	if (rs_worker_db_q(db, stmt, n, p, &res) != RS_OK)
		return -1;
	int found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

static int
affected(PGconn *db, const char *stmt, int n, const char *const *p)
{
	PGresult *res;
	if (rs_worker_db_q(db, stmt, n, p, &res) != RS_OK)
		return -1;
	int rows = atoi(PQcmdTuples(res));
	PQclear(res);
	return rows;
}

/* A business rule refused the op: r carries the status and the op itself
 * succeeded (the caller answers RS_OK). Never an RS_* code. */
enum { REFUSED = -1 };

/* A rule checked with stmt: it holds when rows exist (want) or do not.
 * RS_OK when it holds, REFUSED after failing r with st and why, RS_EDB
 * when the query failed. */
static int
rule(PGconn *db, const char *stmt, int n, const char *const *p, bool want,
    resp_t *r, Rideshare__Status st, const char *why)
{
	int e = exists(db, stmt, n, p);

	if (e < 0)
		return RS_EDB;
	if ((e > 0) != want) {
		fail(r, st, why);
		return REFUSED;
	}
	return RS_OK;
}

/* Runs stmt: RS_OK when it changed a row, REFUSED after failing r with
 * NOT_FOUND and why when it changed none, RS_EDB when it failed. */
static int
change_some(PGconn *db, const char *stmt, int n, const char *const *p,
    resp_t *r, const char *why)
{
	int rows = affected(db, stmt, n, p);

	if (rows < 0)
		return RS_EDB;
	if (rows == 0) {
		fail(r, RIDESHARE__STATUS__NOT_FOUND, why);
		return REFUSED;
	}
	return RS_OK;
}

/* What an op returns after a rule check that did not pass. */
static int
refused_or(int rc)
{
	return rc == REFUSED ? RS_OK : rc;
}

static Rideshare__Ride *
ride_new(rs_worker_arena *a)
{
	Rideshare__Ride *ride = rs_worker_arena_alloc(a, sizeof(*ride));
	if (ride != NULL)
		rideshare__ride__init(ride);
	return ride;
}

static int
add_user(PGconn *db, const Rideshare__AddUser *op, uint64_t seq, resp_t *r)
{
	num_t s = num((int64_t) seq);
	const char *p[3] = { op->username, op->password, s.s };

	if (op->username[0] == '\0') {
		fail(r, RIDESHARE__STATUS__INVALID, "empty username");
		return RS_OK;
	}
	int rows = affected(db, "u_add", 3, p);
	if (rows < 0)
		return RS_EDB;
	if (rows == 0)
		fail(r, RIDESHARE__STATUS__ALREADY_EXISTS,
		    "username already taken");
	return RS_OK;
}

bool
rs_worker_op_defer(const Rideshare__DbRequest *req, uint64_t seq,
    char seq_buf[24], rs_worker_arena *a, rs_worker_db_stmt *st, resp_t **out)
{
	if (req->op_case != RIDESHARE__DB_REQUEST__OP_ADD_USER
	    || req->add_user->username[0] == '\0')
		return false;
	resp_t *r = resp_new(a, req);
	if (r == NULL)
		return false; /* rs_worker_op_write reports it */
	snprintf(seq_buf, 24, "%" PRIu64, seq);
	/* add_user's statement, its answer read in deferred_done. */
	*st = (rs_worker_db_stmt) { .name = "u_add",
		.n = 3,
		.params = { req->add_user->username, req->add_user->password,
		    seq_buf },
		.keep = true };
	*out = r;
	return true;
}

void
rs_worker_op_deferred_done(
    const Rideshare__DbRequest *req, PGresult *res, resp_t *r)
{
	(void) req; /* AddUser only, for now */
	if (atoi(PQcmdTuples(res)) == 0)
		fail(r, RIDESHARE__STATUS__ALREADY_EXISTS,
		    "username already taken");
}

static int
remove_user(PGconn *db, const Rideshare__RemoveUser *op, resp_t *r)
{
	const char *p[1] = { op->username };
	int rc = change_some(db, "u_delete", 1, p, r, "no such user");

	if (rc != RS_OK)
		return refused_or(rc);
	/* Rides the user created go, with their members; then the user
	 * leaves every ride they joined. */
	if (affected(db, "u_del_created_members", 1, p) < 0
	    || affected(db, "u_del_created", 1, p) < 0
	    || affected(db, "u_del_joined", 1, p) < 0)
		return RS_EDB;
	return RS_OK;
}

static int
create_ride(PGconn *db, int64_t *next_ride_id, const Rideshare__CreateRide *op,
    const resp_t *replay, rs_worker_arena *a, resp_t *r)
{
	const char *pu[1] = { op->created_by };
	int rc = rule(db, "u_exists", 1, pu, true, r,
	    RIDESHARE__STATUS__NOT_FOUND, "no such user");

	if (rc != RS_OK)
		return refused_or(rc);
	int64_t id = *next_ride_id;
	if (replay != NULL) {
		if (replay->result_case != RIDESHARE__DB_RESPONSE__RESULT_RIDE
		    || replay->ride->ride_id <= 0)
			return RS_ESTATE;
		id = replay->ride->ride_id;
	}
	num_t sid = num(id), ts = num(op->timestamp);
	num_t src = num(op->source), dst = num(op->destination);
	const char *p[5] = { sid.s, op->created_by, ts.s, src.s, dst.s };
	if (affected(db, "r_insert", 5, p) < 0)
		return RS_EDB;
	if (id >= *next_ride_id)
		*next_ride_id = id + 1;

	Rideshare__Ride *ride = ride_new(a);
	if (ride == NULL)
		return RS_ENOMEM;
	ride->ride_id = id;
	ride->created_by = rs_worker_arena_strdup(a, op->created_by);
	if (ride->created_by == NULL)
		return RS_ENOMEM;
	ride->timestamp = op->timestamp;
	ride->source = op->source;
	ride->destination = op->destination;
	r->result_case = RIDESHARE__DB_RESPONSE__RESULT_RIDE;
	r->ride = ride;
	return RS_OK;
}

static int
join_ride(PGconn *db, const Rideshare__JoinRide *op, uint64_t seq, resp_t *r)
{
	num_t id = num(op->ride_id), s = num((int64_t) seq);
	const char *pr[1] = { id.s };
	const char *pu[1] = { op->username };
	const char *pm[3] = { id.s, op->username, s.s };
	PGresult *res;
	int rc;

	if (rs_worker_db_q(db, "r_get", 1, pr, &res) != RS_OK)
		return RS_EDB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		fail(r, RIDESHARE__STATUS__NOT_FOUND, "no such ride");
		return RS_OK;
	}
	int own = strcmp(PQgetvalue(res, 0, 0), op->username) == 0;
	PQclear(res);
	rc = rule(db, "u_exists", 1, pu, true, r, RIDESHARE__STATUS__NOT_FOUND,
	    "no such user");
	if (rc != RS_OK)
		return refused_or(rc);
	if (own) {
		fail(r, RIDESHARE__STATUS__INVALID,
		    "the creator cannot join their own ride");
		return RS_OK;
	}
	rc = rule(db, "r_is_member", 2, pm, false, r,
	    RIDESHARE__STATUS__ALREADY_EXISTS,
	    "user already joined this ride");
	if (rc != RS_OK)
		return refused_or(rc);
	return affected(db, "r_join", 3, pm) < 0 ? RS_EDB : RS_OK;
}

static int
delete_ride(PGconn *db, const Rideshare__DeleteRide *op, resp_t *r)
{
	num_t id = num(op->ride_id);
	const char *p[1] = { id.s };
	int rc = change_some(db, "r_delete", 1, p, r, "no such ride");

	if (rc != RS_OK)
		return refused_or(rc);
	return affected(db, "r_del_members", 1, p) < 0 ? RS_EDB : RS_OK;
}

static int
clear(PGconn *db, int64_t *next_ride_id)
{
	/* DELETE, not TRUNCATE: TRUNCATE is not MVCC-safe, and a slave may be
	 * copying this database in a REPEATABLE READ snapshot right now. */
	if (affected(db, "c_members", 0, NULL) < 0
	    || affected(db, "c_rides", 0, NULL) < 0
	    || affected(db, "c_users", 0, NULL) < 0)
		return RS_EDB;
	*next_ride_id = 1;
	return RS_OK;
}

int
rs_worker_op_write(PGconn *db, int64_t *next_ride_id,
    const Rideshare__DbRequest *req, uint64_t seq, const resp_t *replay,
    rs_worker_arena *a, resp_t **out)
{
	resp_t *r = resp_new(a, req);
	int rc;

	if (r == NULL)
		return RS_ENOMEM;
	switch (req->op_case) {
	case RIDESHARE__DB_REQUEST__OP_ADD_USER:
		rc = add_user(db, req->add_user, seq, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_REMOVE_USER:
		rc = remove_user(db, req->remove_user, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_CREATE_RIDE:
		rc = create_ride(
		    db, next_ride_id, req->create_ride, replay, a, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_JOIN_RIDE:
		rc = join_ride(db, req->join_ride, seq, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_DELETE_RIDE:
		rc = delete_ride(db, req->delete_ride, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_CLEAR:
		rc = clear(db, next_ride_id);
		break;
	default: return RS_EINVAL;
	}
	if (rc != RS_OK)
		return rc;
	if (replay != NULL && r->status != RIDESHARE__STATUS__OK)
		return RS_ESTATE;
	*out = r;
	return RS_OK;
}

/* Column 0 of every row of res, copied into a: *out (NULL when there is
 * no row) and *n. RS_OK or RS_ENOMEM. */
static int
column_strings(PGresult *res, rs_worker_arena *a, char ***out, size_t *n)
{
	int rows = PQntuples(res);
	char **v = NULL;

	if (rows > 0) {
		v = rs_worker_arena_alloc(a, sizeof(char *) * rows);
		if (v == NULL)
			return RS_ENOMEM;
	}
	for (int i = 0; i < rows; i++) {
		v[i] = rs_worker_arena_strndup(
		    a, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
		if (v[i] == NULL)
			return RS_ENOMEM;
	}
	*out = v;
	*n = (size_t) rows;
	return RS_OK;
}

/* Fills a UserList from column 0 of every row. */
static int
user_list(PGresult *res, rs_worker_arena *a, resp_t *r)
{
	Rideshare__UserList *ul = rs_worker_arena_alloc(a, sizeof(*ul));

	if (ul == NULL)
		return RS_ENOMEM;
	rideshare__user_list__init(ul);
	if (column_strings(res, a, &ul->usernames, &ul->n_usernames) != RS_OK)
		return RS_ENOMEM;
	r->result_case = RIDESHARE__DB_RESPONSE__RESULT_USERS;
	r->users = ul;
	return RS_OK;
}

/* Each read is one statement, sent by read_stmt and turned into the reply
 * by read_result: rs_worker_op_read runs it alone, rs_worker_op_read_many
 * in one pipeline with others, and both build the same reply. */

/* A read's statement: st's text params point into num. */
typedef struct read_q {
	rs_worker_db_stmt st;
	num_t num[3];
} read_q;

/* Fills q with req's statement; RS_EINVAL when req is no read. */
static int
read_stmt(const Rideshare__DbRequest *req, read_q *q)
{
	rs_worker_db_stmt *st = &q->st;

	*st = (rs_worker_db_stmt) { .keep = true };
	switch (req->op_case) {
	case RIDESHARE__DB_REQUEST__OP_LIST_USERS: st->name = "u_list"; break;
	case RIDESHARE__DB_REQUEST__OP_GET_USER:
		st->name = "u_exists_read";
		st->params[st->n++] = req->get_user->username;
		break;
	case RIDESHARE__DB_REQUEST__OP_LIST_RIDES:
		q->num[0] = num(req->list_rides->source);
		q->num[1] = num(req->list_rides->destination);
		q->num[2] = num(req->list_rides->after);
		st->name = "r_list";
		for (; st->n < 3; st->n++)
			st->params[st->n] = q->num[st->n].s;
		break;
	case RIDESHARE__DB_REQUEST__OP_GET_RIDE:
		/* The ride and its members in one query. */
		q->num[0] = num(req->get_ride->ride_id);
		st->name = "r_get_members";
		st->params[st->n++] = q->num[0].s;
		break;
	case RIDESHARE__DB_REQUEST__OP_COUNT_RIDES:
		st->name = "r_count";
		break;
	default: return RS_EINVAL;
	}
	return RS_OK;
}

static int
get_user(
    const Rideshare__GetUser *op, PGresult *res, rs_worker_arena *a, resp_t *r)
{
	if (PQntuples(res) == 0) {
		fail(r, RIDESHARE__STATUS__NOT_FOUND, "no such user");
		return RS_OK;
	}
	Rideshare__UserList *ul = rs_worker_arena_alloc(a, sizeof(*ul));
	char **names = rs_worker_arena_alloc(a, sizeof(char *));
	if (ul == NULL || names == NULL)
		return RS_ENOMEM;
	rideshare__user_list__init(ul);
	names[0] = rs_worker_arena_strdup(a, op->username);
	if (names[0] == NULL)
		return RS_ENOMEM;
	ul->usernames = names;
	ul->n_usernames = 1;
	r->result_case = RIDESHARE__DB_RESPONSE__RESULT_USERS;
	r->users = ul;
	return RS_OK;
}

static int
list_rides(PGresult *res, rs_worker_arena *a, resp_t *r)
{
	int n = PQntuples(res);
	Rideshare__RideList *rl = rs_worker_arena_alloc(a, sizeof(*rl));

	if (rl == NULL)
		return RS_ENOMEM;
	rideshare__ride_list__init(rl);
	if (n > 0) {
		rl->rides = rs_worker_arena_alloc(a, sizeof(void *) * n);
		if (rl->rides == NULL)
			return RS_ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		Rideshare__Ride *ride = ride_new(a);
		if (ride == NULL)
			return RS_ENOMEM;
		ride->ride_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		ride->created_by = rs_worker_arena_strndup(
		    a, PQgetvalue(res, i, 1), PQgetlength(res, i, 1));
		if (ride->created_by == NULL)
			return RS_ENOMEM;
		ride->timestamp = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		ride->source = atoi(PQgetvalue(res, i, 3));
		ride->destination = atoi(PQgetvalue(res, i, 4));
		rl->rides[i] = ride;
	}
	rl->n_rides = n;
	r->result_case = RIDESHARE__DB_RESPONSE__RESULT_RIDES;
	r->rides = rl;
	return RS_OK;
}

/* From r_get_members: one row per member (member NULL without any). */
static int
get_ride(
    const Rideshare__GetRide *op, PGresult *res, rs_worker_arena *a, resp_t *r)
{
	int rows = PQntuples(res);

	if (rows == 0) {
		fail(r, RIDESHARE__STATUS__NOT_FOUND, "no such ride");
		return RS_OK;
	}
	Rideshare__Ride *ride = ride_new(a);
	if (ride == NULL)
		return RS_ENOMEM;
	ride->ride_id = op->ride_id;
	ride->created_by = rs_worker_arena_strndup(
	    a, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	if (ride->created_by == NULL)
		return RS_ENOMEM;
	ride->timestamp = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	ride->source = atoi(PQgetvalue(res, 0, 2));
	ride->destination = atoi(PQgetvalue(res, 0, 3));
	if (!PQgetisnull(res, 0, 4)) {
		ride->users = rs_worker_arena_alloc(a, sizeof(char *) * rows);
		if (ride->users == NULL)
			return RS_ENOMEM;
		for (int i = 0; i < rows; i++) {
			ride->users[i] = rs_worker_arena_strndup(
			    a, PQgetvalue(res, i, 4), PQgetlength(res, i, 4));
			if (ride->users[i] == NULL)
				return RS_ENOMEM;
		}
		ride->n_users = (size_t) rows;
	}
	r->result_case = RIDESHARE__DB_RESPONSE__RESULT_RIDE;
	r->ride = ride;
	return RS_OK;
}

/* The reply of read req from the result of its read_stmt, into *out.
 * RS_OK or RS_ENOMEM. */
static int
read_result(const Rideshare__DbRequest *req, PGresult *res, rs_worker_arena *a,
    resp_t **out)
{
	resp_t *r = resp_new(a, req);
	int rc = RS_OK;

	if (r == NULL)
		return RS_ENOMEM;
	switch (req->op_case) {
	case RIDESHARE__DB_REQUEST__OP_LIST_USERS:
		rc = user_list(res, a, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_GET_USER:
		rc = get_user(req->get_user, res, a, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_LIST_RIDES:
		rc = list_rides(res, a, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_GET_RIDE:
		rc = get_ride(req->get_ride, res, a, r);
		break;
	case RIDESHARE__DB_REQUEST__OP_COUNT_RIDES:
		r->result_case = RIDESHARE__DB_RESPONSE__RESULT_COUNT;
		r->count = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		break;
	default: return RS_EINVAL; /* read_stmt refused it already */
	}
	if (rc == RS_OK)
		*out = r;
	return rc;
}

int
rs_worker_op_read(PGconn *db, const Rideshare__DbRequest *req,
    rs_worker_arena *a, resp_t **out)
{
	read_q q;
	PGresult *res;

	if (read_stmt(req, &q) != RS_OK)
		return RS_EINVAL;
	if (rs_worker_db_q(db, q.st.name, q.st.n, q.st.params, &res) != RS_OK)
		return RS_EDB;
	int rc = read_result(req, res, a, out);
	PQclear(res);
	return rc;
}

int
rs_worker_op_read_many(PGconn *db, int n,
    const Rideshare__DbRequest *const *reqs, rs_worker_arena *a, resp_t **outs,
    int *rcs)
{
	read_q *q = malloc(sizeof(*q) * (size_t) (n > 0 ? n : 1));
	rs_worker_db_stmt *st = malloc(sizeof(*st) * (size_t) (n > 0 ? n : 1));
	int rc = RS_ENOMEM;

	if (q == NULL || st == NULL)
		goto out;
	rc = RS_OK;
	for (int i = 0; i < n && rc == RS_OK; i++) {
		rc = read_stmt(reqs[i], &q[i]);
		st[i] = q[i].st;
	}
	if (rc == RS_OK)
		rc = rs_worker_db_pipeline(db, st, n);
	for (int i = 0; i < n && rc == RS_OK; i++) {
		outs[i] = NULL;
		rcs[i] = read_result(reqs[i], st[i].res, a, &outs[i]);
		PQclear(st[i].res);
	}
out:
	free(q);
	free(st);
	return rc;
}
