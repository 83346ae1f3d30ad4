/* Linearizability through the orchestrator with 3 slaves (issue 4).
 *
 * 8 clients interleave 2,000 writes with reads. Client k owns the users
 * c<k>_<n> and publishes, after each acknowledged write, its highest acked
 * n (an atomic). Before sending a read, a client snapshots what is acked
 * at that moment; the read's answer must reflect all of it:
 *   - get_user of its own latest user (read-your-writes),
 *   - get_user of another client's latest acked user,
 *   - list_users must hold c<j>_1..c<j>_<acked[j]> for every client j.
 * Any miss is a violation. The test also checks that reads were answered
 * by 3 different slaves and that their databases end identical.
 * Run by tests/with-stack.sh with RIDESHARE_MIN_SLAVES=3.
 *
 * LIN_CONSISTENCY=session|any (issue 14) sends the reads at that level
 * instead and checks what it promises: every answer shows exactly the state
 * of the seq it reports (an acked write is present iff its seq <= the
 * answer's seq), and with session a client's read of its own write, sent
 * with that write's seq as min_seq, always finds it. */
#include "orch_sys.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_id.h"
#include "rs_log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENTS    8
#define WRITES     2000
#define PER_CLIENT (WRITES / CLIENTS)
#define TIMEOUT_MS 10000

static _Atomic long acked[CLIENTS]; /* highest acked n per client */
/* seq of each acked write (written before acked[] is raised) */
static _Atomic uint64_t wseq[CLIENTS][PER_CLIENT + 1];
static int level; /* Rideshare__Consistency of the reads */
static _Atomic long violations, reads_done, writes_done, errors;
static char run_tag[9];

struct slaves_seen {
	pthread_mutex_t lock;
	char ids[16][64];
	int n;
};
static struct slaves_seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
saw(const char *worker)
{
	pthread_mutex_lock(&seen.lock);
	for (int i = 0; i < seen.n; i++) {
		if (strcmp(seen.ids[i], worker) == 0) {
			pthread_mutex_unlock(&seen.lock);
			return;
		}
	}
	if (seen.n < 16)
		snprintf(seen.ids[seen.n++], 64, "%s", worker);
	pthread_mutex_unlock(&seen.lock);
}

static void
name_of(char *out, size_t len, int k, long n)
{
	snprintf(out, len, "lz%s_c%d_%ld", run_tag, k, n);
}

static void
violation(int k, const char *what, const char *detail)
{
	atomic_fetch_add(&violations, 1);
	fprintf(stderr, "VIOLATION client=%d %s: %s\n", k, what, detail);
}

/* Counts a read (reply r, status st as sys_get_user gives them); false
 * when it got no answer (counted as an error), else notes the worker. */
static bool
answered(int st, const Rideshare__DbResponse *r)
{
	atomic_fetch_add(&reads_done, 1);
	if (st < 0) {
		atomic_fetch_add(&errors, 1);
		return false;
	}
	if (r->worker_id != NULL)
		saw(r->worker_id);
	return true;
}

/* get_user of name, which was acked (as seq ws) before this call; own:
 * the client's own write (session: sent with min_seq ws). */
static void
check_get(rs_rpc *rpc, int k, const char *name, uint64_t ws, bool own)
{
	Rideshare__DbResponse *r = NULL;
	sys_read_level = level;
	sys_read_min_seq
	    = level == RIDESHARE__CONSISTENCY__SESSION && own ? ws : 0;
	int st = sys_get_user(rpc, name, TIMEOUT_MS, &r);

	if (!answered(st, r))
		return;
	if (level == RIDESHARE__CONSISTENCY__LINEARIZABLE
	    || (level == RIDESHARE__CONSISTENCY__SESSION && own)) {
		if (st != RIDESHARE__STATUS__OK)
			violation(k, "get_user missed an acked write", name);
	} else if ((st == RIDESHARE__STATUS__OK) != (r->seq >= ws)) {
		violation(k, "get_user is not the state of its seq", name);
	}
	rideshare__db_response__free_unpacked(r, NULL);
}

/* list_users must contain every user acked before the call. */
static void
check_list(rs_rpc *rpc, int k)
{
	long snap[CLIENTS];
	Rideshare__DbResponse *r = NULL;
	char name[96];
	int st;

	for (int j = 0; j < CLIENTS; j++)
		snap[j] = atomic_load(&acked[j]);
	sys_read_level = level;
	sys_read_min_seq = 0;
	st = sys_list_users(rpc, TIMEOUT_MS, &r);
	if (!answered(st, r))
		return;
	if (st != RIDESHARE__STATUS__OK
	    || r->result_case != RIDESHARE__DB_RESPONSE__RESULT_USERS) {
		violation(k, "list_users failed", "status not OK");
	} else {
		/* Count, per client, how many of its users are listed; the
		 * acked prefix 1..snap[j] must be complete. */
		long have[CLIENTS] = { 0 };
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "lz%s_c", run_tag);
		for (size_t i = 0; i < r->users->n_usernames; i++) {
			const char *u = r->users->usernames[i];
			int j;
			long n;

			if (strncmp(u, prefix, strlen(prefix)) != 0
			    || sscanf(u + strlen(prefix), "%d_%ld", &j, &n)
			        != 2
			    || j < 0 || j >= CLIENTS)
				continue;
			if (n <= snap[j])
				have[j]++;
		}
		for (int j = 0; j < CLIENTS; j++) {
			long want = snap[j];
			/* weaker levels: the acked writes up to its seq */
			if (level != RIDESHARE__CONSISTENCY__LINEARIZABLE) {
				want = 0;
				for (long n = 1; n <= snap[j]; n++)
					want += atomic_load(&wseq[j][n])
					    <= r->seq;
			}
			if (have[j] != want) {
				name_of(name, sizeof(name), j, snap[j]);
				violation(
				    k, "list_users missed acked users", name);
			}
		}
	}
	rideshare__db_response__free_unpacked(r, NULL);
}

static void *
client(void *arg)
{
	int k = (int) (intptr_t) arg;
	rs_rpc *rpc = NULL;
	char name[96];
	unsigned seed = (unsigned) k * 7919u + 17u;

	if (sys_rpc(&rpc) != RS_OK) {
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	for (long n = 1; n <= PER_CLIENT; n++) {
		int st, j;

		name_of(name, sizeof(name), k, n);
		Rideshare__DbResponse *w = NULL;
		st = sys_add_user(rpc, name, NULL, TIMEOUT_MS, &w);
		if (st != RIDESHARE__STATUS__OK) {
			fprintf(stderr, "write %s failed: %d\n", name, st);
			atomic_fetch_add(&errors, 1);
			if (w != NULL)
				rideshare__db_response__free_unpacked(w, NULL);
			break;
		}
		uint64_t ws = w->seq;
		rideshare__db_response__free_unpacked(w, NULL);
		atomic_store(&wseq[k][n], ws);
		atomic_store(&acked[k], n);
		atomic_fetch_add(&writes_done, 1);
		/* Read our own write at once. */
		check_get(rpc, k, name, ws, true);
		/* Another client's latest acked write. */
		j = (int) (rand_r(&seed) % CLIENTS);
		if (j != k && atomic_load(&acked[j]) > 0) {
			long m = atomic_load(&acked[j]);

			name_of(name, sizeof(name), j, m);
			check_get(
			    rpc, k, name, atomic_load(&wseq[j][m]), false);
		}
		if (n % 25 == 0)
			check_list(rpc, k);
	}
	rs_rpc_destroy(rpc);
	return NULL;
}

int
main(void)
{
	pthread_t th[CLIENTS];
	char id[RS_ID_LEN + 1];
	sys_db dbs[16];
	int64_t t0;
	int n, rc = 0;

	rs_log_init("linearizability_test");
	sys_init();
	const char *lv = getenv("LIN_CONSISTENCY");
	if (lv != NULL && strcmp(lv, "session") == 0)
		level = RIDESHARE__CONSISTENCY__SESSION;
	else if (lv != NULL && strcmp(lv, "any") == 0)
		level = RIDESHARE__CONSISTENCY__ANY;
	printf("read consistency: %s\n", lv != NULL ? lv : "linearizable");
	rs_id_new(id);
	snprintf(run_tag, sizeof(run_tag), "%.6s", id);
	printf("waiting for 1 master + 3 slaves\n");
	if (sys_wait_workers(4, 60000) < 0) {
		fprintf(stderr,
		    "FAIL: the tier never reached 1 master + 3 slaves\n");
		return 1;
	}
	t0 = rs_time_now_ms();
	for (int k = 0; k < CLIENTS; k++)
		pthread_create(&th[k], NULL, client, (void *) (intptr_t) k);
	for (int k = 0; k < CLIENTS; k++)
		pthread_join(th[k], NULL);
	printf("clients=%d writes=%ld reads=%ld errors=%ld violations=%ld "
	       "elapsed_ms=%lld slaves_answering=%d\n",
	    CLIENTS, atomic_load(&writes_done), atomic_load(&reads_done),
	    atomic_load(&errors), atomic_load(&violations),
	    (long long) (rs_time_now_ms() - t0), seen.n);
	if (atomic_load(&violations) != 0 || atomic_load(&errors) != 0
	    || atomic_load(&writes_done) != WRITES) {
		fprintf(stderr,
		    "FAIL: reads did not reflect acknowledged writes\n");
		rc = 1;
	}
	if (seen.n < 3) {
		fprintf(stderr,
		    "FAIL: reads were answered by %d slaves, want 3\n",
		    seen.n);
		rc = 1;
	}
	n = sys_dbs_converged(dbs, 16, 20000);
	if (n != 4) {
		fprintf(stderr,
		    "FAIL: %d converged worker databases, want 4\n", n);
		rc = 1;
	}
	for (int i = 0; i < n; i++) {
		printf("worker %s pid=%lld role=%d applied_seq=%llu users=%ld "
		       "digest=%s\n",
		    dbs[i].id, (long long) dbs[i].pid, dbs[i].role,
		    (unsigned long long) dbs[i].applied_seq, dbs[i].users,
		    dbs[i].digest);
		if (strcmp(dbs[i].digest, dbs[0].digest) != 0) {
			fprintf(
			    stderr, "FAIL: worker %s differs\n", dbs[i].id);
			rc = 1;
		}
	}
	printf("%s\n", rc == 0 ? "PASS" : "FAIL");
	return rc;
}
