/* The backup file format: see rs_backup.h (and docs/operations.md). */
#include "rs_backup.h"

#include "rs_db.h"
#include "rs_err.h"

#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct rs_backup_writer {
	FILE *f;
	rs_sha256 sha;
	uint64_t bytes;
	int err;
	uint8_t *buf; /* RS_BACKUP_BLOCK bytes of the current table */
	size_t nbuf;
};

struct rs_backup_reader {
	FILE *f;
	rs_sha256 sha;
	uint64_t bytes;
	int ntables;
	int table; /* the table being read; ntables once all are */
	uint8_t *buf;
	size_t cap;
	char digest[65]; /* of what was read, once the trailer is reached */
	char err[256];
};

/* ---- writing ----------------------------------------------------------*/

static void
put(rs_backup_writer *w, const void *data, size_t n)
{
	if (w->err != RS_OK || n == 0)
		return;
	if (fwrite(data, 1, n, w->f) != n) {
		w->err = RS_EIO;
		return;
	}
	rs_sha256_update(&w->sha, data, n);
	w->bytes += n;
}

static void
put_u32(rs_backup_writer *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t) (v >> 24), (uint8_t) (v >> 16),
		(uint8_t) (v >> 8), (uint8_t) v };

	put(w, b, 4);
}

static void
flush_block(rs_backup_writer *w)
{
	if (w->nbuf == 0)
		return;
	put_u32(w, (uint32_t) w->nbuf);
	put(w, w->buf, w->nbuf);
	w->nbuf = 0;
}

static json_t *
header_json(const rs_backup_info *info)
{
	json_t *tables = json_array();

	for (int i = 0; i < info->ntables; i++)
		json_array_append_new(tables,
		    json_pack("{s:s, s:s, s:I}", "name",
		        rs_db_copy_tables[i].name, "columns",
		        rs_db_copy_tables[i].columns, "rows",
		        (json_int_t) info->rows[i]));
	return json_pack("{s:i, s:I, s:I, s:I, s:s, s:I, s:s, s:o}", "format",
	    RS_BACKUP_FORMAT, "seq", (json_int_t) info->seq, "epoch",
	    (json_int_t) info->epoch, "next_ride_id",
	    (json_int_t) info->next_ride_id, "created_at", info->created_at,
	    "created_ms", (json_int_t) info->created_ms, "source",
	    info->source, "tables", tables);
}

int
rs_backup_writer_create(FILE *f, rs_backup_info *info, rs_backup_writer **out)
{
	rs_backup_writer *w = calloc(1, sizeof(*w));
	struct timeval tv;
	struct tm tm;
	char magic[64];
	json_t *h;
	char *text;

	if (w == NULL || (w->buf = malloc(RS_BACKUP_BLOCK)) == NULL) {
		free(w);
		return RS_ENOMEM;
	}
	w->f = f;
	rs_sha256_init(&w->sha);
	gettimeofday(&tv, NULL);
	info->format = RS_BACKUP_FORMAT;
	info->ntables = rs_db_ncopy_tables;
	info->created_ms = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
	gmtime_r(&tv.tv_sec, &tm);
	strftime(info->created_at, sizeof(info->created_at),
	    "%Y-%m-%dT%H:%M:%SZ", &tm);
	h = header_json(info);
	text = h != NULL ? json_dumps(h, JSON_COMPACT) : NULL;
	json_decref(h);
	if (text == NULL) {
		rs_backup_writer_destroy(w);
		return RS_ENOMEM;
	}
	snprintf(magic, sizeof(magic), "%s %d\n", RS_BACKUP_MAGIC,
	    RS_BACKUP_FORMAT);
	put(w, magic, strlen(magic));
	put(w, text, strlen(text));
	put(w, "\n", 1);
	free(text);
	if (w->err != RS_OK) {
		rs_backup_writer_destroy(w);
		return RS_EIO;
	}
	*out = w;
	return RS_OK;
}

int
rs_backup_write(rs_backup_writer *w, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n > 0 && w->err == RS_OK) {
		size_t take = RS_BACKUP_BLOCK - w->nbuf;
		if (take > n)
			take = n;
		memcpy(w->buf + w->nbuf, p, take);
		w->nbuf += take;
		p += take;
		n -= take;
		if (w->nbuf == RS_BACKUP_BLOCK)
			flush_block(w);
	}
	return w->err;
}

int
rs_backup_end_table(rs_backup_writer *w)
{
	flush_block(w);
	put_u32(w, 0);
	return w->err;
}

int
rs_backup_finish(rs_backup_writer *w, rs_backup_info *info)
{
	char trailer[128];

	if (w->err != RS_OK)
		return w->err;
	info->bytes = w->bytes;
	rs_sha256_final_hex(&w->sha, info->digest);
	snprintf(trailer, sizeof(trailer), "END %s %" PRIu64 "\n",
	    info->digest, info->bytes);
	if (fwrite(trailer, 1, strlen(trailer), w->f) != strlen(trailer)
	    || fflush(w->f) != 0)
		w->err = RS_EIO;
	return w->err;
}

void
rs_backup_writer_destroy(rs_backup_writer *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w);
}

/* ---- reading ----------------------------------------------------------*/

static int fail(rs_backup_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(rs_backup_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return RS_EPROTO;
}

/* Reads exactly n bytes into the digest; false at EOF or an error. */
static bool
take(rs_backup_reader *r, void *data, size_t n)
{
	if (fread(data, 1, n, r->f) != n)
		return false;
	rs_sha256_update(&r->sha, data, n);
	r->bytes += n;
	return true;
}

/* One line (without '\n') of at most max bytes into r->buf. */
static int
take_line(rs_backup_reader *r, size_t max, const char *what)
{
	size_t n = 0;
	int c;

	while ((c = fgetc(r->f)) != EOF && c != '\n') {
		if (n + 2 > r->cap || n >= max)
			return fail(r,
			    "%s is longer than %zu bytes: not a "
			    "RideShare backup",
			    what, max);
		r->buf[n++] = (uint8_t) c;
	}
	if (c == EOF)
		return fail(r, "truncated: the file ends inside the %s", what);
	r->buf[n] = '\0';
	rs_sha256_update(&r->sha, r->buf, n);
	rs_sha256_update(&r->sha, "\n", 1);
	r->bytes += n + 1;
	return RS_OK;
}

static bool
get_u64(json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*v = (uint64_t) json_integer_value(j);
	return true;
}

static int
parse_header(rs_backup_reader *r, rs_backup_info *info)
{
	json_error_t jerr;
	json_t *h
	    = json_loads((const char *) r->buf, JSON_REJECT_DUPLICATES, &jerr);
	json_t *tables = json_object_get(h, "tables");
	const char *s;
	uint64_t fmt = 0, ms = 0;
	int rc = RS_OK;

	if (!json_is_object(h)) {
		json_decref(h);
		return fail(r, "header is not a JSON object: %s", jerr.text);
	}
	if (!get_u64(h, "format", &fmt) || !get_u64(h, "seq", &info->seq)
	    || !get_u64(h, "epoch", &info->epoch)
	    || !get_u64(h, "next_ride_id", &info->next_ride_id)
	    || !get_u64(h, "created_ms", &ms) || !json_is_array(tables))
		rc = fail(r,
		    "header lacks format, seq, epoch, next_ride_id, "
		    "created_ms or tables");
	else if (fmt != RS_BACKUP_FORMAT)
		rc = fail(r,
		    "header says format %" PRIu64 ", this build reads %d", fmt,
		    RS_BACKUP_FORMAT);
	else if (json_array_size(tables) != (size_t) rs_db_ncopy_tables)
		rc = fail(r, "backup has %zu tables, this build's schema %d",
		    json_array_size(tables), rs_db_ncopy_tables);
	info->format = (int) fmt;
	info->created_ms = (int64_t) ms;
	info->ntables = rs_db_ncopy_tables;
	s = json_string_value(json_object_get(h, "created_at"));
	snprintf(info->created_at, sizeof(info->created_at), "%s",
	    s != NULL ? s : "");
	s = json_string_value(json_object_get(h, "source"));
	snprintf(info->source, sizeof(info->source), "%s", s != NULL ? s : "");
	for (int i = 0; rc == RS_OK && i < rs_db_ncopy_tables; i++) {
		json_t *t = json_array_get(tables, (size_t) i);
		const char *name
		    = json_string_value(json_object_get(t, "name"));
		const char *cols
		    = json_string_value(json_object_get(t, "columns"));

		if (name == NULL || cols == NULL
		    || strcmp(name, rs_db_copy_tables[i].name) != 0
		    || strcmp(cols, rs_db_copy_tables[i].columns) != 0
		    || !get_u64(t, "rows", &info->rows[i]))
			rc = fail(r,
			    "table %d of the header is not %s (%s) with rows: "
			    "a backup of another schema",
			    i, rs_db_copy_tables[i].name,
			    rs_db_copy_tables[i].columns);
	}
	json_decref(h);
	return rc;
}

int
rs_backup_open(const char *path, rs_backup_reader **out, rs_backup_info *info,
    char *err, size_t errlen)
{
	rs_backup_reader *r = calloc(1, sizeof(*r));
	char magic[64];
	int rc;

	memset(info, 0, sizeof(*info));
	if (r == NULL || (r->buf = malloc(RS_BACKUP_HEADER_MAX + 2)) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return RS_ENOMEM;
	}
	r->cap = RS_BACKUP_HEADER_MAX + 2;
	rs_sha256_init(&r->sha);
	if ((r->f = fopen(path, "rb")) == NULL) {
		snprintf(
		    err, errlen, "cannot open %s: %s", path, strerror(errno));
		rs_backup_close(r);
		return RS_EIO;
	}
	snprintf(
	    magic, sizeof(magic), "%s %d", RS_BACKUP_MAGIC, RS_BACKUP_FORMAT);
	rc = take_line(r, 64, "first line");
	if (rc == RS_OK
	    && strncmp((const char *) r->buf, RS_BACKUP_MAGIC " ",
	           strlen(RS_BACKUP_MAGIC) + 1)
	        != 0)
		rc = fail(r, "not a RideShare backup (no \"%s\" line)",
		    RS_BACKUP_MAGIC);
	else if (rc == RS_OK && strcmp((const char *) r->buf, magic) != 0)
		rc = fail(r,
		    "unsupported backup format \"%s\" (this build "
		    "reads \"%s\")",
		    (const char *) r->buf, magic);
	if (rc == RS_OK)
		rc = take_line(r, RS_BACKUP_HEADER_MAX, "header");
	if (rc == RS_OK)
		rc = parse_header(r, info);
	if (rc != RS_OK) {
		snprintf(err, errlen, "%s", r->err);
		rs_backup_close(r);
		return rc;
	}
	r->ntables = info->ntables;
	*out = r;
	return RS_OK;
}

/* The trailer: "END <hex> <bytes>\n" matching what was read, then EOF. */
static int
check_trailer(rs_backup_reader *r)
{
	char line[128], want[65], hex[65];
	unsigned long long n = 0;
	uint64_t covered = r->bytes;
	size_t k = 0;
	int c;

	rs_sha256_final_hex(&r->sha, want);
	memcpy(r->digest, want, sizeof(want));
	while ((c = fgetc(r->f)) != EOF && c != '\n' && k + 1 < sizeof(line))
		line[k++] = (char) c;
	line[k] = '\0';
	if (c == EOF)
		return fail(r,
		    "truncated: the END line is missing or cut "
		    "after %" PRIu64 " bytes",
		    covered);
	if (sscanf(line, "END %64[0-9a-f] %llu", hex, &n) != 2
	    || strlen(hex) != 64)
		return fail(r,
		    "corrupt: expected the END line after the last "
		    "table, found other bytes");
	if ((uint64_t) n != covered)
		return fail(r,
		    "corrupt: END says %llu bytes, the file has %" PRIu64, n,
		    covered);
	if (strcmp(hex, want) != 0)
		return fail(r,
		    "corrupt: SHA-256 mismatch (END says %s, the "
		    "content hashes to %s)",
		    hex, want);
	if (fgetc(r->f) != EOF)
		return fail(r, "corrupt: bytes after the END line");
	return RS_ENOTFOUND;
}

int
rs_backup_next(rs_backup_reader *r, int *table, const void **data, size_t *n)
{
	uint8_t b[4];
	uint32_t len;

	r->err[0] = '\0';
	if (r->table >= r->ntables)
		return check_trailer(r);
	*table = r->table;
	if (!take(r, b, 4))
		return fail(r, "truncated: the file ends inside table %s",
		    rs_db_copy_tables[r->table].name);
	len = (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16
	    | (uint32_t) b[2] << 8 | b[3];
	if (len == 0) {
		r->table++;
		*n = 0;
		*data = NULL;
		return RS_OK;
	}
	if (len > RS_BACKUP_BLOCK_MAX)
		return fail(r, "corrupt: a block of %u bytes in table %s", len,
		    rs_db_copy_tables[r->table].name);
	if (len > r->cap) {
		uint8_t *nb = realloc(r->buf, len);
		if (nb == NULL)
			return fail(
			    r, "out of memory for a %u byte block", len);
		r->buf = nb;
		r->cap = len;
	}
	if (!take(r, r->buf, len))
		return fail(r, "truncated: the file ends inside table %s",
		    rs_db_copy_tables[r->table].name);
	*data = r->buf;
	*n = len;
	return RS_OK;
}

const char *
rs_backup_error(const rs_backup_reader *r)
{
	return r->err;
}

void
rs_backup_close(rs_backup_reader *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL)
		fclose(r->f);
	free(r->buf);
	free(r);
}

int
rs_backup_verify(
    const char *path, rs_backup_info *info, char *err, size_t errlen)
{
	rs_backup_reader *r;
	const void *data;
	size_t n;
	int table, rc;

	if ((rc = rs_backup_open(path, &r, info, err, errlen)) != RS_OK)
		return rc;
	while ((rc = rs_backup_next(r, &table, &data, &n)) == RS_OK)
		;
	if (rc == RS_ENOTFOUND) {
		memcpy(info->digest, r->digest, sizeof(info->digest));
		info->bytes = r->bytes;
		rc = RS_OK;
	} else {
		snprintf(err, errlen, "%s", r->err);
	}
	rs_backup_close(r);
	return rc;
}
