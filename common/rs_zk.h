/* ZooKeeper (C client, multi-threaded) session helper.
 *
 * Watches are one-shot, as in ZooKeeper: pass watch=true to re-arm. The
 * event callback runs on the ZooKeeper client's own thread: keep it short
 * (set a flag, write to a pipe, signal a condition). Session expiry is
 * reported with type RS_ZK_EXPIRED; the owner must then close and start a
 * new session (its ephemeral nodes are gone). */
#ifndef RS_ZK_H
#define RS_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_zk rs_zk;

enum rs_zk_event {
	RS_ZK_CREATED,
	RS_ZK_DELETED,
	RS_ZK_CHANGED,
	RS_ZK_CHILD,
	RS_ZK_CONNECTED,
	RS_ZK_DISCONNECTED,
	RS_ZK_EXPIRED,
};

typedef void (*rs_zk_event_fn)(
    void *arg, enum rs_zk_event ev, const char *path);

/* Connects and waits until the session is established (RS_ETIMEDOUT after
 * connect_timeout_ms). fn may be NULL. */
int rs_zk_connect(const char *hosts, int session_ms, int connect_timeout_ms,
    rs_zk_event_fn fn, void *arg, rs_zk **out);
/* Closes the session (its ephemeral nodes vanish at once) and frees zk. */
void rs_zk_close(rs_zk *zk);

/* Creates path and all missing parents as persistent empty nodes. */
int rs_zk_ensure_path(rs_zk *zk, const char *path);
/* Creates one node; RS_EEXIST when it exists. ephemeral: tied to session. */
int rs_zk_create(
    rs_zk *zk, const char *path, const void *data, size_t len, bool ephemeral);
/* RS_OK when it exists, RS_ENOTFOUND when not; watch arms an exists-watch
 * (fires on create and delete). */
int rs_zk_exists(rs_zk *zk, const char *path, bool watch);
/* Reads data; *data is malloc'd (NUL-terminated for convenience, *len
 * excludes the NUL), caller frees. RS_ENOTFOUND when absent. */
int rs_zk_get(
    rs_zk *zk, const char *path, bool watch, char **data, size_t *len);
/* A read sent now and collected later, so the caller can overlap the
 * round trip with other work (the master's fencing read with its COMMIT,
 * docs/failover.md "Fencing"). rs_zk_get_start sends it (RS_ENOMEM,
 * RS_EINVAL, or a send error as rs_zk_get's); rs_zk_get_finish waits for
 * the answer, up to timeout_ms (RS_ETIMEDOUT: the pending read is left to
 * its completion, leaked), returns what rs_zk_get would and frees p.
 * Every started read must be finished. *sent_ms: the monotonic time the
 * read was sent, for lease arithmetic (rs_zk_session_ms). */
typedef struct rs_zk_pending rs_zk_pending;
int rs_zk_get_start(
    rs_zk *zk, const char *path, rs_zk_pending **p, int64_t *sent_ms);
int rs_zk_get_finish(
    rs_zk_pending *p, int timeout_ms, char **data, size_t *len);
/* The session timeout the server granted (ms; the one asked for until the
 * server answered). */
int rs_zk_session_ms(rs_zk *zk);
int rs_zk_set(rs_zk *zk, const char *path, const void *data, size_t len);
/* RS_ENOTFOUND when already gone. */
int rs_zk_delete(rs_zk *zk, const char *path);
/* Child names (not full paths), malloc'd array of malloc'd strings; free
 * with rs_zk_free_children. */
int rs_zk_children(
    rs_zk *zk, const char *path, bool watch, char ***names, int *count);
void rs_zk_free_children(char **names, int count);
/* Atomically increments a persistent decimal counter node (created with 0
 * when absent) and returns the new value. */
int rs_zk_incr(rs_zk *zk, const char *path, uint64_t *out);

/* A persistent high-water mark "<major> <minor>" (two decimals), ordered
 * by major, then minor. rs_zk_mark_raise sets it to (major, minor) unless
 * it already holds as much or more (created when absent; parents must
 * exist); compare-and-set on the node's version, so concurrent writers
 * never move it backwards. rs_zk_mark_get reads it: (0, 0) when absent. */
int rs_zk_mark_raise(
    rs_zk *zk, const char *path, uint64_t major, uint64_t minor);
int rs_zk_mark_get(
    rs_zk *zk, const char *path, uint64_t *major, uint64_t *minor);

#endif
