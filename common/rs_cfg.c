#include "rs_cfg.h"
#include "rs_err.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

int
rs_cfg_parse_long(
    const char *value, long min, long max, long *out, char *err, size_t errlen)
{
	char *end;
	long v;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen,
		    "empty, expected an integer in [%ld, %ld]", min, max);
		return RS_EINVAL;
	}
	/* strtol would accept leading blanks and '+': a port of " 8080" is
	 * a typo worth reporting, not a value. */
	if (!(*value == '-' || (*value >= '0' && *value <= '9'))) {
		snprintf(
		    err, errlen, "not an integer in [%ld, %ld]", min, max);
		return RS_EINVAL;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || end == value) {
		snprintf(
		    err, errlen, "not an integer in [%ld, %ld]", min, max);
		return RS_EINVAL;
	}
	if (v < min || v > max) {
		snprintf(err, errlen, "out of range [%ld, %ld]", min, max);
		return RS_EINVAL;
	}
	*out = v;
	return RS_OK;
}

int
rs_cfg_parse_bool(const char *value, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; value != NULL && i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = 1;
			return RS_OK;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = 0;
			return RS_OK;
		}
	}
	snprintf(
	    err, errlen, "not a boolean (1/0, true/false, yes/no, on/off)");
	return RS_EINVAL;
}

void
rs_cfg_die(const char *name, const char *value, const char *why)
{
	fprintf(stderr, "config error: %s=\"%s\": %s\n", name,
	    value ? value : "", why);
	exit(2);
}

/* The value of NAME_FILE's file: its first line, without the newline.
 * Read once per variable and kept for the life of the process (a handful
 * of secrets). Exits 2 naming the variable when it cannot be read. */
static const char *
from_file(const char *name, const char *path)
{
	static struct {
		char name[64];
		char *value;
	} cache[16];
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	char var[80], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct stat st;
	FILE *f;

	snprintf(var, sizeof(var), "%s_FILE", name);
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < 16 && cache[i].value != NULL; i++) {
		if (strcmp(cache[i].name, name) == 0) {
			pthread_mutex_unlock(&mu);
			return cache[i].value;
		}
	}
	if ((f = fopen(path, "r")) == NULL) {
		pthread_mutex_unlock(&mu);
		rs_cfg_die(var, path, strerror(errno));
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077) != 0)
		fprintf(stderr,
		    "config warning: %s=\"%s\": readable by group or others "
		    "(chmod 600)\n",
		    var, path);
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		pthread_mutex_unlock(&mu);
		rs_cfg_die(var, path, "empty file");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	for (size_t i = 0; i < 16; i++) {
		if (cache[i].value == NULL) {
			snprintf(
			    cache[i].name, sizeof(cache[i].name), "%s", name);
			cache[i].value = line;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	return line; /* kept: lives as long as the process */
}

const char *
rs_cfg_str(const char *name, const char *def)
{
	const char *v = getenv(name);
	char var[80];

	if (v != NULL && *v != '\0')
		return v;
	snprintf(var, sizeof(var), "%s_FILE", name);
	v = getenv(var);
	if (v != NULL && *v != '\0') {
		v = from_file(name, v);
		return *v != '\0' ? v : def;
	}
	return def;
}

long
rs_cfg_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char why[128];
	long out;

	if (v == NULL || *v == '\0')
		return def;
	if (rs_cfg_parse_long(v, min, max, &out, why, sizeof(why)) != RS_OK)
		rs_cfg_die(name, v, why);
	return out;
}

int
rs_cfg_port(const char *name, int def)
{
	return (int) rs_cfg_long(name, def, 1, 65535);
}

int
rs_cfg_bool(const char *name, int def)
{
	const char *v = getenv(name);
	char why[128];
	int out;

	if (v == NULL || *v == '\0')
		return def;
	if (rs_cfg_parse_bool(v, &out, why, sizeof(why)) != RS_OK)
		rs_cfg_die(name, v, why);
	return out;
}
