/* rsctl backup FILE / rsctl restore FILE (docs/operations.md "Backup and
 * restore"). */
#ifndef RSCTL_BACKUP_H
#define RSCTL_BACKUP_H

/* backup FILE: GET /api/v1/backup (with the admin token) into FILE.part,
 * checks it (rs_backup_verify), fsyncs and renames it to FILE, prints a
 * JSON summary. 0; 1 when the orchestrator answered an error or the file
 * it sent does not check out; 2 usage or connection error. */
int rsctl_backup(int argc, char **argv);

/* restore FILE: checks FILE completely (format, digest, trailer) and
 * prints its summary with the way to load it: a fresh stack started with
 * RIDESHARE_RESTORE_FROM=<absolute path of FILE>. 0 a good backup; 1 a
 * bad one (the reason on stderr); 2 usage. */
int rsctl_restore(int argc, char **argv);

/* The usage lines of both. */
extern const char rsctl_usage_backup[];

#endif
