/* Restore a backup into a RUNNING cluster that holds no data yet
 * (docs/operations.md "Restore into a running cluster"):
 * POST /api/v1/restore, body = a backup file (common/rs_backup.h).
 *
 * The orchestrator streams the body to a 0600 file in its restore dir
 * (RIDESHARE_RESTORE_DIR, default $RIDESHARE_STACK_DIR/restore, else
 * $TMPDIR), verifies it completely (400 when bad: nothing changed), checks
 * that the cluster is empty (409 "restore only into an empty cluster"
 * otherwise: nothing is ever deleted), then restarts the data tier with
 * RIDESHARE_RESTORE_FROM=<that file> in the workers' environment: paused,
 * every worker stopped, resumed; the supervisor's bootstrap worker becomes
 * the first master of a cluster with no history and loads the file in its
 * recovery (worker/recovery.c restore_if_asked, the same path as a fresh
 * stack started with the variable). 200 {seq, epoch, backup_epoch, rows,
 * ms} once that master serves at the backup's seq. One restore at a time
 * (409); process spawner only (501: docker and swarm workers cannot read
 * the orchestrator's file). */
#ifndef RS_ORCH_RESTORE_H
#define RS_ORCH_RESTORE_H

#include "config.h"
#include "router.h"
#include "supervisor.h"
#include "workers.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rs_orch_restore rs_orch_restore;
typedef struct rs_http_req rs_http_req;

/* Borrows everything (may outlive nothing it borrows). RS_ENOMEM. */
int rs_orch_restore_create(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_supervisor *s, rs_orch_router *r, rs_orch_restore **out);
void rs_orch_restore_destroy(rs_orch_restore *x);

/* POST /api/v1/restore (arg: the rs_orch_restore); route it with
 * RS_HTTP_RAW_BODY (the body may be larger than the body limit). */
void rs_orch_restore_http(rs_http_req *req, void *arg);

/* What the cluster holds, as the emptiness check sees it. */
typedef struct rs_orch_restore_seen {
	uint64_t commit_seq; /* the router's */
	uint64_t head_seq; /* the master's head notices */
	uint64_t history_seq; /* RS_ZK_HISTORY (0 when absent) */
	uint64_t worker_seq; /* highest applied_seq a worker reports */
	uint64_t copy_seq; /* highest applied_seq of a rideshare_* database */
	char copy_db[160]; /* which database (copy_seq > 0) */
} rs_orch_restore_seen;

/* Pure: NULL when seen describes an empty cluster (no write ever
 * acknowledged), else why not (a static string naming the first seq that
 * is not 0; the caller adds the numbers). */
const char *rs_orch_restore_not_empty(const rs_orch_restore_seen *seen);

#endif
