/* Scheduled backups and their retention (backup_sched.h). */
#include "backup_sched.h"

#include "rs_buf.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_stop.h"
#include "rs_thread.h"
#include "rs_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "rideshare-"
#define SUFFIX ".rsbackup"

struct rs_orch_backup_sched {
	rs_orch_backup *b;
	const char *dir;
	long every_s;
	int keep;
	rs_thread thr;
	rs_stop stop; /* wakes run() from its wait between backups */
};

void
rs_orch_backup_name(int64_t created_ms, uint64_t seq, char *out, size_t len)
{
	time_t s = (time_t) (created_ms / 1000);
	struct tm tm;
	char ts[32];

	gmtime_r(&s, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%S", &tm);
	snprintf(out, len, PREFIX "%s.%03dZ-seq%" PRIu64 SUFFIX, ts,
	    (int) (created_ms % 1000), seq);
}

static bool
is_backup_name(const char *n)
{
	size_t len = strlen(n);

	return strncmp(n, PREFIX, strlen(PREFIX)) == 0
	    && len > strlen(PREFIX) + strlen(SUFFIX)
	    && strcmp(n + len - strlen(SUFFIX), SUFFIX) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
rs_orch_backup_prune(const char *dir, int keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	int deleted = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (!is_backup_name(e->d_name))
			continue;
		char **nn = rs_grow(names, &cap, n, sizeof(*nn), 16);
		if (nn == NULL)
			break;
		names = nn;
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (i + (size_t) keep < n) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (unlink(path) == 0) {
				deleted++;
				rs_info(
				    NULL, "event=backup_pruned file=%s", path);
			}
		}
		free(names[i]);
	}
	free(names);
	return deleted;
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		(void) fsync(fd);
		close(fd);
	}
}

/* One scheduled backup: .part, fsync, rename, prune. */
static void
take_one(rs_orch_backup_sched *s)
{
	char part[4096], path[4096], name[160], err[512];
	rs_backup_info info;
	int64_t t0 = rs_time_now_ms();
	FILE *f;
	int rc;

	snprintf(
	    part, sizeof(part), "%s/.backup-%d.part", s->dir, (int) getpid());
	/* 0600: it holds every user's password hash. */
	int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (f = fdopen(fd, "wb")) == NULL) {
		if (fd >= 0)
			close(fd);
		rs_warn(NULL, "event=backup_failed to=dir file=%s err=\"%s\"",
		    part, strerror(errno));
		return;
	}
	rc = rs_orch_backup_take(s->b, f, &info, err, sizeof(err));
	if (rc == RS_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = RS_EIO;
	}
	if (fclose(f) != 0 && rc == RS_OK) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = RS_EIO;
	}
	if (rc == RS_OK) {
		rs_orch_backup_name(
		    info.created_ms, info.seq, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", s->dir, name);
		if (rename(part, path) != 0) {
			snprintf(
			    err, sizeof(err), "rename: %s", strerror(errno));
			rc = RS_EIO;
		}
	}
	if (rc != RS_OK) {
		unlink(part);
		rs_warn(NULL, "event=backup_failed to=dir err=%s why=\"%s\"",
		    rs_strerror(rc), err);
		return;
	}
	fsync_dir(s->dir);
	rs_info(NULL,
	    "event=backup_taken to=dir file=%s seq=%" PRIu64 " epoch=%" PRIu64
	    " bytes=%" PRIu64 " sha256=%s ms=%lld",
	    path, info.seq, info.epoch, info.bytes, info.digest,
	    (long long) (rs_time_now_ms() - t0));
	(void) rs_orch_backup_prune(s->dir, s->keep);
}

static void *
run(void *arg)
{
	rs_orch_backup_sched *s = arg;

	while (rs_stop_sleep_ms(&s->stop, (int64_t) s->every_s * 1000))
		take_one(s);
	return NULL;
}

/* Also rs_orch_backup_sched_start's unwind once the signal exists (the
 * thread may not have started). */
void
rs_orch_backup_sched_stop(rs_orch_backup_sched *s)
{
	if (s == NULL)
		return;
	rs_stop_signal(&s->stop);
	rs_thread_join(&s->thr); /* a backup in progress finishes first */
	rs_stop_fini(&s->stop);
	free(s);
}

int
rs_orch_backup_sched_start(rs_orch_backup *b, rs_orch_backup_sched **out)
{
	const char *dir = rs_cfg_str("RIDESHARE_BACKUP_DIR", NULL);
	rs_orch_backup_sched *s;

	*out = NULL;
	if (dir == NULL || *dir == '\0')
		return RS_OK;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return RS_ENOMEM;
	s->b = b;
	s->dir = dir;
	s->every_s = rs_cfg_long("RIDESHARE_BACKUP_EVERY_S",
	    RS_ORCH_BACKUP_EVERY_S, 1, 366L * 86400);
	s->keep = (int) rs_cfg_long(
	    "RIDESHARE_BACKUP_KEEP", RS_ORCH_BACKUP_KEEP, 1, 100000);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rs_error(NULL, "event=backup_dir_failed dir=%s err=\"%s\"",
		    dir, strerror(errno));
		free(s);
		return RS_EIO;
	}
	rs_stop_init(&s->stop);
	if (rs_thread_start(&s->thr, run, s) != RS_OK) {
		rs_orch_backup_sched_stop(s);
		return RS_ENOMEM;
	}
	rs_info(NULL, "event=backup_schedule dir=%s every_s=%ld keep=%d", dir,
	    s->every_s, s->keep);
	*out = s;
	return RS_OK;
}
