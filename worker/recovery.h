/* Full-cluster recovery and the durable history mark (docs/failover.md
 * "Recovery when nothing serves"). */
#ifndef RS_WORKER_RECOVERY_H
#define RS_WORKER_RECOVERY_H

typedef struct rs_worker rs_worker;

/* Called by a candidate that created /rideshare/master while
 * no worker was serving. Makes this worker's database the most advanced
 * surviving copy (copied from another rideshare_* database if that one is
 * ahead); refuses (waits, RS_ZK_RECOVERY says why) while that copy is
 * behind the history mark, until an operator accepts the loss. RS_OK, or
 * RS_ECLOSED when the session ended or SIGTERM came while waiting. */
int rs_worker_recover(rs_worker *w);
/* Raises the history mark to this master's (epoch, applied_seq). */
int rs_worker_history_raise(rs_worker *w);

#endif
