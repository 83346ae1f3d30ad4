/* rsctl's command line -> DbRequest. Pure (unit-tested in ops_test.c). */
#ifndef RSCTL_OPS_H
#define RSCTL_OPS_H

#include "rideshare.pb-c.h"

#include <stddef.h>

/* Builds the DbRequest for command cmd with its nargs arguments (e.g.
 * "add-user", {"alice", "<sha1>"}). On RS_OK *out is owned by the caller
 * (rideshare__db_request__free_unpacked); request_id is left empty. On
 * RS_EINVAL err holds a reason (bad arguments); RS_ENOTFOUND: no such
 * command. */
int rsctl_build(const char *cmd, int nargs, char *const *args,
    Rideshare__DbRequest **out, char *err, size_t errlen);

/* The usage text of every database command. */
extern const char rsctl_usage_ops[];

#endif
