/* Where a client finds the RideShare-C services, from the environment
 * (docs/conventions.md): shared by the orchestrator and rsctl. */
#include "rs_endpoint.h"

#include "rs_cfg.h"
#include "rs_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rs_endpoint_port(const char *var, int offset, int def)
{
	long base;

	if (getenv(var) != NULL && *getenv(var) != '\0')
		return rs_cfg_port(var, def);
	base = rs_cfg_long("RIDESHARE_PORT_BASE", 0, 0, 65535 - 30);
	return base > 0 ? (int) base + offset : def;
}

/* url_var when set; else prefix followed by the port port_of derives
 * from port_var, the port base + offset, or def. */
static void
url_of(char *out, size_t len, const char *url_var, const char *prefix,
    const char *port_var, int offset, int def)
{
	const char *u = rs_cfg_str(url_var, NULL);

	if (u != NULL)
		snprintf(out, len, "%s", u);
	else
		snprintf(out, len, "%s%d", prefix,
		    rs_endpoint_port(port_var, offset, def));
}

void
rs_endpoint_amqp_url(char *out, size_t len)
{
	url_of(out, len, "RIDESHARE_AMQP_URL",
	    "amqp://guest:guest@127.0.0.1:", "RIDESHARE_AMQP_PORT", 21, 8101);
}

void
rs_endpoint_admin_url(char *out, size_t len)
{
	url_of(out, len, "RIDESHARE_ADMIN_URL",
	    "http://127.0.0.1:", "RIDESHARE_ADMIN_PORT", 10, 8090);
}

/* Checks a token: RS_OK or RS_EINVAL with why. */
static int
token_valid(const char *t, size_t n, char *why, size_t whylen)
{
	if (n < RS_ADMIN_TOKEN_MIN || n > RS_ADMIN_TOKEN_MAX) {
		snprintf(why, whylen, "the token must be %d to %d characters",
		    RS_ADMIN_TOKEN_MIN, RS_ADMIN_TOKEN_MAX);
		return RS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		/* Visible ASCII: it travels in an HTTP header as is. */
		if ((unsigned char) t[i] < 0x21
		    || (unsigned char) t[i] > 0x7e) {
			snprintf(why, whylen,
			    "the token must be visible ASCII (no blanks, no "
			    "control or non-ASCII bytes)");
			return RS_EINVAL;
		}
	}
	return RS_OK;
}

int
rs_endpoint_admin_token(
    char *out, size_t len, const char **var, char *why, size_t whylen)
{
	/* getenv, not rs_cfg_str: that one would read the _FILE for the
	 * plain name too, and "both set" must mean both variables. */
	const char *tok = getenv("RIDESHARE_ADMIN_TOKEN");
	const char *path = getenv("RIDESHARE_ADMIN_TOKEN_FILE");

	if (tok != NULL && *tok == '\0')
		tok = NULL;
	if (path != NULL && *path == '\0')
		path = NULL;
	char buf[RS_ADMIN_TOKEN_MAX + 2];
	size_t n;
	FILE *f;

	*var = tok != NULL ? "RIDESHARE_ADMIN_TOKEN"
	                   : "RIDESHARE_ADMIN_TOKEN_FILE";
	if (tok != NULL && path != NULL) {
		snprintf(why, whylen,
		    "set RIDESHARE_ADMIN_TOKEN or RIDESHARE_ADMIN_TOKEN_FILE, "
		    "not both");
		return RS_EINVAL;
	}
	if (tok != NULL) {
		n = strlen(tok);
		if (token_valid(tok, n, why, whylen) != RS_OK)
			return RS_EINVAL;
		snprintf(out, len, "%s", tok);
		return RS_OK;
	}
	if (path == NULL)
		return RS_ENOTFOUND;
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(why, whylen, "cannot read %s", path);
		return RS_EINVAL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Editors and `echo` add a final newline; blanks never belong. */
	while (n > 0
	    && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '
	        || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (token_valid(buf, n, why, whylen) != RS_OK)
		return RS_EINVAL;
	snprintf(out, len, "%s", buf);
	return RS_OK;
}
