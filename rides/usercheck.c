/* Asks the users service (through the edge) whether a user exists. */
#include "usercheck.h"

#include "rs_err.h"
#include "rs_http.h"
#include "rs_log.h"
#include "rs_metrics.h"

#include "rideshare.pb-c.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *edge; /* without a trailing '/' */
static char *origin_hdr;
static long timeout;

static pthread_key_t curl_key;

/* rideshare_rides_user_checks_total{outcome="..."}: one family, three
 * outcomes. */
#define USER_CHECKS(outcome)                                                  \
	RS_METRIC("rideshare_rides_user_checks_total",                        \
	    "User existence checks through the edge, by outcome.", "counter", \
	    "outcome=\"" outcome "\"")
static rs_metric m_checks = USER_CHECKS("exists");
static rs_metric m_missing = USER_CHECKS("missing");
static rs_metric m_failed = USER_CHECKS("failed");

static void
curl_key_destroy(void *p)
{
	curl_easy_cleanup(p);
}

int
rides_usercheck_init(const char *edge_url, const char *origin, int timeout_ms)
{
	size_t n = strlen(edge_url);
	int k;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return RS_EIO;
	while (n > 0 && edge_url[n - 1] == '/')
		n--;
	edge = strndup(edge_url, n);
	k = snprintf(NULL, 0, "Origin: %s", origin);
	origin_hdr = malloc((size_t) k + 1);
	if (edge == NULL || origin_hdr == NULL)
		return RS_ENOMEM;
	snprintf(origin_hdr, (size_t) k + 1, "Origin: %s", origin);
	/* A little longer than the users service's own RPC timeout, so
	 * that its 504 arrives rather than our own timeout. */
	timeout = (long) timeout_ms + 1000;
	if (pthread_key_create(&curl_key, curl_key_destroy) != 0)
		return RS_ENOMEM;
	rs_metric_register(&m_checks);
	rs_metric_register(&m_missing);
	rs_metric_register(&m_failed);
	return RS_OK;
}

void
rides_usercheck_thread_fini(void)
{
	CURL *c = pthread_getspecific(curl_key);

	if (c != NULL) {
		pthread_setspecific(curl_key, NULL);
		curl_easy_cleanup(c);
	}
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

static CURL *
thread_curl(void)
{
	CURL *c = pthread_getspecific(curl_key);

	if (c != NULL)
		return c;
	c = curl_easy_init();
	if (c == NULL)
		return NULL;
	if (pthread_setspecific(curl_key, c) != 0) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

/* The consistency levels as X-RideShare-Consistency spells them. */
static const char *
level_name(int level)
{
	switch (level) {
	case RIDESHARE__CONSISTENCY__SESSION: return "session";
	case RIDESHARE__CONSISTENCY__ANY: return "any";
	default: return "linearizable";
	}
}

int
rides_user_exists(const char *rid, uint64_t min_seq, int level,
    const char *name, size_t len, int *exists)
{
	struct curl_slist *hdrs = NULL, *h;
	char ridhdr[160], err[CURL_ERROR_SIZE] = "";
	char seqhdr[64], levelhdr[64];
	char *enc, *url;
	long code = 0;
	CURL *c;
	CURLcode cc;
	size_t ulen;
	int rc;

	c = thread_curl();
	enc = rs_http_pct_encode(name, len);
	if (c == NULL || enc == NULL) {
		free(enc);
		return RS_ENOMEM;
	}
	ulen = strlen(edge) + strlen("/api/v1/users/") + strlen(enc) + 1;
	url = malloc(ulen);
	if (url == NULL) {
		free(enc);
		return RS_ENOMEM;
	}
	snprintf(url, ulen, "%s/api/v1/users/%s", edge, enc);
	free(enc);
	snprintf(ridhdr, sizeof(ridhdr), "X-Request-Id: %s", rid);
	hdrs = curl_slist_append(NULL, origin_hdr);
	if (hdrs != NULL && (h = curl_slist_append(hdrs, ridhdr)) != NULL)
		hdrs = h;
	if (hdrs != NULL
	    && (h = curl_slist_append(hdrs, "Accept: application/json"))
	        != NULL)
		hdrs = h;
	/* The caller's read options go along: a user created with Seq N is
	 * found by a ride request sent with Min-Seq N (read-your-writes
	 * across the services). */
	snprintf(
	    seqhdr, sizeof(seqhdr), "X-RideShare-Min-Seq: %" PRIu64, min_seq);
	snprintf(levelhdr, sizeof(levelhdr), "X-RideShare-Consistency: %s",
	    level_name(level));
	if (hdrs != NULL && (h = curl_slist_append(hdrs, seqhdr)) != NULL)
		hdrs = h;
	if (hdrs != NULL && (h = curl_slist_append(hdrs, levelhdr)) != NULL)
		hdrs = h;

	/* Options are re-set on every call: the handle (and its connection
	 * cache) is what we keep, not the previous request's state. */
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	free(url);

	if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = RS_ETIMEDOUT;
	} else if (cc != CURLE_OK) {
		rc = RS_ECONN;
	} else if (code == 200) {
		*exists = 1;
		rs_metric_add(&m_checks, 1);
		return RS_OK;
	} else if (code == 404) {
		*exists = 0;
		rs_metric_add(&m_missing, 1);
		return RS_OK;
	} else if (code == 504) {
		rc = RS_ETIMEDOUT; /* the users service's database timed out */
	} else if (code == 502 || code == 503) {
		rc = RS_ECONN;
	} else {
		rc = RS_EPROTO;
	}
	rs_metric_add(&m_failed, 1);
	rs_warn(rid, "event=user_check_failed curl=\"%s\" http_status=%ld",
	    cc != CURLE_OK ? (err[0] ? err : curl_easy_strerror(cc)) : "ok",
	    code);
	return rc;
}
