#include "notice.h"
#include "rs_contract.h"

#include "rs_err.h"
#include "rs_notice.h"
#include "rs_log.h"
#include "rs_nng.h"
#include "rs_thread.h"
#include "rs_time.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_PERIOD_MS 500

struct rs_worker_notice {
	nng_socket pub;
	nng_socket sub;
	bool have_sub;
	char id[128];
	rs_thread thr; /* run(): publishes status, follows the master */
	pthread_mutex_t mu; /* guards role, follow_url, follow_pending */
	char role[16];
	char follow_url[256];
	bool follow_pending;
	_Atomic uint64_t applied_seq;
	_Atomic uint64_t epoch;
	_Atomic uint64_t master_head;
	rs_notice_reads reads; /* guarded by mu */
	atomic_bool reads_on;
	rs_notice_commits commits; /* guarded by mu */
	atomic_bool commits_on;
};

static void
publish_status(rs_worker_notice *n)
{
	char role[16], line[256];

	pthread_mutex_lock(&n->mu);
	memcpy(role, n->role, sizeof(role));
	pthread_mutex_unlock(&n->mu);
	if (rs_notice_format_status(line, sizeof(line), n->id, role,
	        atomic_load(&n->applied_seq), atomic_load(&n->epoch))
	    == RS_OK)
		(void) rs_nng_send_str(n->pub, line);
	if (atomic_load(&n->reads_on)) {
		rs_notice_reads r;
		pthread_mutex_lock(&n->mu);
		r = n->reads;
		pthread_mutex_unlock(&n->mu);
		if (rs_notice_format_reads(line, sizeof(line), n->id, &r)
		    == RS_OK)
			(void) rs_nng_send_str(n->pub, line);
	}
	if (atomic_load(&n->commits_on)) {
		rs_notice_commits c;
		pthread_mutex_lock(&n->mu);
		c = n->commits;
		pthread_mutex_unlock(&n->mu);
		if (rs_notice_format_commits(line, sizeof(line), n->id, &c)
		    == RS_OK)
			(void) rs_nng_send_str(n->pub, line);
	}
}

/* Swaps the SUB socket when a new master URL was given. Runs on the notice
 * thread only, so no receive is in progress on the old socket. */
static void
refollow(rs_worker_notice *n)
{
	char url[256];

	pthread_mutex_lock(&n->mu);
	bool pending = n->follow_pending;
	memcpy(url, n->follow_url, sizeof(url));
	n->follow_pending = false;
	pthread_mutex_unlock(&n->mu);
	if (!pending)
		return;
	if (n->have_sub) {
		nng_close(n->sub);
		n->have_sub = false;
	}
	atomic_store(&n->master_head, 0);
	if (url[0] == '\0' || rs_nng_sub_open(&n->sub) != RS_OK)
		return;
	n->have_sub = true;
	if (rs_nng_sub_dial(n->sub, url) != RS_OK)
		rs_warn(NULL, "event=nng_follow_failed url=%s", url);
}

static void *
run(void *arg)
{
	rs_worker_notice *n = arg;
	int64_t next = rs_time_now_ms();
	char line[256];

	while (!rs_thread_stopping(&n->thr)) {
		int64_t now = rs_time_now_ms();
		if (now >= next) {
			publish_status(n);
			next = now + STATUS_PERIOD_MS;
		}
		refollow(n);
		int wait = (int) (next - now);
		if (wait > 100)
			wait = 100;
		if (wait < 1)
			wait = 1;
		if (!n->have_sub) {
			rs_time_sleep_ms(wait);
			continue;
		}
		if (rs_nng_recv_str(n->sub, line, sizeof(line), wait) != RS_OK)
			continue;
		rs_notice nt;
		if (rs_notice_parse(line, &nt) == RS_NOTICE_HEAD
		    && nt.seq > atomic_load(&n->master_head))
			atomic_store(&n->master_head, nt.seq);
	}
	return NULL;
}

/* Also rs_worker_notice_create's unwind once the publisher is open (its
 * thread may not have started). */
void
rs_worker_notice_destroy(rs_worker_notice *n)
{
	if (n == NULL)
		return;
	rs_thread_stop(&n->thr);
	if (n->have_sub)
		nng_close(n->sub);
	nng_close(n->pub);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

int
rs_worker_notice_create(const char *host, const char *worker_id, char *url,
    size_t urllen, rs_worker_notice **out)
{
	rs_worker_notice *n = calloc(1, sizeof(*n));
	int rc;

	if (n == NULL)
		return RS_ENOMEM;
	snprintf(n->id, sizeof(n->id), "%s", worker_id);
	snprintf(n->role, sizeof(n->role), RS_ROLE_CANDIDATE);
	pthread_mutex_init(&n->mu, NULL);
	if ((rc = rs_nng_pub_open(host, &n->pub, url, urllen)) != RS_OK) {
		pthread_mutex_destroy(&n->mu);
		free(n);
		return rc;
	}
	if ((rc = rs_thread_start(&n->thr, run, n)) != RS_OK) {
		rs_worker_notice_destroy(n);
		return rc;
	}
	*out = n;
	return RS_OK;
}

void
rs_worker_notice_set(rs_worker_notice *n, const char *role,
    uint64_t applied_seq, uint64_t epoch)
{
	pthread_mutex_lock(&n->mu);
	snprintf(n->role, sizeof(n->role), "%s", role);
	pthread_mutex_unlock(&n->mu);
	atomic_store(&n->applied_seq, applied_seq);
	atomic_store(&n->epoch, epoch);
}

void
rs_worker_notice_set_reads(rs_worker_notice *n, const rs_notice_reads *r)
{
	pthread_mutex_lock(&n->mu);
	n->reads = *r;
	pthread_mutex_unlock(&n->mu);
	atomic_store(&n->reads_on, true);
}

void
rs_worker_notice_set_commits(rs_worker_notice *n, const rs_notice_commits *c)
{
	pthread_mutex_lock(&n->mu);
	n->commits = *c;
	pthread_mutex_unlock(&n->mu);
	atomic_store(&n->commits_on, true);
}

void
rs_worker_notice_head(rs_worker_notice *n, uint64_t epoch, uint64_t seq)
{
	char line[64];
	if (rs_notice_format_head(line, sizeof(line), epoch, seq) == RS_OK)
		(void) rs_nng_send_str(n->pub, line);
}

void
rs_worker_notice_follow(rs_worker_notice *n, const char *url)
{
	pthread_mutex_lock(&n->mu);
	snprintf(n->follow_url, sizeof(n->follow_url), "%s", url ? url : "");
	n->follow_pending = true;
	pthread_mutex_unlock(&n->mu);
}

uint64_t
rs_worker_notice_master_head(rs_worker_notice *n)
{
	return atomic_load(&n->master_head);
}
