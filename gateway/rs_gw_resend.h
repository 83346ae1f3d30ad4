/* The gateways' read resend decision (docs/gateway.md "A hung slave costs
 * a read a deadline"): whether and when a read is sent a second time, and
 * which slave the resend should go to. A read unanswered after
 * RIDESHARE_READ_RETRY_MS was most likely taken by a hung slave; a slave
 * that answered this gateway since that read went out is not hung, so the
 * resend names the most recent such slave (DbRequest.resend_to) and the
 * orchestrator sends it to that slave's own read queue. */
#ifndef RS_GW_RESEND_H
#define RS_GW_RESEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Workers remembered (more than any tier has slaves; when full the one
 * heard of longest ago is forgotten). */
#define RS_GW_RESEND_SLOTS 32

/* When a call is sent once more, in ms after the first send: retry_ms
 * for a read when 0 < retry_ms < timeout_ms; 0 (never) for a write (the
 * master dedupes writes, but a write waits in writeQ behind the one
 * master and a second copy would not reach it sooner), when retries are
 * off (retry_ms 0) or when the timeout would come first. */
int rs_gw_resend_after_ms(bool write, int retry_ms, int timeout_ms);

/* Notes that worker id (DbResponse.worker_id; "" and NULL are ignored)
 * answered at now_ms (monotonic ms). Thread-safe. */
void rs_gw_resend_note(const char *id, int64_t now_ms);

/* The worker that answered most recently, at or after since_ms (the first
 * send of the read being resent): its id into out (len bytes) and true;
 * false and out "" when none did (the orchestrator then picks).
 * Thread-safe. */
bool rs_gw_resend_pick(int64_t since_ms, char *out, size_t len);

/* How long a due resend waits for a slave to name (one answering this
 * gateway since the read went out) before it goes without one: a bit more
 * than the workers' status period (500 ms, docs/replication.md "Notices"),
 * so that the orchestrator, picking by status notices, then sees a slave
 * hung since the send as silent. */
#define RS_GW_RESEND_HINT_WAIT_MS 600

/* Whether a resend that is due goes out now (now_ms, monotonic; the read
 * went out at since_ms): true with out = rs_gw_resend_pick's slave, or
 * with out "" once RS_GW_RESEND_HINT_WAIT_MS passed without one; false:
 * not yet (ask again later). */
bool rs_gw_resend_ready(
    int64_t since_ms, int64_t now_ms, char *out, size_t len);

/* Forgets every worker (tests). */
void rs_gw_resend_reset(void);

#endif
