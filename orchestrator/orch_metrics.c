#include "orch_metrics.h"

#define C     "counter"
#define G     "gauge"
#define REQ   "rideshare_orch_requests_total"
#define REQ_H "DbRequests taken from the orchestrator queue, by kind."
#define REP   "rideshare_orch_write_replies_total"
#define REP_H "Write replies taken from responseQ, by outcome."
#define SC    "rideshare_orch_scale_decisions_total"
#define SC_H  "Autoscaling decisions at window ends, by direction."

rs_metric rs_orch_m_req_read = RS_METRIC(REQ, REQ_H, C, "kind=\"read\"");
rs_metric rs_orch_m_resend_slave
    = RS_METRIC("rideshare_orch_read_resends_total",
        "Reads a gateway sent a second time, by where they went: one slave's "
        "own read queue, or readQ when no slave took reads.",
        C, "to=\"slave\"");
rs_metric rs_orch_m_resend_shared
    = RS_METRIC("rideshare_orch_read_resends_total",
        "Reads a gateway sent a second time, by where they went: one slave's "
        "own read queue, or readQ when no slave took reads.",
        C, "to=\"readq\"");
rs_metric rs_orch_m_read_batches
    = RS_METRIC("rideshare_orch_read_batches_total",
        "readQ messages that carried several reads (ReadBatch).", C, NULL);
rs_metric rs_orch_m_read_batched
    = RS_METRIC("rideshare_orch_read_batched_total",
        "Reads that went to readQ inside a ReadBatch (the rest went alone).",
        C, NULL);
rs_metric rs_orch_m_write_batches
    = RS_METRIC("rideshare_orch_write_batches_total",
        "writeQ messages that carried several writes (WriteBatch).", C, NULL);
rs_metric rs_orch_m_write_batched
    = RS_METRIC("rideshare_orch_write_batched_total",
        "Writes that went to writeQ inside a WriteBatch (the rest went "
        "alone).",
        C, NULL);
rs_metric rs_orch_m_req_batches
    = RS_METRIC("rideshare_orch_request_batches_total",
        "Orchestrator-queue messages that carried several requests "
        "(RequestBatch from a gateway).",
        C, NULL);
rs_metric rs_orch_m_req_batched
    = RS_METRIC("rideshare_orch_request_batched_total",
        "Requests that came inside a RequestBatch (the rest came alone).", C,
        NULL);
rs_metric rs_orch_m_req_write = RS_METRIC(REQ, REQ_H, C, "kind=\"write\"");
rs_metric rs_orch_m_req_bad = RS_METRIC(REQ, REQ_H, C, "kind=\"bad\"");
rs_metric rs_orch_m_reply_fwd
    = RS_METRIC(REP, REP_H, C, "outcome=\"forwarded\"");
rs_metric rs_orch_m_reply_batches
    = RS_METRIC("rideshare_orch_response_batches_total",
        "responseQ messages that carried several write replies "
        "(ResponseBatch: one per committed batch of the master).",
        C, NULL);
rs_metric rs_orch_m_reply_batched
    = RS_METRIC("rideshare_orch_response_batched_total",
        "Write replies that came inside a ResponseBatch (the rest came "
        "alone).",
        C, NULL);
rs_metric rs_orch_m_reply_stale
    = RS_METRIC(REP, REP_H, C, "outcome=\"stale_epoch\"");
rs_metric rs_orch_m_reply_bad = RS_METRIC(REP, REP_H, C, "outcome=\"bad\"");
rs_metric rs_orch_m_commit_seq = RS_METRIC("rideshare_orch_commit_seq",
    "Highest seq of a write reply forwarded to its caller.", G, NULL);
rs_metric rs_orch_m_commit_announce
    = RS_METRIC("rideshare_orch_commit_announcements_total",
        "commit_seq announcements published to commitX.", C, NULL);
rs_metric rs_orch_m_epoch = RS_METRIC(
    "rideshare_orch_epoch", "Current master epoch (fencing token).", G, NULL);
rs_metric rs_orch_m_scale_out = RS_METRIC(SC, SC_H, C, "direction=\"out\"");
rs_metric rs_orch_m_scale_in = RS_METRIC(SC, SC_H, C, "direction=\"in\"");
rs_metric rs_orch_m_scale_same = RS_METRIC(SC, SC_H, C, "direction=\"none\"");
rs_metric rs_orch_m_target_slaves = RS_METRIC("rideshare_orch_target_slaves",
    "Slaves aimed at: the latest decision's wanted, capped.", G, NULL);
rs_metric rs_orch_m_wanted_slaves = RS_METRIC("rideshare_orch_wanted_slaves",
    "Slaves the course rule max(1, ceil(reads/20)) asked for in the last "
    "window, before the cap.",
    G, NULL);
rs_metric rs_orch_m_slave_cap = RS_METRIC("rideshare_orch_slave_cap",
    "Most slaves the autoscaler runs (RIDESHARE_MAX_SLAVES or the "
    "spawner's capacity).",
    G, NULL);
rs_metric rs_orch_m_scale_capped = RS_METRIC(
    "rideshare_orch_scale_capped_total",
    "Scaling decisions where the cap held the target below wanted.", C, NULL);
rs_metric rs_orch_m_window_reads = RS_METRIC("rideshare_orch_window_reads",
    "Db reads counted in the last completed scaling window.", G, NULL);
rs_metric rs_orch_m_spawns = RS_METRIC(
    "rideshare_orch_worker_spawns_total", "Workers started.", C, NULL);
rs_metric rs_orch_m_spawn_failures
    = RS_METRIC("rideshare_orch_worker_spawn_failures_total",
        "Worker starts that failed.", C, NULL);
rs_metric rs_orch_m_deaths = RS_METRIC("rideshare_orch_worker_deaths_total",
    "Workers that ended without being asked to stop.", C, NULL);
rs_metric rs_orch_m_stops = RS_METRIC("rideshare_orch_worker_stops_total",
    "Graceful stops (SIGTERM) sent for scale-in or shutdown.", C, NULL);
rs_metric rs_orch_m_crashes = RS_METRIC("rideshare_orch_crash_kills_total",
    "Workers killed through the crash API.", C, NULL);
rs_metric rs_orch_m_failover_ms = RS_METRIC("rideshare_orch_last_failover_ms",
    "Milliseconds from the last master loss to a new master.", G, NULL);
rs_metric rs_orch_m_adopted = RS_METRIC("rideshare_orch_workers_adopted_total",
    "Running workers taken over from a previous orchestrator.", C, NULL);
rs_metric rs_orch_m_orphan_copies = RS_METRIC("rideshare_orch_orphan_copies",
    "Worker databases whose worker is gone, not yet retired.", G, NULL);
rs_metric rs_orch_m_retired_copies = RS_METRIC(
    "rideshare_orch_retired_copies_total",
    "Orphan worker databases dropped (a serving copy had as much).", C, NULL);
rs_metric rs_orch_m_sync_queues_deleted
    = RS_METRIC("rideshare_orch_sync_queues_deleted_total",
        "Sync queues of gone workers deleted.", C, NULL);
rs_metric rs_orch_m_recovery_blocked
    = RS_METRIC("rideshare_orch_recovery_blocked",
        "1 while a full-cluster recovery refuses writes (a copy holding "
        "acknowledged writes is missing).",
        G, NULL);
rs_metric rs_orch_m_writes_refused
    = RS_METRIC("rideshare_orch_writes_refused_total",
        "Writes answered UNAVAILABLE while recovery refused writes.", C, NULL);
rs_metric rs_orch_m_commit_seq_resets
    = RS_METRIC("rideshare_orch_commit_seq_resets_total",
        "commit_seq lowered to a new master's head (accepted loss).", C, NULL);
rs_metric rs_orch_m_restores = RS_METRIC("rideshare_orch_restores_total",
    "Backups restored into the running cluster (POST /api/v1/restore).", C,
    NULL);
rs_metric rs_orch_m_restores_refused
    = RS_METRIC("rideshare_orch_restores_refused_total",
        "Restores refused with nothing changed (bad file, cluster holds "
        "data, another restore runs).",
        C, NULL);

void
rs_orch_metrics_register(void)
{
	rs_metric *all[] = { &rs_orch_m_req_read, &rs_orch_m_req_write,
		&rs_orch_m_resend_slave, &rs_orch_m_resend_shared,
		&rs_orch_m_read_batches, &rs_orch_m_read_batched,
		&rs_orch_m_write_batches, &rs_orch_m_write_batched,
		&rs_orch_m_req_batches, &rs_orch_m_req_batched,
		&rs_orch_m_req_bad, &rs_orch_m_reply_fwd,
		&rs_orch_m_reply_batches, &rs_orch_m_reply_batched,
		&rs_orch_m_reply_stale, &rs_orch_m_reply_bad,
		&rs_orch_m_commit_seq, &rs_orch_m_commit_announce,
		&rs_orch_m_epoch, &rs_orch_m_scale_out, &rs_orch_m_scale_in,
		&rs_orch_m_scale_same, &rs_orch_m_target_slaves,
		&rs_orch_m_wanted_slaves, &rs_orch_m_slave_cap,
		&rs_orch_m_scale_capped, &rs_orch_m_window_reads,
		&rs_orch_m_spawns, &rs_orch_m_spawn_failures,
		&rs_orch_m_deaths, &rs_orch_m_stops, &rs_orch_m_crashes,
		&rs_orch_m_failover_ms, &rs_orch_m_adopted,
		&rs_orch_m_orphan_copies, &rs_orch_m_retired_copies,
		&rs_orch_m_sync_queues_deleted, &rs_orch_m_recovery_blocked,
		&rs_orch_m_writes_refused, &rs_orch_m_commit_seq_resets,
		&rs_orch_m_restores, &rs_orch_m_restores_refused };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		rs_metric_register(all[i]);
}
