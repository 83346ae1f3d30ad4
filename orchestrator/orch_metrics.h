/* The orchestrator's Prometheus metrics (rendered by GET /metrics together
 * with per-worker and per-queue lines computed at render time). */
#ifndef RS_ORCH_METRICS_H
#define RS_ORCH_METRICS_H

#include "rs_metrics.h"

extern rs_metric rs_orch_m_req_read; /* reads routed to readQ */
extern rs_metric rs_orch_m_resend_slave; /* resent reads -> read.<id> */
extern rs_metric rs_orch_m_resend_shared; /* resent reads -> readQ */
extern rs_metric rs_orch_m_read_batches; /* readQ messages with >1 read */
extern rs_metric rs_orch_m_read_batched; /* reads sent inside those */
extern rs_metric rs_orch_m_write_batches; /* writeQ messages with >1 */
extern rs_metric rs_orch_m_write_batched; /* writes sent inside those */
extern rs_metric rs_orch_m_req_batches; /* RequestBatch deliveries */
extern rs_metric rs_orch_m_req_batched; /* requests inside those */
extern rs_metric rs_orch_m_req_write; /* writes routed to writeQ */
extern rs_metric rs_orch_m_req_bad; /* undecodable, dead-lettered */
extern rs_metric rs_orch_m_reply_fwd; /* write replies forwarded */
extern rs_metric rs_orch_m_reply_batches; /* ResponseBatch from a master */
extern rs_metric rs_orch_m_reply_batched; /* replies inside those */
extern rs_metric rs_orch_m_reply_stale; /* dropped: older epoch */
extern rs_metric rs_orch_m_reply_bad; /* undecodable replies */
extern rs_metric rs_orch_m_commit_seq;
extern rs_metric rs_orch_m_commit_announce; /* commit_seq -> commitX */
extern rs_metric rs_orch_m_epoch;
extern rs_metric rs_orch_m_scale_out;
extern rs_metric rs_orch_m_scale_in;
extern rs_metric rs_orch_m_scale_same;
extern rs_metric rs_orch_m_target_slaves; /* wanted, capped */
extern rs_metric rs_orch_m_wanted_slaves; /* course rule, uncapped */
extern rs_metric rs_orch_m_slave_cap;
extern rs_metric rs_orch_m_scale_capped; /* decisions the cap bound */
extern rs_metric rs_orch_m_window_reads; /* reads in the last window */
extern rs_metric rs_orch_m_spawns;
extern rs_metric rs_orch_m_spawn_failures;
extern rs_metric rs_orch_m_deaths; /* unplanned ends */
extern rs_metric rs_orch_m_stops; /* graceful stops sent */
extern rs_metric rs_orch_m_crashes; /* crash API kills */
extern rs_metric rs_orch_m_failover_ms; /* last master loss -> new master */
extern rs_metric rs_orch_m_adopted; /* workers taken over at start */
extern rs_metric rs_orch_m_orphan_copies; /* databases of no live worker */
extern rs_metric rs_orch_m_retired_copies; /* orphan databases dropped */
extern rs_metric rs_orch_m_sync_queues_deleted; /* dead slaves' queues */
extern rs_metric rs_orch_m_recovery_blocked; /* 1: writes refused */
extern rs_metric rs_orch_m_writes_refused; /* refused while blocked */
extern rs_metric rs_orch_m_commit_seq_resets; /* below a new master */
extern rs_metric rs_orch_m_restores; /* POST /api/v1/restore done */
extern rs_metric rs_orch_m_restores_refused; /* 400 / 409: nothing done */

/* Registers all of the above; once, before threads start. */
void rs_orch_metrics_register(void);

#endif
