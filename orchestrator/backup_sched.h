/* Scheduled backups (backup.h): with RIDESHARE_BACKUP_DIR set, one backup
 * every RIDESHARE_BACKUP_EVERY_S (3600) into that dir, written as a
 * ".part" file, fsynced and renamed, then all but the newest
 * RIDESHARE_BACKUP_KEEP (7) deleted. */
#ifndef RS_ORCH_BACKUP_SCHED_H
#define RS_ORCH_BACKUP_SCHED_H

#include "backup.h"

typedef struct rs_orch_backup_sched rs_orch_backup_sched;

/* Default RIDESHARE_BACKUP_EVERY_S. */
#define RS_ORCH_BACKUP_EVERY_S 3600

/* Starts the schedule of b when RIDESHARE_BACKUP_DIR is set (*out NULL
 * when it is not). RS_OK, RS_ENOMEM, RS_EIO (the dir cannot be made). */
int rs_orch_backup_sched_start(rs_orch_backup *b, rs_orch_backup_sched **out);
/* Stops it (waits for a backup in progress), frees; NULL is a no-op. */
void rs_orch_backup_sched_stop(rs_orch_backup_sched *s);

#endif
