/* rsctl backup / restore (backup.h). */
#include "backup.h"

#include "admin_target.h"

#include "rs_backup.h"
#include "rs_buf.h"
#include "rs_cfg.h"
#include "rs_db.h"
#include "rs_endpoint.h"
#include "rs_err.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_BAD   1
#define EXIT_USAGE 2

const char rsctl_usage_backup[]
    = "  backup FILE                      a backup of the data at one seq\n"
      "                                   into FILE (admin API, token)\n"
      "  restore FILE                     load FILE into the running "
      "cluster,\n"
      "                                   which must hold no data yet (admin\n"
      "                                   API, token; 409 when it has data)\n"
      "  restore --check FILE             only check FILE (loads nothing)\n";

/* Prints info as one JSON object (file: where it is). */
static void
print_info(const char *file, const rs_backup_info *info)
{
	json_t *rows = json_object();
	char *text;

	for (int i = 0; i < info->ntables; i++)
		json_object_set_new(rows, rs_db_copy_tables[i].name,
		    json_integer((json_int_t) info->rows[i]));
	json_t *j
	    = json_pack("{s:s, s:i, s:I, s:I, s:I, s:s, s:s, s:o, s:I, s:s}",
	        "file", file, "format", info->format, "seq",
	        (json_int_t) info->seq, "epoch", (json_int_t) info->epoch,
	        "next_ride_id", (json_int_t) info->next_ride_id, "created_at",
	        info->created_at, "source", info->source, "rows", rows,
	        "bytes", (json_int_t) info->bytes, "sha256", info->digest);
	text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(j);
}

static size_t
to_file(char *data, size_t size, size_t nmemb, void *arg)
{
	return fwrite(data, size, nmemb, arg) * size;
}

/* GET /api/v1/backup into f. RS_OK with *status; else EXIT_USAGE printed. */
static int
download(FILE *f, long *status)
{
	/* The orchestrator sends nothing until its snapshot is spooled. */
	return rsctl_admin_fetch("/api/v1/backup", NULL,
	    rs_cfg_long(
	        "RIDESHARE_BACKUP_TIMEOUT_MS", 600000, 1000, 86400000L),
	    to_file, f, status);
}

/* The error body of a non-200 answer, to stderr. */
static void
print_error(const char *part, long status)
{
	char buf[1024];
	FILE *f = fopen(part, "rb");
	size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	buf[n] = '\0';
	if (f != NULL)
		fclose(f);
	fprintf(stderr, "rsctl: backup: HTTP %ld: %s\n", status, buf);
}

int
rsctl_backup(int argc, char **argv)
{
	char part[PATH_MAX], err[512];
	rs_backup_info info;
	long status = 0;
	FILE *f;
	int fd, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: rsctl backup FILE\n");
		return EXIT_USAGE;
	}
	snprintf(part, sizeof(part), "%s.part", argv[1]);
	/* 0600: it holds every user's password hash. */
	fd = open(part, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (f = fdopen(fd, "wb")) == NULL) {
		if (fd >= 0)
			close(fd);
		fprintf(
		    stderr, "rsctl: backup: %s: %s\n", part, strerror(errno));
		return EXIT_USAGE;
	}
	rc = download(f, &status);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fprintf(
		    stderr, "rsctl: backup: %s: %s\n", part, strerror(errno));
		rc = EXIT_USAGE;
	}
	fclose(f);
	if (rc == RS_OK && status != 200) {
		print_error(part, status);
		rc = EXIT_BAD;
	}
	/* What arrived must be a whole backup, or it is not kept. */
	if (rc == RS_OK
	    && rs_backup_verify(part, &info, err, sizeof(err)) != RS_OK) {
		fprintf(stderr,
		    "rsctl: backup: the file received is not "
		    "a good backup: %s\n",
		    err);
		rc = EXIT_BAD;
	}
	if (rc == RS_OK && rename(part, argv[1]) != 0) {
		fprintf(stderr, "rsctl: backup: rename to %s: %s\n", argv[1],
		    strerror(errno));
		rc = EXIT_USAGE;
	}
	if (rc != RS_OK) {
		unlink(part);
		return rc;
	}
	print_info(argv[1], &info);
	return 0;
}

/* The --check form: FILE verified locally, nothing loaded. */
static int
check_only(const char *file)
{
	char err[512], abs[PATH_MAX];
	rs_backup_info info;

	if (rs_backup_verify(file, &info, err, sizeof(err)) != RS_OK) {
		fprintf(stderr, "rsctl: restore: %s cannot be restored: %s\n",
		    file, err);
		return EXIT_BAD;
	}
	if (realpath(file, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", file);
	print_info(abs, &info);
	fprintf(stderr,
	    "rsctl: restore: %s is a complete backup at seq %" PRIu64
	    ". Load it with `rsctl restore %s` into a running, empty\n"
	    "cluster, or start a fresh stack with RIDESHARE_RESTORE_FROM=%s\n"
	    "(docs/operations.md \"Backup and restore\").\n",
	    file, info.seq, file, abs);
	return 0;
}

static size_t
to_buf(char *data, size_t size, size_t nmemb, void *arg)
{
	return rs_buf_append(arg, data, size * nmemb) == RS_OK ? size * nmemb
	                                                       : 0;
}

/* POST /api/v1/restore with FILE as the body; prints the answer. */
static int
upload(const char *file)
{
	char url[600], auth[RSCTL_AUTH_MAX];
	struct curl_slist *hdrs = NULL;
	rs_buf out = RS_BUF_INIT;
	long status = 0;
	struct stat st;
	CURLcode cc;
	FILE *f;
	CURL *c;
	int rv;

	if (rsctl_admin_target("/api/v1/restore", url, sizeof(url), auth) != 0)
		return EXIT_USAGE;
	if ((f = fopen(file, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(
		    stderr, "rsctl: restore: %s: %s\n", file, strerror(errno));
		if (f != NULL)
			fclose(f);
		return EXIT_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READDATA, f);
	curl_easy_setopt(
	    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) st.st_size);
	/* The answer comes once the new master serves: the workers' start
	 * timeout and more. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    rs_cfg_long(
	        "RIDESHARE_BACKUP_TIMEOUT_MS", 600000, 1000, 86400000L));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	hdrs = curl_slist_append(
	    hdrs, "Content-Type: application/octet-stream");
	if (auth[0] != '\0')
		hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	fclose(f);
	rv = 0;
	if (cc != CURLE_OK) {
		fprintf(
		    stderr, "rsctl: %s: %s\n", url, curl_easy_strerror(cc));
		rv = EXIT_USAGE;
	} else if (status != 200) {
		fprintf(stderr, "rsctl: restore: HTTP %ld: %.*s\n", status,
		    (int) out.len, out.data != NULL ? out.data : "");
		rv = EXIT_BAD;
	} else {
		printf("%.*s\n", (int) out.len, out.data);
	}
	rs_buf_fini(&out);
	return rv;
}

int
rsctl_restore(int argc, char **argv)
{
	char err[512];
	rs_backup_info info;

	if (argc == 3 && strcmp(argv[1], "--check") == 0)
		return check_only(argv[2]);
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: rsctl restore [--check] FILE\n");
		return EXIT_USAGE;
	}
	/* A bad file is named here, before it is sent (the orchestrator
	 * checks it again). */
	if (rs_backup_verify(argv[1], &info, err, sizeof(err)) != RS_OK) {
		fprintf(stderr, "rsctl: restore: %s cannot be restored: %s\n",
		    argv[1], err);
		return EXIT_BAD;
	}
	return upload(argv[1]);
}
