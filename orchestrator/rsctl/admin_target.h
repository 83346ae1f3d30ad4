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

/* Receives the answer's body as CURLOPT_WRITEFUNCTION does: returns the
 * bytes taken (size * nmemb, anything else aborts the transfer). */
typedef size_t (*rsctl_sink_fn)(
    char *data, size_t size, size_t nmemb, void *arg);

/* One call to the admin API at path (rsctl_admin_target's URL and token),
 * the body handed to sink(.., sink_arg). body NULL: a GET, else a POST of
 * that JSON. timeout_ms bounds the whole call. Returns 0 with the HTTP
 * status in *status (whatever it is), or 2 (usage/config exit code) after
 * printing why the call could not be made or answered. */
int rsctl_admin_fetch(const char *path, const char *body, long timeout_ms,
    rsctl_sink_fn sink, void *sink_arg, long *status);

#endif
