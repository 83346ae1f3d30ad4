/* rsctl_admin_target (admin_target.h). */
#include "admin_target.h"

#include "rs_err.h"

#include <curl/curl.h>

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

int
rsctl_admin_fetch(const char *path, const char *body, long timeout_ms,
    rsctl_sink_fn sink, void *sink_arg, long *status)
{
	char url[600], auth[RSCTL_AUTH_MAX];
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	CURL *c;

	if (rsctl_admin_target(path, url, sizeof(url), auth) != 0)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink_arg);
	if (auth[0] != '\0')
		hdrs = curl_slist_append(hdrs, auth);
	if (body != NULL) {
		hdrs = curl_slist_append(
		    hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	if (cc != CURLE_OK) {
		fprintf(
		    stderr, "rsctl: %s: %s\n", url, curl_easy_strerror(cc));
		return 2;
	}
	return 0;
}
