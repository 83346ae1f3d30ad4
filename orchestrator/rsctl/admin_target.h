/* Where rsctl's admin API calls go and with which credentials: the one
 * place rsctl reads the admin URL and token (common/rs_endpoint). */
#ifndef RSCTL_ADMIN_TARGET_H
#define RSCTL_ADMIN_TARGET_H

#include "rs_endpoint.h"

#include <stddef.h>

/* Size of an auth buffer for rsctl_admin_target. */
#define RSCTL_AUTH_MAX (RS_ADMIN_TOKEN_MAX + 32)

/* url (urllen bytes) = RIDESHARE_ADMIN_URL + path; auth (RSCTL_AUTH_MAX
 * bytes) = "Authorization: Bearer <token>" when RIDESHARE_ADMIN_TOKEN or
 * RIDESHARE_ADMIN_TOKEN_FILE is set, "" when neither is. Returns 0, or 2
 * (rsctl's usage/config exit code) after printing why the token cannot be
 * read. */
int rsctl_admin_target(const char *path, char *url, size_t urllen, char *auth);

#endif
