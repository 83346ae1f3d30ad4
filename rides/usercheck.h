/* User existence check of the rides service: GET
 * $RIDESHARE_EDGE_URL/api/v1/users/{username} with "Origin: rides", as the
 * original API required a call over the load balancer. One kept-alive
 * libcurl handle per thread. (The master re-checks inside the CreateRide /
 * JoinRide transaction; this check gives the early, cheap answer.) */
#ifndef RIDES_USERCHECK_H
#define RIDES_USERCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Stores the edge URL and Origin value (copied) and inits libcurl.
 * timeout_ms is the users service's RPC timeout (the check waits one second
 * more). Call once at start, before threads. */
int rides_usercheck_init(
    const char *edge_url, const char *origin, int timeout_ms);

/* RS_OK with *exists = 1 (200) or 0 (404); RS_ETIMEDOUT (no answer in
 * time, or a 504), RS_ECONN (edge unreachable, 502, 503) or RS_EPROTO (any
 * other answer) when it cannot tell. rid is sent as X-Request-Id, min_seq
 * and level (a Rideshare__Consistency) as X-RideShare-Min-Seq and
 * X-RideShare-Consistency. name[0..len) is percent-encoded into the path. */
int rides_user_exists(const char *rid, uint64_t min_seq, int level,
    const char *name, size_t len, int *exists);

/* Frees the calling thread's handle (worker threads do it at exit). */
void rides_usercheck_thread_fini(void);

#endif
