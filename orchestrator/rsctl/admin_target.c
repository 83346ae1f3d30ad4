/* rsctl_admin_target (admin_target.h). */
#include "admin_target.h"

#include "rs_err.h"

#include <stdio.h>

int
rsctl_admin_target(const char *path, char *url, size_t urllen, char *auth)
{
	char base[512], why[160], tok[RS_ADMIN_TOKEN_MAX + 1];
	const char *var;
	int rv = rs_endpoint_admin_token(
	    tok, sizeof(tok), &var, why, sizeof(why));

	if (rv == RS_EINVAL) {
		fprintf(stderr, "rsctl: %s: %s\n", var, why);
		return 2;
	}
	auth[0] = '\0';
	if (rv == RS_OK)
		snprintf(
		    auth, RSCTL_AUTH_MAX, "Authorization: Bearer %s", tok);
	rs_endpoint_admin_url(base, sizeof(base));
	snprintf(url, urllen, "%s%s", base, path);
	return 0;
}
