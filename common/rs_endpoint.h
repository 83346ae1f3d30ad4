/* Endpoints and the admin token from the environment, for every client
 * of a stack (the orchestrator, rsctl). Ports: the variable's own value,
 * else RIDESHARE_PORT_BASE + offset, else the default (docs/conventions.md
 * "Ports"). */
#ifndef RS_ENDPOINT_H
#define RS_ENDPOINT_H

#include <stddef.h>

#define RS_ADMIN_TOKEN_MIN 16
#define RS_ADMIN_TOKEN_MAX 4096

/* A port number: var when set (1..65535, else exit 2), else
 * RIDESHARE_PORT_BASE + offset when the base is set, else def. */
int rs_endpoint_port(const char *var, int offset, int def);
/* The AMQP URL: RIDESHARE_AMQP_URL (or _FILE), else built from
 * RIDESHARE_AMQP_PORT or RIDESHARE_PORT_BASE + 21 (guest, for a bare
 * broker of one's own). */
void rs_endpoint_amqp_url(char *out, size_t len);
/* The admin URL: RIDESHARE_ADMIN_URL, else from RIDESHARE_ADMIN_PORT or
 * RIDESHARE_PORT_BASE + 10. */
void rs_endpoint_admin_url(char *out, size_t len);

/* The admin API token: RIDESHARE_ADMIN_TOKEN, else the contents of the
 * file named by RIDESHARE_ADMIN_TOKEN_FILE (trailing newline/blanks
 * dropped). RS_OK with out (len >= RS_ADMIN_TOKEN_MAX + 1) filled and *var
 * naming its variable; RS_ENOTFOUND when neither is set; RS_EINVAL when
 * both are set, the file cannot be read, or the token is not 16..4096
 * visible ASCII characters (why says which, *var names the variable). */
int rs_endpoint_admin_token(
    char *out, size_t len, const char **var, char *why, size_t whylen);

#endif
