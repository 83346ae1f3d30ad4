/* Restore from a backup file (docs/operations.md "Backup and restore"),
 * run by the first master of a cluster with no history. */
#ifndef RS_WORKER_RESTORE_H
#define RS_WORKER_RESTORE_H

#include <stdint.h>

typedef struct rs_worker rs_worker;

/* Loads the backup file at path into this worker's own database, all or
 * nothing: the whole file is checked first (format, digest), then loaded
 * in ONE transaction that is committed only when every table's row count
 * and the meta row match the header and the trailer checked out again.
 * The copy then stands at (w->epoch, the backup's seq): writes go on at
 * seq + 1 in this master's term (the file's epoch belongs to another
 * cluster's history). RS_OK; RS_EPROTO / RS_EIO for a bad file, RS_EDB.
 * Each failure is logged with event=restore_failed and its reason. */
int rs_worker_restore(rs_worker *w, const char *path);

#endif
