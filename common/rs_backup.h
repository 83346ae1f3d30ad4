/* The backup file (docs/operations.md "Backup and restore"): one copy of
 * the data at one seq, as written by the orchestrator's GET /api/v1/backup
 * and read back by a restoring master (worker/restore.c) and rsctl.
 *
 *   "RIDESHARE-BACKUP 1\n"          magic and format version
 *   <header>\n                       one line of JSON: format, seq, epoch,
 *                                    next_ride_id, created_at (UTC, ISO
 *                                    8601), created_ms, source (worker id),
 *                                    tables [{name, columns, rows}]
 *   per table, in the header's order (= rs_db_copy_tables):
 *     blocks: u32 big-endian length L (1..RS_BACKUP_BLOCK_MAX), L bytes
 *             of the table's PostgreSQL binary COPY stream
 *     u32 0                          end of the table
 *   "END <sha256> <bytes>\n"        SHA-256 (hex) of every byte before
 *                                    "END", and their count; then EOF.
 *
 * A reader trusts nothing before the trailer checks out: a truncated,
 * altered or extended file is an error naming what is wrong. */
#ifndef RS_BACKUP_H
#define RS_BACKUP_H

#include "rs_sha256.h"

#include <stdint.h>
#include <stdio.h>

#define RS_BACKUP_MAGIC      "RIDESHARE-BACKUP"
#define RS_BACKUP_FORMAT     1
#define RS_BACKUP_MAX_TABLES 8
/* Largest block a reader accepts (writers cut at RS_BACKUP_BLOCK). */
#define RS_BACKUP_BLOCK_MAX (64u << 20)
#define RS_BACKUP_BLOCK     (256u << 10)
/* Largest header line a reader accepts. */
#define RS_BACKUP_HEADER_MAX (64u << 10)

typedef struct rs_backup_info {
	int format;
	uint64_t
	    seq; /* applied_seq of the copy: the backup holds writes 1..seq */
	uint64_t epoch; /* master term of the last write in it */
	uint64_t next_ride_id;
	int64_t created_ms; /* wall clock, ms since 1970 */
	char created_at[32]; /* the same, "2026-11-30T14:00:00Z" */
	char source[128]; /* id of the worker whose database was copied */
	int ntables;
	uint64_t rows[RS_BACKUP_MAX_TABLES]; /* per rs_db_copy_tables entry */
	char digest[65]; /* from the trailer (readers) or set by finish */
	uint64_t bytes; /* bytes covered by the digest */
} rs_backup_info;

/* ---- writing ----------------------------------------------------------*/

typedef struct rs_backup_writer rs_backup_writer;

/* Starts a file on f (borrowed, left open) and writes the magic and the
 * header from info (ntables = rs_db_ncopy_tables; created_* are filled in
 * now). RS_OK, RS_ENOMEM, RS_EIO. */
int rs_backup_writer_create(
    FILE *f, rs_backup_info *info, rs_backup_writer **out);
/* Appends n bytes of the current table's COPY stream (buffered). */
int rs_backup_write(rs_backup_writer *w, const void *data, size_t n);
/* Ends the current table (the next write starts the next one). */
int rs_backup_end_table(rs_backup_writer *w);
/* Writes the trailer and flushes; info->digest and ->bytes are set. Call
 * after the last end_table. RS_EIO on any earlier write error too. */
int rs_backup_finish(rs_backup_writer *w, rs_backup_info *info);
void rs_backup_writer_destroy(rs_backup_writer *w);

/* ---- reading ----------------------------------------------------------*/

typedef struct rs_backup_reader rs_backup_reader;

/* Opens path, reads and checks the magic and the header (into *info).
 * RS_OK with *out; RS_EIO (cannot open) or RS_EPROTO (not a backup, an
 * unknown format, tables of another schema), err says which. */
int rs_backup_open(const char *path, rs_backup_reader **out,
    rs_backup_info *info, char *err, size_t errlen);
/* The next piece of the data: RS_OK with *n > 0: a block of table *table
 * (data valid until the next call); RS_OK with *n == 0: the end of table
 * *table; RS_ENOTFOUND: every table read and the trailer checked out
 * (digest, byte count, nothing after it); RS_EPROTO: truncated or
 * corrupt (rs_backup_error says how). */
int rs_backup_next(
    rs_backup_reader *r, int *table, const void **data, size_t *n);
/* Why the last call failed ("" when it did not). */
const char *rs_backup_error(const rs_backup_reader *r);
void rs_backup_close(rs_backup_reader *r);

/* Reads the whole file without using its data: RS_OK when it is a
 * complete, intact backup (*info filled, digest included); else as
 * rs_backup_open / rs_backup_next, with err set. */
int rs_backup_verify(
    const char *path, rs_backup_info *info, char *err, size_t errlen);

#endif
