/* Monotonic reads across clients through the orchestrator with 3 slaves: a
 * history check for the "stale read after a fresh read" anomaly
 * (docs/orchestrator.md, "Routing and why reads are linearizable").
 *
 * WRITERS threads add users w<k>_<n> one after the other; READERS threads
 * read without pause until the writers are done. Before a write is sent its
 * n is published as in flight; after its reply, as acked (with the reply's
 * seq and receive time). A read targets a random writer j and asks for
 * either its latest acked user (must be found) or its in-flight one (may or
 * may not be found yet). Every operation records its send and receive time
 * on one monotonic clock shared by the threads, and every read the
 * DbResponse.seq (the answering slave's applied seq).
 *
 * Checks, over the whole history:
 *   1. seq order: for reads R1, R2 with R2 sent after R1 was received,
 *      R2.seq >= R1.seq (a later read never shows an older state);
 *   2. acked writes: a read's seq >= the seq of every write whose reply
 *      was received before the read was sent;
 *   3. content: a read of a user acked before it was sent finds it;
 *   4. content, same key: when R1 found user u and R2 (sent after R1 was
 *      received) asked for u too, R2 finds it;
 *   5. reads were answered by 3 slaves; every database ends identical;
 *   6. no slave sent a held reply after the hold bound (worker/details).
 * MONOTONIC_CRASH_MASTER=N (default 0) also kills the master N times
 * during the run (crash API, once the tier is whole again): held replies
 * must then be released by the new master's replies (writes are retried
 * with the same request id). Run by tests/with-stack.sh with
 * RIDESHARE_MIN_SLAVES=3. */
#include "orch_sys.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRITERS      4
#define READERS      8
#define PER_WRITER   500
#define MAX_READS    400000
#define TIMEOUT_MS   10000
#define MAX_REPORTED 10

typedef struct op_rec {
	int64_t send_ns;
	int64_t recv_ns;
	uint64_t seq;
	int j; /* writer whose user was read (reads) / who wrote */
	long n; /* that user's number */
	bool found; /* reads: status OK */
	bool must; /* reads: the user was acked before the send */
	char worker[64];
} op_rec;

static _Atomic long inflight[WRITERS], acked[WRITERS];
static _Atomic int writers_left = WRITERS;
static _Atomic long errors, write_retries, crashes_done;
static int crashes; /* MONOTONIC_CRASH_MASTER */
static char run_tag[9];

static op_rec *writes; /* [WRITERS * PER_WRITER] */
static _Atomic long nwrites;
static op_rec *reads; /* [MAX_READS] */
static _Atomic long nreads;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
name_of(char *out, size_t len, int k, long n)
{
	snprintf(out, len, "mr%s_w%d_%ld", run_tag, k, n);
}

static void *
writer(void *arg)
{
	int k = (int) (intptr_t) arg;
	rs_rpc *rpc = NULL;
	char name[96];

	if (sys_rpc(&rpc) != RS_OK) {
		atomic_fetch_add(&errors, 1);
		atomic_fetch_sub(&writers_left, 1);
		return NULL;
	}
	for (long n = 1; n <= PER_WRITER; n++) {
		Rideshare__DbResponse *r = NULL;
		op_rec w = { .j = k, .n = n };

		char rid[RS_ID_LEN + 1];
		int st;

		name_of(name, sizeof(name), k, n);
		rs_id_new(rid);
		atomic_store(&inflight[k], n);
		w.send_ns = now_ns();
		/* A reply lost with a crashed master: resend, same id. */
		for (int t = 0;; t++) {
			st = sys_add_user(rpc, name, rid,
			    crashes > 0 ? 3000 : TIMEOUT_MS, &r);
			if (st >= 0 || crashes == 0 || t == 5)
				break;
			atomic_fetch_add(&write_retries, 1);
		}
		w.recv_ns = now_ns();
		if (st != RIDESHARE__STATUS__OK) {
			fprintf(stderr, "write %s failed: %d\n", name, st);
			atomic_fetch_add(&errors, 1);
			if (r != NULL)
				rideshare__db_response__free_unpacked(r, NULL);
			break;
		}
		w.seq = r->seq;
		rideshare__db_response__free_unpacked(r, NULL);
		writes[atomic_fetch_add(&nwrites, 1)] = w;
		atomic_store(&acked[k], n);
	}
	rs_rpc_destroy(rpc);
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static void *
reader(void *arg)
{
	int k = (int) (intptr_t) arg;
	rs_rpc *rpc = NULL;
	char name[96];
	unsigned seed = (unsigned) k * 7919u + 17u;

	if (sys_rpc(&rpc) != RS_OK) {
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	while (atomic_load(&writers_left) > 0) {
		Rideshare__DbResponse *r = NULL;
		op_rec rd = { 0 };
		long a, i;

		rd.j = (int) (rand_r(&seed) % WRITERS);
		a = atomic_load(&acked[rd.j]);
		i = atomic_load(&inflight[rd.j]);
		if (i > a && rand_r(&seed) % 4 != 0) {
			rd.n = i; /* in flight: either answer is fine */
		} else if (a > 0) {
			rd.n = a;
			rd.must = true;
		} else {
			continue;
		}
		name_of(name, sizeof(name), rd.j, rd.n);
		rd.send_ns = now_ns();
		int st = sys_get_user(rpc, name, TIMEOUT_MS, &r);
		rd.recv_ns = now_ns();
		if (st < 0) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		rd.seq = r->seq;
		rd.found = st == RIDESHARE__STATUS__OK;
		snprintf(rd.worker, sizeof(rd.worker), "%s",
		    r->worker_id ? r->worker_id : "");
		rideshare__db_response__free_unpacked(r, NULL);
		long at = atomic_fetch_add(&nreads, 1);
		if (at >= MAX_READS)
			break;
		reads[at] = rd;
	}
	rs_rpc_destroy(rpc);
	return NULL;
}

static void *
crasher(void *arg)
{
	(void) arg;
	for (int c = 0; c < crashes && atomic_load(&writers_left) > 0; c++) {
		rs_time_sleep_ms(1000);
		if (sys_wait_workers(4, 30000) < 0)
			break;
		long st = sys_admin("POST", "/api/v1/crash/master", NULL);
		printf("crash/master %d: HTTP %ld\n", c + 1, st);
		if (st == 200)
			atomic_fetch_add(&crashes_done, 1);
	}
	return NULL;
}

static int
by_recv(const void *a, const void *b)
{
	const op_rec *x = a, *y = b;
	return (x->recv_ns > y->recv_ns) - (x->recv_ns < y->recv_ns);
}

/* Index of the last entry of v[0..n) (sorted by recv_ns) received before
 * t, or -1. */
static long
last_before(const op_rec *v, long n, int64_t t)
{
	long lo = 0, hi = n; /* first index with recv_ns >= t */

	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		if (v[mid].recv_ns < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

static void
report(const char *what, const op_rec *r1, const op_rec *r2, long *count)
{
	if ((*count)++ >= MAX_REPORTED)
		return;
	fprintf(stderr,
	    "VIOLATION %s: op on w%d_%ld seq=%" PRIu64 " found=%d by %s; "
	    "read of w%d_%ld sent %.3f ms after that op's reply: "
	    "seq=%" PRIu64 " found=%d by %s\n",
	    what, r1->j, r1->n, r1->seq, r1->found, r1->worker, r2->j, r2->n,
	    (double) (r2->send_ns - r1->recv_ns) / 1e6, r2->seq, r2->found,
	    r2->worker);
}

static int
cmp_key(const void *a, const void *b)
{
	const op_rec *x = a, *y = b;
	if (x->j != y->j)
		return x->j - y->j;
	if (x->n != y->n)
		return (x->n > y->n) - (x->n < y->n);
	return (x->send_ns > y->send_ns) - (x->send_ns < y->send_ns);
}

int
main(void)
{
	pthread_t wt[WRITERS], rt[READERS], ct;
	char id[RS_ID_LEN + 1];
	char slaves[16][64];
	int nslaves = 0;
	sys_db dbs[16];
	int64_t t0;
	long nr, nw, seq_viol = 0, ack_viol = 0, miss_viol = 0, key_viol = 0;
	long must_reads = 0;
	int rc = 0, n;

	rs_log_init("monotonic_reads_test");
	sys_init();
	const char *cm = getenv("MONOTONIC_CRASH_MASTER");
	crashes = cm != NULL ? atoi(cm) : 0;
	rs_id_new(id);
	snprintf(run_tag, sizeof(run_tag), "%.6s", id);
	writes = calloc(WRITERS * PER_WRITER, sizeof(*writes));
	reads = calloc(MAX_READS, sizeof(*reads));
	if (writes == NULL || reads == NULL)
		return 1;
	printf("waiting for 1 master + 3 slaves\n");
	if (sys_wait_workers(4, 60000) < 0) {
		fprintf(stderr,
		    "FAIL: the tier never reached 1 master + 3 slaves\n");
		return 1;
	}
	t0 = rs_time_now_ms();
	for (int k = 0; k < READERS; k++)
		pthread_create(&rt[k], NULL, reader, (void *) (intptr_t) k);
	for (int k = 0; k < WRITERS; k++)
		pthread_create(&wt[k], NULL, writer, (void *) (intptr_t) k);
	if (crashes > 0)
		pthread_create(&ct, NULL, crasher, NULL);
	for (int k = 0; k < WRITERS; k++)
		pthread_join(wt[k], NULL);
	for (int k = 0; k < READERS; k++)
		pthread_join(rt[k], NULL);
	if (crashes > 0) {
		pthread_join(ct, NULL);
		printf("master crashes=%ld write_retries=%ld\n",
		    atomic_load(&crashes_done), atomic_load(&write_retries));
		/* The tier heals before the databases are compared. */
		if (sys_wait_workers(4, 60000) < 0)
			fprintf(stderr, "tier not whole after the crashes\n");
	}
	nw = atomic_load(&nwrites);
	nr = atomic_load(&nreads);
	if (nr > MAX_READS)
		nr = MAX_READS;
	printf("writes=%ld reads=%ld errors=%ld elapsed_ms=%lld\n", nw, nr,
	    atomic_load(&errors), (long long) (rs_time_now_ms() - t0));

	/* 3: acked users are found; 5: who answered. */
	for (long i = 0; i < nr; i++) {
		const op_rec *r = &reads[i];
		if (r->must) {
			must_reads++;
			if (!r->found) {
				miss_viol++;
				fprintf(stderr,
				    "VIOLATION read missed acked user "
				    "w%d_%ld (seq=%" PRIu64 " by %s)\n",
				    r->j, r->n, r->seq, r->worker);
			}
		}
		int s = 0;
		while (s < nslaves && strcmp(slaves[s], r->worker) != 0)
			s++;
		if (s == nslaves && nslaves < 16)
			snprintf(slaves[nslaves++], 64, "%s", r->worker);
	}

	/* 1 and 2: sweep reads by send time against the prefix maximum of
	 * seq over reads (writes) received before. */
	qsort(reads, (size_t) nr, sizeof(*reads), by_recv);
	qsort(writes, (size_t) nw, sizeof(*writes), by_recv);
	long *rmax = malloc(((size_t) nr + 1) * sizeof(long)); /* argmax */
	long *wmax = malloc(((size_t) nw + 1) * sizeof(long));
	if (rmax == NULL || wmax == NULL)
		return 1;
	for (long i = 0; i < nr; i++)
		rmax[i] = (i > 0 && reads[rmax[i - 1]].seq >= reads[i].seq)
		    ? rmax[i - 1]
		    : i;
	for (long i = 0; i < nw; i++)
		wmax[i] = (i > 0 && writes[wmax[i - 1]].seq >= writes[i].seq)
		    ? wmax[i - 1]
		    : i;
	for (long i = 0; i < nr; i++) {
		const op_rec *r2 = &reads[i];
		long p = last_before(reads, nr, r2->send_ns);
		if (p >= 0 && reads[rmax[p]].seq > r2->seq)
			report(
			    "seq went back", &reads[rmax[p]], r2, &seq_viol);
		p = last_before(writes, nw, r2->send_ns);
		if (p >= 0 && writes[wmax[p]].seq > r2->seq)
			report("acked write not covered", &writes[wmax[p]], r2,
			    &ack_viol);
	}

	/* 4: per key, in send order: once a read that found the user was
	 * received, every read sent afterwards must find it. */
	qsort(reads, (size_t) nr, sizeof(*reads), cmp_key);
	for (long b = 0, e; b < nr; b = e) {
		int64_t first_found_recv = INT64_MAX;
		long ff = -1;
		for (e = b; e < nr && reads[e].j == reads[b].j
		     && reads[e].n == reads[b].n;
		     e++)
			;
		/* Sorted by send; the earliest receive of a found read
		 * among all of them decides. */
		for (long i = b; i < e; i++) {
			if (reads[i].found
			    && reads[i].recv_ns < first_found_recv) {
				first_found_recv = reads[i].recv_ns;
				ff = i;
			}
		}
		for (long i = b; i < e && ff >= 0; i++) {
			if (!reads[i].found
			    && reads[i].send_ns > first_found_recv)
				report("user vanished", &reads[ff], &reads[i],
				    &key_viol);
		}
	}
	printf("reads: %ld (%ld of acked users); violations: seq_back=%ld "
	       "ack_not_covered=%ld acked_missed=%ld user_vanished=%ld; "
	       "slaves_answering=%d\n",
	    nr, must_reads, seq_viol, ack_viol, miss_viol, key_viol, nslaves);
	if (seq_viol || ack_viol || miss_viol || key_viol) {
		fprintf(
		    stderr, "FAIL: the read history is not linearizable\n");
		rc = 1;
	}
	if (atomic_load(&errors) != 0 || nw != WRITERS * PER_WRITER) {
		fprintf(stderr, "FAIL: %ld errors, %ld of %d writes\n",
		    atomic_load(&errors), nw, WRITERS * PER_WRITER);
		rc = 1;
	}
	if (nslaves < 3) {
		fprintf(stderr,
		    "FAIL: reads were answered by %d slaves, want 3\n",
		    nslaves);
		rc = 1;
	}
	/* How many replies the slaves held for commit_seq, and whether any
	 * went out after the hold bound instead (status notices: 500 ms). */
	rs_time_sleep_ms(1200);
	json_t *det = NULL, *ws, *e;
	long held = 0, hold_timeouts = 0;
	size_t wi;
	if (sys_admin("GET", "/api/v1/worker/details", &det) == 200
	    && (ws = json_object_get(det, "workers")) != NULL) {
		json_array_foreach(ws, wi, e)
		{
			held += (long) json_integer_value(
			    json_object_get(e, "reads_held"));
			hold_timeouts += (long) json_integer_value(
			    json_object_get(e, "read_hold_timeouts"));
		}
	}
	json_decref(det);
	printf("slaves held %ld read replies for commit_seq; %ld hold "
	       "timeouts\n",
	    held, hold_timeouts);
	if (hold_timeouts != 0) {
		fprintf(stderr,
		    "FAIL: %ld read replies left after the hold bound "
		    "(commit_seq announcements not arriving?)\n",
		    hold_timeouts);
		rc = 1;
	}
	n = sys_dbs_converged(dbs, 16, 20000);
	if (n != 4) {
		fprintf(stderr,
		    "FAIL: %d converged worker databases, want 4\n", n);
		rc = 1;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(dbs[i].digest, dbs[0].digest) != 0) {
			fprintf(
			    stderr, "FAIL: worker %s differs\n", dbs[i].id);
			rc = 1;
		}
	}
	free(rmax);
	free(wmax);
	free(reads);
	free(writes);
	printf("%s\n", rc == 0 ? "PASS" : "FAIL");
	return rc;
}
