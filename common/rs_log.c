#include "rs_log.h"
#include "rs_err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *component = "rideshare";
static enum rs_log_level threshold = RS_LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };
static int json_format; /* RIDESHARE_LOG_FORMAT=json */

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

	const char *fmt = getenv("RIDESHARE_LOG_FORMAT");

	component = comp;
	json_format = fmt != NULL && strcmp(fmt, "json") == 0;
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

/* Appends s[0..len) to out as the inside of a JSON string. */
static size_t
json_str(char *out, size_t cap, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && n + 7 < cap; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char) c;
		} else if (c < 0x20) {
			n += (size_t) snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char) c;
		}
	}
	return n;
}

static bool
is_int(const char *s, size_t len)
{
	size_t i = s[0] == '-' ? 1 : 0;

	if (len == i || len > 18 || (s[i] == '0' && len > i + 1))
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

size_t
rs_log_kv_to_json(const char *kv, char *out, size_t cap)
{
	const char *p = kv;
	size_t n = 0;
	bool first = true;

	if (cap < 3)
		return 0;
	out[n++] = '{';
	while (*p != '\0' && n + 16 < cap) {
		const char *k, *v;
		size_t klen, vlen;
		bool quoted = false;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = p;
		klen = strcspn(p, "= ");
		if (p[klen] != '=' || klen == 0) {
			/* Not key=value: the rest is free text. */
			k = "msg";
			klen = 3;
			v = p;
			vlen = strlen(p);
			p += vlen;
		} else {
			p += klen + 1;
			if (*p == '"') {
				quoted = true;
				v = ++p;
				while (*p != '\0' && *p != '"') {
					if (*p == '\\' && p[1] != '\0')
						p++;
					p++;
				}
				vlen = (size_t) (p - v);
				if (*p == '"')
					p++;
			} else {
				v = p;
				vlen = strcspn(p, " ");
				p += vlen;
			}
		}
		if (!first)
			out[n++] = ',';
		first = false;
		out[n++] = '"';
		n = json_str(out, cap, n, k, klen);
		out[n++] = '"';
		out[n++] = ':';
		if (!quoted && is_int(v, vlen) && n + vlen + 2 < cap) {
			memcpy(out + n, v, vlen);
			n += vlen;
		} else {
			out[n++] = '"';
			/* Quoted values keep their \" escapes as plain '"'. */
			for (size_t i = 0; i < vlen && n + 8 < cap; i++) {
				if (quoted && v[i] == '\\' && i + 1 < vlen)
					i++;
				n = json_str(out, cap, n, v + i, 1);
			}
			out[n++] = '"';
		}
	}
	if (n + 2 > cap)
		n = cap - 2;
	out[n++] = '}';
	out[n] = '\0';
	return n;
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
	k = snprintf(line + n, sizeof(line) - n,
	    ".%03ldZ level=%s comp=%s rid=%s ", ts.tv_nsec / 1000000,
	    names[lvl], component, (rid != NULL && *rid != '\0') ? rid : "-");
	if (k > 0)
		n += (size_t) k < sizeof(line) - n ? (size_t) k
		                                   : sizeof(line) - n - 1;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t) k < sizeof(line) - n ? (size_t) k
		                                   : sizeof(line) - n - 1;
	/* Keep one event on one line, even when a value carried a newline. */
	for (size_t i = 0; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (json_format) {
		/* The same keys, one JSON object per line. */
		char js[4096];

		line[n] = '\0';
		n = rs_log_kv_to_json(line, js, sizeof(js) - 1);
		js[n++] = '\n';
		(void) !write(STDERR_FILENO, js, n);
		return;
	}
	line[n++] = '\n';
	(void) !write(STDERR_FILENO, line, n);
}
