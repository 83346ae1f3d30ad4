#include "rs_cfg.h"
#include "rs_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

int
rs_cfg_parse_long(const char *value, long min, long max, long *out,
    char *err, size_t errlen)
{
	char *end;
	long v;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "empty, expected an integer in [%ld, %ld]", min, max);
		return RS_EINVAL;
	}
	/* strtol would accept leading blanks and '+': a port of " 8080" is
	 * a typo worth reporting, not a value. */
	if (!(*value == '-' || (*value >= '0' && *value <= '9'))) {
		snprintf(err, errlen, "not an integer in [%ld, %ld]", min, max);
		return RS_EINVAL;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || end == value) {
		snprintf(err, errlen, "not an integer in [%ld, %ld]", min, max);
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
	snprintf(err, errlen, "not a boolean (1/0, true/false, yes/no, on/off)");
	return RS_EINVAL;
}

void
rs_cfg_die(const char *name, const char *value, const char *why)
{
	fprintf(stderr, "config error: %s=\"%s\": %s\n", name, value ? value : "", why);
	exit(2);
}

const char *
rs_cfg_str(const char *name, const char *def)
{
	const char *v = getenv(name);

	return (v == NULL || *v == '\0') ? def : v;
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
