/* The backup file format without a server: a file written block by block
 * reads back the same, and every kind of damage is refused with a reason
 * (truncation anywhere, a flipped byte, bytes appended, another format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rs_backup.h"
#include "rs_db.h"
#include "rs_err.h"
#include "rs_sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

/* Writes a backup with table i holding (i + 1) * per bytes of pattern. */
static long
write_sample(size_t per)
{
	rs_backup_info info;
	rs_backup_writer *w;
	FILE *f = fopen(path, "wb");
	uint8_t *chunk = malloc(per);

	assert_non_null(f);
	assert_non_null(chunk);
	memset(&info, 0, sizeof(info));
	info.seq = 42;
	info.epoch = 3;
	info.next_ride_id = 7;
	snprintf(info.source, sizeof(info.source), "w-1");
	for (int i = 0; i < rs_db_ncopy_tables; i++)
		info.rows[i] = (uint64_t) i * 10;
	assert_int_equal(rs_backup_writer_create(f, &info, &w), RS_OK);
	for (int i = 0; i < rs_db_ncopy_tables; i++) {
		for (size_t k = 0; k < per; k++)
			chunk[k] = (uint8_t) (k * 7 + (size_t) i);
		for (int j = 0; j <= i; j++)
			assert_int_equal(
			    rs_backup_write(w, chunk, per), RS_OK);
		assert_int_equal(rs_backup_end_table(w), RS_OK);
	}
	assert_int_equal(rs_backup_finish(w, &info), RS_OK);
	rs_backup_writer_destroy(w);
	long size = ftell(f);
	fclose(f);
	free(chunk);
	return size;
}

static void
test_written_backup_reads_back_block_by_block(void **state)
{
	rs_backup_info info;
	rs_backup_reader *r;
	char err[256];
	const void *data;
	size_t n, got[RS_BACKUP_MAX_TABLES] = { 0 };
	int table, rc, ends = 0;
	size_t per = RS_BACKUP_BLOCK / 3 + 5; /* blocks cut mid-write */

	(void) state;
	write_sample(per);
	assert_int_equal(
	    rs_backup_open(path, &r, &info, err, sizeof(err)), RS_OK);
	assert_int_equal(info.seq, 42);
	assert_int_equal(info.epoch, 3);
	assert_int_equal(info.next_ride_id, 7);
	assert_string_equal(info.source, "w-1");
	assert_int_equal(info.rows[2], 20);
	while ((rc = rs_backup_next(r, &table, &data, &n)) == RS_OK) {
		if (n == 0) {
			assert_int_equal(table, ends);
			ends++;
			continue;
		}
		for (size_t k = 0; k < n; k++)
			assert_int_equal(((const uint8_t *) data)[k],
			    (uint8_t) ((got[table] + k) % per * 7
			        + (size_t) table));
		got[table] += n;
	}
	assert_int_equal(rc, RS_ENOTFOUND);
	assert_int_equal(ends, rs_db_ncopy_tables);
	for (int i = 0; i < rs_db_ncopy_tables; i++)
		assert_int_equal(got[i], per * (size_t) (i + 1));
	rs_backup_close(r);
	assert_int_equal(
	    rs_backup_verify(path, &info, err, sizeof(err)), RS_OK);
	assert_int_equal(strlen(info.digest), 64);
}

/* rs_backup_verify refuses the file at path as malformed (RS_EPROTO), and
 * its reason says why. */
static void
assert_refused(const char *why)
{
	rs_backup_info info;
	char err[256];

	assert_int_equal(
	    rs_backup_verify(path, &info, err, sizeof(err)), RS_EPROTO);
	assert_non_null(strstr(err, why));
}

static void
test_truncated_backup_is_refused_at_every_length(void **state)
{
	rs_backup_info info;
	char err[256];
	long size = write_sample(100);

	(void) state;
	/* Every cut, from nothing to one byte short of the trailer's end. */
	for (long len = size - 1; len >= 0; len -= (len > 400 ? 37 : 1)) {
		assert_int_equal(truncate(path, len), 0);
		assert_int_not_equal(
		    rs_backup_verify(path, &info, err, sizeof(err)), RS_OK);
		assert_true(strlen(err) > 0);
	}
}

static void
test_flipped_byte_is_a_digest_mismatch(void **state)
{
	long size = write_sample(1000);
	FILE *f;

	(void) state;
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, size / 2, SEEK_SET);
	int c = fgetc(f);
	fseek(f, size / 2, SEEK_SET);
	fputc(c ^ 0x01, f);
	fclose(f);
	assert_refused("SHA-256 mismatch");
}

static void
test_bytes_after_the_end_are_refused(void **state)
{
	FILE *f;

	(void) state;
	write_sample(10);
	f = fopen(path, "ab");
	fputs("x", f);
	fclose(f);
	assert_refused("after the END");
}

static void
test_other_files_and_formats_are_named(void **state)
{
	rs_backup_info info;
	char err[256];
	FILE *f = fopen(path, "wb");

	(void) state;
	fputs("PGDMP not ours\n", f);
	fclose(f);
	assert_refused("not a RideShare backup");
	f = fopen(path, "wb");
	fputs("RIDESHARE-BACKUP 9\n{}\n", f);
	fclose(f);
	assert_refused("unsupported backup format");
	assert_int_equal(
	    rs_backup_verify("/nonexistent/b", &info, err, sizeof(err)),
	    RS_EIO);
}

static void
test_incremental_sha256_matches_one_shot(void **state)
{
	static const char abc[] = "abc";
	uint8_t big[1000];
	char one[65], parts[65];
	rs_sha256 s;

	(void) state;
	rs_sha256_init(&s);
	rs_sha256_update(&s, abc, 3);
	rs_sha256_final_hex(&s, one);
	assert_string_equal(one,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"
	    "d");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t) i;
	rs_sha256_init(&s);
	rs_sha256_update(&s, big, sizeof(big));
	rs_sha256_final_hex(&s, one);
	rs_sha256_init(&s);
	for (size_t i = 0, step = 1; i < sizeof(big); i += step, step++)
		rs_sha256_update(&s, big + i,
		    i + step > sizeof(big) ? sizeof(big) - i : step);
	rs_sha256_final_hex(&s, parts);
	assert_string_equal(one, parts);
}

static int
setup(void **state)
{
	int fd;

	(void) state;
	snprintf(path, sizeof(path), "/tmp/rs_backup_test.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	unlink(path);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_written_backup_reads_back_block_by_block),
		cmocka_unit_test(
		    test_truncated_backup_is_refused_at_every_length),
		cmocka_unit_test(test_flipped_byte_is_a_digest_mismatch),
		cmocka_unit_test(test_bytes_after_the_end_are_refused),
		cmocka_unit_test(test_other_files_and_formats_are_named),
		cmocka_unit_test(test_incremental_sha256_matches_one_shot),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
