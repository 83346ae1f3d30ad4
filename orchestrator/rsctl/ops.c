#include "ops.h"
#include "rs_err.h"
#include "rs_pbjson.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char rsctl_usage_ops[]
    = "  add-user USER SHA1               add a user (password = 40 hex)\n"
      "  remove-user USER                 remove a user and their rides\n"
      "  list-users                       all usernames, in creation order\n"
      "  get-user USER                    one user\n"
      "  create-ride USER UNIX_TS SRC DST create a ride\n"
      "  list-rides SRC DST [AFTER]       rides SRC->DST with timestamp > "
      "AFTER\n"
      "  get-ride ID                      one ride with its users\n"
      "  join-ride ID USER                add USER to ride ID\n"
      "  delete-ride ID                   delete ride ID\n"
      "  count-rides                      number of rides\n"
      "  clear                            delete all users and rides\n"
      "  raw 'JSON'                       any DbRequest as proto3 JSON\n";

/* Decimal integer in [min, max], whole string. */
static int
num(const char *s, int64_t min, int64_t max, const char *what, int64_t *out,
    char *err, size_t errlen)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		snprintf(err, errlen,
		    "%s: \"%s\" is not an integer in [%" PRId64 ", %" PRId64
		    "]",
		    what, s, min, max);
		return RS_EINVAL;
	}
	*out = v;
	return RS_OK;
}

struct cmd {
	const char *name;
	const char *field; /* oneof field, JSON name */
	int min, max; /* argument counts */
};

static const struct cmd cmds[] = {
	{ "add-user", "add_user", 2, 2 },
	{ "remove-user", "remove_user", 1, 1 },
	{ "list-users", "list_users", 0, 0 },
	{ "get-user", "get_user", 1, 1 },
	{ "create-ride", "create_ride", 4, 4 },
	{ "list-rides", "list_rides", 2, 3 },
	{ "get-ride", "get_ride", 1, 1 },
	{ "join-ride", "join_ride", 2, 2 },
	{ "delete-ride", "delete_ride", 1, 1 },
	{ "count-rides", "count_rides", 0, 0 },
	{ "clear", "clear", 0, 0 },
	{ "raw", NULL, 1, 1 },
};

/* The op's fields as JSON, from the arguments. */
static int
fields(const struct cmd *c, char *const *a, json_t **out, char *err,
    size_t errlen)
{
	int64_t x, y, z = 0, id;
	const int64_t area = 2147483647; /* the gateway checks 1..198 */

	if (strcmp(c->field, "add_user") == 0) {
		*out = json_pack(
		    "{s:s, s:s}", "username", a[0], "password", a[1]);
	} else if (strcmp(c->field, "remove_user") == 0
	    || strcmp(c->field, "get_user") == 0) {
		*out = json_pack("{s:s}", "username", a[0]);
	} else if (strcmp(c->field, "create_ride") == 0) {
		if (num(a[1], INT64_MIN, INT64_MAX, "timestamp", &x, err,
		        errlen)
		    || num(a[2], -area - 1, area, "source", &y, err, errlen)
		    || num(
		        a[3], -area - 1, area, "destination", &z, err, errlen))
			return RS_EINVAL;
		*out = json_pack("{s:s, s:I, s:I, s:I}", "created_by", a[0],
		    "timestamp", (json_int_t) x, "source", (json_int_t) y,
		    "destination", (json_int_t) z);
	} else if (strcmp(c->field, "list_rides") == 0) {
		if (num(a[0], -area - 1, area, "source", &x, err, errlen)
		    || num(
		        a[1], -area - 1, area, "destination", &y, err, errlen)
		    || (a[2] != NULL
		        && num(a[2], INT64_MIN, INT64_MAX, "after", &z, err,
		            errlen)))
			return RS_EINVAL;
		*out = json_pack("{s:I, s:I, s:I}", "source", (json_int_t) x,
		    "destination", (json_int_t) y, "after", (json_int_t) z);
	} else if (strcmp(c->field, "get_ride") == 0
	    || strcmp(c->field, "delete_ride") == 0) {
		if (num(a[0], INT64_MIN, INT64_MAX, "ride id", &id, err,
		        errlen))
			return RS_EINVAL;
		*out = json_pack("{s:I}", "ride_id", (json_int_t) id);
	} else if (strcmp(c->field, "join_ride") == 0) {
		if (num(a[0], INT64_MIN, INT64_MAX, "ride id", &id, err,
		        errlen))
			return RS_EINVAL;
		*out = json_pack("{s:I, s:s}", "ride_id", (json_int_t) id,
		    "username", a[1]);
	} else {
		*out = json_object();
	}
	if (*out == NULL) {
		snprintf(err, errlen, "arguments must be UTF-8 text");
		return RS_EINVAL;
	}
	return RS_OK;
}

int
rsctl_build(const char *cmd, int nargs, char *const *args,
    Rideshare__DbRequest **out, char *err, size_t errlen)
{
	const struct cmd *c = NULL;
	char *const *a = args;
	char *pad[4] = { NULL, NULL, NULL, NULL };
	ProtobufCMessage *m = NULL;
	json_t *j, *f;
	int rv;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, cmd) == 0)
			c = &cmds[i];
	}
	if (c == NULL) {
		snprintf(err, errlen, "unknown command \"%s\"", cmd);
		return RS_ENOTFOUND;
	}
	if (nargs < c->min || nargs > c->max) {
		if (c->min == c->max)
			snprintf(err, errlen, "%s takes %d argument%s, got %d",
			    cmd, c->min, c->min == 1 ? "" : "s", nargs);
		else
			snprintf(err, errlen,
			    "%s takes %d to %d arguments, got %d", cmd, c->min,
			    c->max, nargs);
		return RS_EINVAL;
	}
	/* Optional trailing arguments read as NULL. */
	for (int i = 0; i < nargs && i < 4; i++)
		pad[i] = args[i];
	a = pad;
	if (c->field == NULL) {
		char why[256];
		if (rs_pbjson_decode_request(
		        a[0], strlen(a[0]), out, why, sizeof(why))
		    != 0) {
			snprintf(err, errlen, "raw: %s", why);
			return RS_EINVAL;
		}
		return RS_OK;
	} else {
		if ((rv = fields(c, a, &f, err, errlen)) != RS_OK)
			return rv;
		j = json_object();
		json_object_set_new(j, c->field, f);
	}
	rv = rs_pbjson_decode(
	    &rideshare__db_request__descriptor, j, &m, err, errlen);
	json_decref(j);
	if (rv != RS_OK)
		return RS_EINVAL;
	*out = (Rideshare__DbRequest *) m;
	return RS_OK;
}
