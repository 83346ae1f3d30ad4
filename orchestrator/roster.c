#include "roster.h"
#include "rs_contract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
rs_orch_state_name(enum rs_orch_wstate st)
{
	switch (st) {
	case RS_ORCH_STARTING: return "starting";
	case RS_ORCH_RUNNING: return "running";
	case RS_ORCH_STOPPING: return "stopping";
	default: return "dead";
	}
}

bool
rs_orch_worker_id_spawned(const char *id)
{
	size_t i = 1, digits = 0, hex = 0;

	if (id == NULL || id[0] != 'w')
		return false;
	while (id[i] >= '0' && id[i] <= '9') {
		i++;
		digits++;
	}
	if (digits == 0 || id[i++] != '-')
		return false;
	while (
	    (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')) {
		i++;
		hex++;
	}
	return hex == 6 && id[i] == '\0';
}

bool
rs_orch_worker_alive(const rs_orch_worker *w)
{
	return w->state == RS_ORCH_STARTING || w->state == RS_ORCH_RUNNING;
}

const char *
rs_orch_role_name(int role)
{
	switch (role) {
	case RS_ORCH_ROLE_MASTER: return RS_ROLE_MASTER;
	case RS_ORCH_ROLE_SLAVE: return RS_ROLE_SLAVE;
	case RS_ORCH_ROLE_CANDIDATE: return RS_ROLE_CANDIDATE;
	default: return "none";
	}
}

static bool
serving(const rs_orch_worker *w)
{
	return rs_orch_worker_alive(w) && w->registered
	    && (w->role == RS_ORCH_ROLE_MASTER
	        || w->role == RS_ORCH_ROLE_SLAVE);
}

static int
cmp_pid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a;
	int64_t y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

size_t
rs_orch_roster_pids(
    const rs_orch_worker *w, size_t n, int64_t *pids, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < max; i++) {
		if (serving(&w[i]) && w[i].pid > 0)
			pids[k++] = w[i].pid;
	}
	qsort(pids, k, sizeof(pids[0]), cmp_pid);
	return k;
}

int
rs_orch_roster_master(
    const rs_orch_worker *w, size_t n, const char *master_id, bool need_role)
{
	if (master_id == NULL || *master_id == '\0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(w[i].id, master_id) != 0)
			continue;
		if (!rs_orch_worker_alive(&w[i]) || !w[i].registered)
			return -1;
		if (need_role && w[i].role != RS_ORCH_ROLE_MASTER)
			return -1;
		return (int) i;
	}
	return -1;
}

int
rs_orch_roster_top_slave(const rs_orch_worker *w, size_t n)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!serving(&w[i]) || w[i].role != RS_ORCH_ROLE_SLAVE)
			continue;
		if (best < 0 || w[i].pid >= w[best].pid)
			best = (int) i;
	}
	return best;
}

/* Picks the highest-pid entry among live non-master workers matching
 * want_serving that is not already in the plan. */
static int
pick_stop(const rs_orch_worker *w, size_t n, int master, bool want_serving,
    const rs_orch_plan *plan)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		bool taken = false;

		if ((int) i == master || !rs_orch_worker_alive(&w[i]))
			continue;
		if (w[i].role == RS_ORCH_ROLE_MASTER)
			continue;
		if (want_serving
		    != (w[i].state == RS_ORCH_RUNNING
		        && w[i].role == RS_ORCH_ROLE_SLAVE))
			continue;
		for (int j = 0; j < plan->nstop; j++)
			taken = taken || plan->stop[j] == (int) i;
		if (taken)
			continue;
		if (best < 0 || w[i].pid >= w[best].pid)
			best = (int) i;
	}
	return best;
}

void
rs_orch_roster_plan(const rs_orch_worker *w, size_t n, const char *master_id,
    int target_slaves, rs_orch_plan *plan)
{
	int master, slaves = 0;

	memset(plan, 0, sizeof(*plan));
	if (target_slaves < 1)
		target_slaves = 1;
	master = rs_orch_roster_master(w, n, master_id, true);
	if (master < 0) {
		bool busy = master_id != NULL && *master_id != '\0';

		for (size_t i = 0; i < n; i++) {
			busy = busy || rs_orch_worker_alive(&w[i])
			    || (w[i].registered
			        && (w[i].role == RS_ORCH_ROLE_MASTER
			            || w[i].role == RS_ORCH_ROLE_SLAVE));
		}
		if (!busy) {
			plan->spawn = 1;
			plan->bootstrap = true;
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((int) i != master && rs_orch_worker_alive(&w[i])
		    && w[i].role != RS_ORCH_ROLE_MASTER)
			slaves++;
	}
	if (slaves < target_slaves) {
		plan->spawn = target_slaves - slaves;
		return;
	}
	while (slaves - plan->nstop > target_slaves
	    && plan->nstop < RS_ORCH_MAX_WORKERS) {
		int k = pick_stop(w, n, master, true, plan);

		if (k < 0)
			k = pick_stop(w, n, master, false, plan);
		if (k < 0)
			break;
		plan->stop[plan->nstop++] = k;
	}
}

const char *
rs_orch_lag_state_name(int state)
{
	switch (state) {
	case RS_ORCH_LAG_SNAPSHOTTING: return "snapshotting";
	case RS_ORCH_LAG_CATCHING_UP: return "catching_up";
	case RS_ORCH_LAG_SERVING: return "serving";
	case RS_ORCH_LAG_LAGGING: return "lagging";
	default: return "none";
	}
}

void
rs_orch_roster_read_pauses(rs_orch_worker *t, size_t n, int64_t max_lag_ms)
{
	int best = -1;
	bool any_reader = false;

	for (size_t i = 0; i < n; i++) {
		rs_orch_worker *e = &t[i];
		if (e->lag_state != RS_ORCH_LAG_SERVING
		    && e->lag_state != RS_ORCH_LAG_LAGGING) {
			e->read_paused = false;
			continue;
		}
		if (!e->read_paused && e->lag_ms > max_lag_ms)
			e->read_paused = true;
		else if (e->read_paused && e->lag_ms <= max_lag_ms / 2)
			e->read_paused = false;
		if (!e->read_paused)
			any_reader = true;
		if (best < 0 || e->lag_ms < t[best].lag_ms)
			best = (int) i;
	}
	if (!any_reader && best >= 0)
		t[best].read_paused = false;
	for (size_t i = 0; i < n; i++) {
		if (t[i].lag_state == RS_ORCH_LAG_SERVING
		    || t[i].lag_state == RS_ORCH_LAG_LAGGING)
			t[i].lag_state = t[i].read_paused
			    ? RS_ORCH_LAG_LAGGING
			    : RS_ORCH_LAG_SERVING;
	}
}

static bool
takes_reads(const rs_orch_worker *e)
{
	return e->role == RS_ORCH_ROLE_SLAVE && !e->read_paused;
}

bool
rs_orch_roster_resend_target(
    const rs_orch_worker *t, size_t n, const char *hint, char *out, size_t len)
{
	const rs_orch_worker *best = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!takes_reads(&t[i]))
			continue;
		if (hint != NULL && hint[0] != '\0'
		    && strcmp(t[i].id, hint) == 0) {
			best = &t[i];
			break;
		}
		if (best == NULL || t[i].status_ms > best->status_ms)
			best = &t[i];
	}
	if (best != NULL)
		snprintf(out, len, "%s", best->id);
	else if (len > 0)
		out[0] = '\0';
	return best != NULL;
}
