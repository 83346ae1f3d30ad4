/* rsctl backup FILE / rsctl restore FILE (docs/operations.md "Backup and
 * restore"). */
#ifndef RSCTL_BACKUP_H
#define RSCTL_BACKUP_H

/* backup FILE: GET /api/v1/backup (with the admin token) into FILE.part,
 * checks it (rs_backup_verify), fsyncs and renames it to FILE, prints a
 * JSON summary. 0; 1 when the orchestrator answered an error or the file
 * it sent does not check out; 2 usage or connection error. */
int rsctl_backup(int argc, char **argv);

/* restore FILE: checks FILE completely (format, digest, trailer), then
 * POST /api/v1/restore with it (admin token): the running cluster, which
 * must hold no data yet, restarts with FILE's data; prints the answer
 * ({seq, epoch, backup_epoch, rows, sha256, ms}). restore --check FILE:
 * only the check, prints the summary. 0 done; 1 a bad file or the
 * orchestrator refused (409 the cluster holds data, the error body on
 * stderr); 2 usage or connection error. */
int rsctl_restore(int argc, char **argv);

/* The usage lines of both. */
extern const char rsctl_usage_backup[];

#endif
