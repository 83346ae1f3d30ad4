#include "rs_log.h"
#include "rs_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *component = "rideshare";
static enum rs_log_level threshold = RS_LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

int
rs_log_parse_level(const char *s, enum rs_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum rs_log_level) i;
			return RS_OK;
		}
	}
	return RS_EINVAL;
}

int
rs_log_init(const char *comp)
{
	const char *lvl = getenv("RIDESHARE_LOG_LEVEL");
	enum rs_log_level parsed;

	component = comp;
	if (lvl == NULL || *lvl == '\0')
		return RS_OK;
	if (rs_log_parse_level(lvl, &parsed) != RS_OK)
		return RS_EINVAL;
	threshold = parsed;
	return RS_OK;
}

void
rs_log_set_level(enum rs_log_level lvl)
{
	threshold = lvl;
}

int
rs_log_enabled(enum rs_log_level lvl)
{
	return lvl >= threshold;
}

void
rs_log(enum rs_log_level lvl, const char *rid, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;
	va_list ap;

	if (!rs_log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s comp=%s rid=%s ",
	    ts.tv_nsec / 1000000, names[lvl], component,
	    (rid != NULL && *rid != '\0') ? rid : "-");
	if (k > 0)
		n += (size_t) k < sizeof(line) - n ? (size_t) k : sizeof(line) - n - 1;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t) k < sizeof(line) - n ? (size_t) k : sizeof(line) - n - 1;
	/* Keep one event on one line, even when a value carried a newline. */
	for (size_t i = 0; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void) !write(STDERR_FILENO, line, n);
}
