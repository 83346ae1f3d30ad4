#include "load.h"
#include "rs_contract.h"
#include "rideshare.pb-c.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_rpc.h"

#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSWORD "3d725109c7e7c0bfb9d709836735b56d943d263f"

struct client {
	const rsctl_load_cfg *cfg;
	int no;
	long ops;
	char run[9];
	rs_rpc *rpc;
	double *rlat, *wlat;
	long nr, nw, errors;
	int rv;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int
rsctl_load_is_write(long i, double r)
{
	return (long) floor((double) (i + 1) * r)
	    > (long) floor((double) i * r);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

double
rsctl_percentile(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_d);
	k = (size_t) ceil(p / 100.0 * (double) n);
	if (k > 0)
		k--;
	return v[k < n ? k : n - 1];
}

/* One call; returns the DbResponse status or -1 on a transport error. */
static int
one(struct client *c, Rideshare__DbRequest *req)
{
	Rideshare__DbResponse *resp = NULL;
	char rid[RS_ID_LEN + 1];
	int st;

	rs_id_new(rid);
	req->request_id = rid;
	if (rs_rpc_call(c->rpc, req, c->cfg->timeout_ms, &resp) != RS_OK)
		return -1;
	st = (int) resp->status;
	rideshare__db_response__free_unpacked(resp, NULL);
	return st;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	Rideshare__DbRequest req;
	Rideshare__AddUser add = RIDESHARE__ADD_USER__INIT;
	Rideshare__GetUser get = RIDESHARE__GET_USER__INIT;
	char name[96], seed[96];
	double t0;
	int st;

	snprintf(seed, sizeof(seed), "load%s_%d_seed", c->run, c->no);
	add.password = (char *) PASSWORD;
	/* A user to read back (not timed). */
	rideshare__db_request__init(&req);
	req.op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
	req.add_user = &add;
	add.username = seed;
	if (one(c, &req) != RIDESHARE__STATUS__OK)
		c->errors++;
	get.username = seed;
	for (long i = 0; i < c->ops; i++) {
		bool w = rsctl_load_is_write(i, c->cfg->write_ratio);

		rideshare__db_request__init(&req);
		if (w) {
			snprintf(name, sizeof(name), "load%s_%d_%ld", c->run,
			    c->no, i);
			add.username = name;
			req.op_case = RIDESHARE__DB_REQUEST__OP_ADD_USER;
			req.add_user = &add;
		} else {
			req.op_case = RIDESHARE__DB_REQUEST__OP_GET_USER;
			req.get_user = &get;
		}
		t0 = now_s();
		st = one(c, &req);
		if (st != RIDESHARE__STATUS__OK) {
			c->errors++;
			continue;
		}
		if (w)
			c->wlat[c->nw++] = (now_s() - t0) * 1000.0;
		else
			c->rlat[c->nr++] = (now_s() - t0) * 1000.0;
	}
	return NULL;
}

int
rsctl_load_run(const rsctl_load_cfg *cfg, rsctl_load_result *res)
{
	struct client *cl = calloc((size_t) cfg->clients, sizeof(*cl));
	pthread_t *th = calloc((size_t) cfg->clients, sizeof(*th));
	char run[RS_ID_LEN + 1];
	double *rall = NULL, *wall = NULL, t0;
	size_t nr = 0, nw = 0;
	int rv = RS_OK;

	memset(res, 0, sizeof(*res));
	if (cl == NULL || th == NULL) {
		free(cl);
		free(th);
		return RS_ENOMEM;
	}
	rs_id_new(run);
	for (int k = 0; k < cfg->clients; k++) {
		struct client *c = &cl[k];

		c->cfg = cfg;
		c->no = k;
		c->ops
		    = cfg->ops / cfg->clients + (k < cfg->ops % cfg->clients);
		snprintf(c->run, sizeof(c->run), "%.8s", run);
		c->rlat = calloc((size_t) c->ops + 1, sizeof(double));
		c->wlat = calloc((size_t) c->ops + 1, sizeof(double));
		if (c->rlat == NULL || c->wlat == NULL)
			rv = RS_ENOMEM;
		else if ((c->rv = rs_rpc_create(
		              cfg->amqp_url, RS_Q_ORCHESTRATOR, 5000, &c->rpc))
		    != RS_OK)
			rv = c->rv;
	}
	if (rv == RS_OK) {
		t0 = now_s();
		for (int k = 0; k < cfg->clients; k++)
			pthread_create(&th[k], NULL, client_main, &cl[k]);
		for (int k = 0; k < cfg->clients; k++)
			pthread_join(th[k], NULL);
		res->elapsed_s = now_s() - t0;
		rall = calloc((size_t) cfg->ops + 1, sizeof(double));
		wall = calloc((size_t) cfg->ops + 1, sizeof(double));
		for (int k = 0; k < cfg->clients && rall && wall; k++) {
			memcpy(rall + nr, cl[k].rlat,
			    (size_t) cl[k].nr * sizeof(double));
			memcpy(wall + nw, cl[k].wlat,
			    (size_t) cl[k].nw * sizeof(double));
			nr += (size_t) cl[k].nr;
			nw += (size_t) cl[k].nw;
			res->errors += cl[k].errors;
		}
		res->reads = (long) nr;
		res->writes = (long) nw;
		res->read_p50_ms = rsctl_percentile(rall, nr, 50);
		res->read_p99_ms = rsctl_percentile(rall, nr, 99);
		res->write_p50_ms = rsctl_percentile(wall, nw, 50);
		res->write_p99_ms = rsctl_percentile(wall, nw, 99);
	}
	for (int k = 0; k < cfg->clients; k++) {
		rs_rpc_destroy(cl[k].rpc);
		free(cl[k].rlat);
		free(cl[k].wlat);
	}
	free(rall);
	free(wall);
	free(cl);
	free(th);
	return rv;
}
