/* nng notices (docs/conventions.md "nng notices"): every worker publishes
 * "status <id> <role> <applied_seq> <epoch>" every 500 ms from a thread of
 * its own (a serving slave also "reads <id> <held> <hold_timeouts>"); the
 * master publishes "head <epoch> <seq>" after each committed
 * batch; a slave follows its master's notices to know how far behind it is. */
#ifndef RS_WORKER_NOTICE_H
#define RS_WORKER_NOTICE_H

#include "rs_notice.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rs_worker_notice rs_worker_notice;

/* Binds the PUB socket on tcp://host:0 (URL written to url, size >= 128)
 * and starts the status thread. On RS_OK *out is owned by the caller. */
int rs_worker_notice_create(const char *host, const char *worker_id, char *url,
    size_t urllen, rs_worker_notice **out);
/* Stops the thread, closes the sockets, frees n. NULL ok. */
void rs_worker_notice_destroy(rs_worker_notice *n);

/* What the next status line says (any thread). role: RS_ROLE_MASTER, ... */
void rs_worker_notice_set(rs_worker_notice *n, const char *role,
    uint64_t applied_seq, uint64_t epoch);
/* Slaves: their read counters (proto/rs_notice.h); from the first call
 * on, a "reads" line follows each status line. */
void rs_worker_notice_set_reads(rs_worker_notice *n, const rs_notice_reads *r);
/* Masters: their group-commit totals (proto/rs_notice.h); from the first
 * call on, a "commits" line follows each status line. */
void rs_worker_notice_set_commits(
    rs_worker_notice *n, const rs_notice_commits *c);
/* Publishes "head <epoch> <seq>" now. */
void rs_worker_notice_head(rs_worker_notice *n, uint64_t epoch, uint64_t seq);
/* Follows the master publishing at url (replaces any previous one). */
void rs_worker_notice_follow(rs_worker_notice *n, const char *url);
/* Highest head seq heard from the followed master (0 if none yet). */
uint64_t rs_worker_notice_master_head(rs_worker_notice *n);

#endif
