/* The orchestrator's routing loop (docs/orchestrator.md, "Routing"): one
 * thread, one AMQP channel, consuming both RS_Q_ORCHESTRATOR (DbRequest from
 * callers) and RS_Q_RESPONSE (write replies from the master).
 *
 *   write -> writeQ (persistent), DbRequest.reply_to = caller's reply_to
 *   read  -> readQ, min_seq per its consistency (linearizable: max of
 *            commit_seq and the caller's token), caller's reply_to and
 *            correlation_id
 *   reply -> dropped if its epoch is older than the current one; else
 *            commit_seq = max(commit_seq, seq), then forwarded to reply_to.
 * Because one thread handles both queues in order, a read taken after a
 * write reply was forwarded is stamped with a min_seq that covers it.
 * After each pass of the loop that changed it (and periodically) the
 * thread announces commit_seq on the fanout exchange commitX: slaves hold
 * a read reply computed on a newer state until commit_seq covers it. At
 * start commit_seq is seeded once from the master's applied seq. */
#ifndef RS_ORCH_ROUTER_H
#define RS_ORCH_ROUTER_H

#include "autoscale.h"
#include "workers.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_orch_router rs_orch_router;

/* A caller's min_seq token more than this above every seq the router
 * heard of (commit_seq, the master's head notices) is refused (INVALID)
 * instead of parking until the slaves give up: a head notice may lag the
 * master by a few hundred writes, a made-up token by anything. */
#define RS_ORCH_MIN_SEQ_SLACK 10000

/* Default RIDESHARE_MAX_LAG_MS: a slave whose oldest unapplied write is
 * older than this (or silent this long) takes no new reads until it is
 * back within half of it (docs/replication.md "Lag and read routing"). */
#define RS_ORCH_MAX_LAG_MS 1000

/* w (epoch source) and as (read counting) are borrowed; w may be NULL
 * (tests). */
int rs_orch_router_create(const char *amqp_url, rs_orch_workers *w,
    rs_orch_autoscale *as, rs_orch_router **out);
/* Connects (retrying up to connect_wait_ms), declares the topology and
 * starts the routing thread. */
int rs_orch_router_start(rs_orch_router *r, int connect_wait_ms);
/* Stops consuming and joins the thread. */
void rs_orch_router_stop(rs_orch_router *r);
void rs_orch_router_destroy(rs_orch_router *r);

uint64_t rs_orch_router_commit_seq(rs_orch_router *r);
/* commit_seq and the newest epoch among the replies it came from, read so
 * that the epoch is at least that of every reply the seq covers (the
 * change feed reads only a copy of that term or newer). */
void rs_orch_router_commit_point(
    rs_orch_router *r, uint64_t *commit_seq, uint64_t *commit_epoch);
/* After a restore into the running cluster (restore.h): the master now
 * serves a copy at the backup's seq that no reply announced, so the
 * routing thread seeds commit_seq again from the master's applied seq, as
 * at start (it only grows); otherwise slaves would hold every read until
 * the next write. */
void rs_orch_router_reseed(rs_orch_router *r);
/* True while the routing connection is up and consuming. */
bool rs_orch_router_connected(rs_orch_router *r);

/* Decision for one write reply (pure): returns false when it must be
 * dropped (epoch older than cur_epoch); else advances *commit_seq and
 * *cur_epoch. */
bool rs_orch_accept_reply(
    uint64_t epoch, uint64_t seq, uint64_t *cur_epoch, uint64_t *commit_seq);

/* How the accepted entries of a ResponseBatch are forwarded (pure): one
 * message per destination. dest[i] is entry i's reply address (NULL or ""
 * means none: the entry is left out). Fills order[] with the indexes of
 * the entries that have one, grouped by destination in the order each
 * destination first appears, each group in entry order, and group_len[g]
 * with group g's size; returns the number of groups. n <=
 * RS_RESPONSE_BATCH_MAX (more: 0 groups); order and group_len hold n. */
size_t rs_orch_reply_groups(
    const char *const *dest, size_t n, size_t *order, size_t *group_len);

#endif
