/* rsctl watch: follows GET /api/v1/changes (docs/operations.md "Change
 * feed"), printing each line as it arrives and resuming after the last
 * seq printed whenever the stream ends (orchestrator restart, network):
 * every seq once, in order, for as long as it runs. */
#include "watch.h"

#include "admin_target.h"

#include "rs_buf.h"
#include "rs_endpoint.h"
#include "rs_err.h"

#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_BUSINESS 1
#define EXIT_USAGE    2
/* Silence after which a stream counts as dead: the server sends an empty
 * line every RIDESHARE_CHANGES_HEARTBEAT_MS (15 s by default). */
#define SILENCE_S 60
/* Wait between attempts after a stream ends or is refused with 503. */
#define RETRY_MS 1000

typedef struct watch {
	CURL *curl;
	uint64_t last; /* seq of the last line printed */
	uint64_t until; /* 0: forever */
	bool done; /* until reached */
	int fatal; /* exit code once the server said no for good */
	long status;
	rs_buf line; /* partial line (200) or the error body */
} watch;

/* Handles one complete line of a 200 stream. */
static void
on_line(watch *w, const char *s, size_t n)
{
	json_error_t e;
	json_t *j;

	if (n == 0)
		return; /* keep-alive */
	j = json_loadb(s, n, 0, &e);
	if (j == NULL || !json_is_object(j)) {
		fprintf(stderr, "rsctl watch: not a JSON line: %.*s\n",
		    (int) n, s);
		w->fatal = EXIT_USAGE;
		json_decref(j);
		return;
	}
	json_t *seq = json_object_get(j, "seq");
	if (!json_is_integer(seq)) {
		/* The stream's last words ({"error", "code", "next_seq"}). */
		fprintf(stderr, "rsctl watch: %.*s\n", (int) n, s);
		w->fatal = EXIT_BUSINESS;
		json_decref(j);
		return;
	}
	uint64_t v = (uint64_t) json_integer_value(seq);
	json_decref(j);
	if (v != w->last + 1) {
		fprintf(stderr,
		    "rsctl watch: out of order: seq %" PRIu64 " after %" PRIu64
		    "\n",
		    v, w->last);
		w->fatal = EXIT_USAGE;
		return;
	}
	fwrite(s, 1, n, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	w->last = v;
	if (w->until != 0 && v >= w->until)
		w->done = true;
}

static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	watch *w = arg;
	size_t len = size * nmemb;

	if (w->status == 0)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &w->status);
	if (rs_buf_append(&w->line, data, len) != 0)
		return 0;
	if (w->status != 200)
		return len; /* an error body: printed at the end */
	char *nl;
	while (!w->done && w->fatal == 0
	    && (nl = memchr(w->line.data, '\n', w->line.len)) != NULL) {
		size_t n = (size_t) (nl - w->line.data);
		on_line(w, w->line.data, n);
		memmove(w->line.data, nl + 1, w->line.len - n - 1);
		w->line.len -= n + 1;
		w->line.data[w->line.len] = '\0';
	}
	return w->done || w->fatal != 0 ? 0 : len; /* 0 ends the transfer */
}

/* One stream from w->last. Returns -1 to go on (retry), else an exit
 * code. */
static int
attempt(watch *w, const char *base, const char *auth)
{
	char url[700];
	struct curl_slist *hdrs = NULL;
	CURLcode cc;

	snprintf(url, sizeof(url), "%s/api/v1/changes?since=%" PRIu64, base,
	    w->last);
	w->curl = curl_easy_init();
	w->status = 0;
	w->line.len = 0;
	if (w->line.data != NULL)
		w->line.data[0] = '\0';
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(w->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->curl, CURLOPT_LOW_SPEED_TIME, (long) SILENCE_S);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
	if (auth != NULL) {
		hdrs = curl_slist_append(hdrs, auth);
		curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdrs);
	}
	cc = curl_easy_perform(w->curl);
	if (w->status == 0)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &w->status);
	curl_easy_cleanup(w->curl);
	curl_slist_free_all(hdrs);
	if (w->done)
		return 0;
	if (w->fatal != 0)
		return w->fatal;
	if (w->status != 0 && w->status != 200) {
		fprintf(stderr, "rsctl watch: %ld %s\n", w->status,
		    w->line.data != NULL ? w->line.data : "");
		/* 503: failover, start-up or busy; anything else stays. */
		return w->status == 503                    ? -1
		    : w->status == 400 || w->status == 401 ? EXIT_USAGE
		                                           : EXIT_BUSINESS;
	}
	fprintf(stderr,
	    "rsctl watch: stream ended (%s) after seq %" PRIu64 ": resuming\n",
	    cc == CURLE_OK ? "closed by the server" : curl_easy_strerror(cc),
	    w->last);
	return -1;
}

int
rsctl_watch(int argc, char **argv)
{
	static const struct option opts[] = { { "since", 1, NULL, 's' },
		{ "until", 1, NULL, 'u' }, { NULL, 0, NULL, 0 } };
	char base[512], auth[RSCTL_AUTH_MAX];
	watch w;
	char *end;
	int o, rc;

	memset(&w, 0, sizeof(w));
	optind = 1;
	while ((o = getopt_long(argc, argv, "s:u:", opts, NULL)) != -1) {
		uint64_t *dst = o == 's' ? &w.last : &w.until;
		if (o != 's' && o != 'u')
			return EXIT_USAGE;
		*dst = strtoull(optarg, &end, 10);
		if (*optarg < '0' || *optarg > '9' || *end != '\0') {
			fprintf(stderr, "rsctl watch: --%s: a seq\n",
			    o == 's' ? "since" : "until");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr,
		    "usage: rsctl watch [--since SEQ] "
		    "[--until SEQ]\n");
		return EXIT_USAGE;
	}
	if (rsctl_admin_target("", base, sizeof(base), auth) != 0)
		return EXIT_USAGE;
	if (w.until != 0 && w.until <= w.last)
		return 0;
	const char *hdr = auth[0] != '\0' ? auth : NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	while ((rc = attempt(&w, base, hdr)) < 0)
		usleep(RETRY_MS * 1000);
	curl_global_cleanup();
	rs_buf_fini(&w.line);
	return rc;
}
