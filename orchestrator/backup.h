/* Backups of the data (docs/operations.md "Backup and restore"): one
 * worker's database (a serving slave's, else the master's) read in ONE
 * REPEATABLE READ snapshot, like a new slave's catch-up copy
 * (worker/snapshot.c), written in the backup file format
 * (common/rs_backup.h) at the seq that snapshot holds, which is at least
 * the commit_seq of the moment it was asked for.
 *
 * GET /api/v1/backup streams one (admin token required: it holds every
 * user's data); RIDESHARE_BACKUP_DIR + RIDESHARE_BACKUP_EVERY_S take one
 * on a schedule and keep the newest RIDESHARE_BACKUP_KEEP. */
#ifndef RS_ORCH_BACKUP_H
#define RS_ORCH_BACKUP_H

#include "config.h"
#include "rs_backup.h"
#include "router.h"
#include "rs_buf.h"
#include "workers.h"

#include <stdio.h>

typedef struct rs_orch_backup rs_orch_backup;
typedef struct rs_http_req rs_http_req;

/* Default RIDESHARE_BACKUP_KEEP: scheduled backups kept in the dir. */
#define RS_ORCH_BACKUP_KEEP 7

/* Reads RIDESHARE_BACKUP_DIR / _EVERY_S / _KEEP (exit 2 on a bad value)
 * and starts the schedule when the dir is set. Borrows cfg, w and r (r
 * may be NULL: no floor). RS_OK, RS_ENOMEM, RS_EIO (no dir). */
int rs_orch_backup_create(const rs_orch_cfg *cfg, rs_orch_workers *w,
    rs_orch_router *r, rs_orch_backup **out);
/* Stops the schedule (a backup in progress finishes first), frees. */
void rs_orch_backup_destroy(rs_orch_backup *b);

/* Writes a backup to f, from the most advanced serving slave whose copy
 * reaches the router's commit_seq within 2 s, else from the master.
 * RS_OK with *info set; RS_ENOTFOUND (no serving worker), RS_EAGAIN,
 * RS_ECONN, RS_EDB, RS_EIO (err says why; f may hold a partial file). */
int rs_orch_backup_take(rs_orch_backup *b, FILE *f, rs_backup_info *info,
    char *err, size_t errlen);

/* GET /api/v1/backup (arg: the rs_orch_backup); route it with
 * RS_HTTP_PRIVATE (the token is checked by rs_http). */
void rs_orch_backup_http(rs_http_req *req, void *arg);

/* Appends the rideshare_orch_backup* series to a /metrics page. */
void rs_orch_backup_metrics(rs_orch_backup *b, rs_buf *out);

/* Deletes the oldest "rideshare-*.rsbackup" files of dir beyond the newest
 * keep (names sort by time: rs_orch_backup_name). Returns how many were
 * deleted, or -1 when dir cannot be read. */
int rs_orch_backup_prune(const char *dir, int keep);
/* File name of a scheduled backup: "rideshare-<UTC yyyymmddThhmmss.mmmZ>-
 * seq<seq>.rsbackup" for created_ms (ms since 1970). */
void rs_orch_backup_name(
    int64_t created_ms, uint64_t seq, char *out, size_t len);

#endif
