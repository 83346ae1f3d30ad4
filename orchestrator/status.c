#include "status.h"
#include "rs_contract.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static json_t *
worker_json(const rs_orch_status_in *in, const rs_orch_worker *e)
{
	bool master = e->role == RS_ORCH_ROLE_MASTER;
	uint64_t lag = 0;
	json_t *j;

	if (!master && in->head_seq > e->applied_seq)
		lag = in->head_seq - e->applied_seq;
	j = json_pack("{s:s, s:I, s:s, s:s, s:b, s:I, s:I, s:I, s:b}", "id",
	    e->id, "pid", (json_int_t) e->pid, "role",
	    rs_orch_role_name(e->role), "state", rs_orch_state_name(e->state),
	    "registered", e->registered, "epoch", (json_int_t) e->epoch,
	    "applied_seq", (json_int_t) e->applied_seq, "lag_seqs",
	    (json_int_t) lag, "ours", e->ours);
	/* Uptime: known for the workers this orchestrator spawned; an
	 * adopted worker's start is not known here. */
	json_object_set_new(j, "uptime_s",
	    e->spawned_ms > 0
	        ? json_real((double) (in->now_ms - e->spawned_ms) / 1000.0)
	        : json_null());
	/* Age of its last status notice: how stale applied_seq may be,
	 * i.e. the lag in time as far as the orchestrator can tell. */
	json_object_set_new(j, "status_age_ms",
	    e->status_ms > 0 ? json_integer(in->now_ms - e->status_ms)
	                     : json_null());
	json_object_set_new(
	    j, "reads_held", json_integer((json_int_t) e->reads.held));
	return j;
}

/* Appends {"kind": kind, "text": printf(fmt, ...)} to banners: what the
 * status page shows at its top. */
static void add_banner(json_t *banners, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_banner(json_t *banners, const char *kind, const char *fmt, ...)
{
	char text[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_array_append_new(
	    banners, json_pack("{s:s, s:s}", "kind", kind, "text", text));
}

json_t *
rs_orch_status_json(const rs_orch_status_in *in)
{
	json_t *workers = json_array(), *queues = json_object();
	json_t *banners = json_array(), *master = json_null();
	int slaves = 0;

	for (size_t i = 0; i < in->n; i++) {
		const rs_orch_worker *e = &in->w[i];

		if (!rs_orch_worker_alive(e))
			continue;
		json_array_append_new(workers, worker_json(in, e));
		slaves += e->registered && e->role == RS_ORCH_ROLE_SLAVE;
		if (in->master_id[0] != '\0'
		    && strcmp(e->id, in->master_id) == 0) {
			json_decref(master);
			master = json_pack("{s:s, s:I}", "id", e->id, "pid",
			    (json_int_t) e->pid);
		}
	}
	for (size_t i = 0; i < in->nqueues; i++) {
		json_object_set_new(queues, in->queues[i],
		    in->ok[i] ? json_pack("{s:I, s:I}", "messages",
		        (json_int_t) in->messages[i], "consumers",
		        (json_int_t) in->consumers[i])
		              : json_null());
	}
	if (in->paused)
		add_banner(banners, "paused",
		    "PAUSED (%s): no autoscaling, no worker replacement, no "
		    "automatic failover until POST /api/v1/resume",
		    in->pause_reason ? in->pause_reason : "");
	if (in->refusing_writes)
		add_banner(banners, "refusing_writes",
		    "WRITES REFUSED: a copy holding acknowledged writes is "
		    "missing (%s); see rsctl recover",
		    in->refusing_why ? in->refusing_why : "");
	if (json_is_null(master))
		add_banner(banners, "no_master",
		    "NO MASTER: writes wait for an election");
	return json_pack("{s:o, s:s, s:I, s:I, s:I, s:i, s:o, "
	                 "s:{s:I, s:I, s:I, s:i}, "
	                 "s:{s:b, s:s, s:I}, s:{s:b, s:s}, s:o, s:o, s:o}",
	    RS_ROLE_MASTER, master, "master_id", in->master_id, "epoch",
	    (json_int_t) in->epoch, "head_seq", (json_int_t) in->head_seq,
	    "commit_seq", (json_int_t) in->commit_seq, "slaves", slaves,
	    "workers", workers, "scaling", "window_reads",
	    (json_int_t) in->window_reads, "window_ms",
	    (json_int_t) in->window_ms, "window_elapsed_ms",
	    (json_int_t) in->window_elapsed_ms, "target_slaves",
	    in->target_slaves, "paused", "paused", in->paused, "reason",
	    in->pause_reason ? in->pause_reason : "", "since_ms",
	    (json_int_t) in->paused_since_ms, "writes", "refused",
	    in->refusing_writes, "reason",
	    in->refusing_why ? in->refusing_why : "", "queues", queues,
	    "banners", banners, "events",
	    in->events ? in->events : json_array());
}
