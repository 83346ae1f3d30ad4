/* ZooKeeper session helper on the multi-threaded C client (zookeeper_mt).
 *
 * The client runs its own I/O and completion threads; our watcher runs on
 * the completion thread, records the session state for rs_zk_connect and
 * forwards every event to the owner's callback. */
#include "rs_zk.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_names.h"
#include "rs_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#define GET_INITIAL 1024
#define INCR_TRIES  1000

struct rs_zk {
	zhandle_t *zh;
	struct ACL_vector *acl; /* for every node we create */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* last session state the watcher saw, 0 before any */
	rs_zk_event_fn fn;
	void *arg;
};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void
log_setup(void)
{
	zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
	zoo_set_log_stream(stderr);
}

/* The client's own warnings, as our log lines. While a server is down it
 * repeats two lines every few tens of milliseconds, so at most LOG_BURST
 * lines go out per LOG_WINDOW_MS (all of them at debug level); session
 * changes are logged by the watcher anyway. */
#define LOG_BURST     5
#define LOG_WINDOW_MS 10000

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t log_window_start;
static int log_in_window;
static long log_suppressed;

static void
zk_log(const char *message)
{
	/* Skip the client's own timestamp and thread id. */
	const char *m = strstr(message, "ZOO_");
	char buf[1024];
	long dropped = 0;
	bool allow;
	int64_t now;
	size_t i;

	if (m == NULL)
		m = message;
	for (i = 0; m[i] != '\0' && m[i] != '\n' && i < sizeof(buf) - 1; i++)
		buf[i] = m[i] == '"' ? '\'' : m[i];
	buf[i] = '\0';
	if (rs_log_enabled(RS_LOG_DEBUG)) {
		rs_debug(NULL, "event=zk_client msg=\"%s\"", buf);
		return;
	}
	now = rs_time_now_ms();
	pthread_mutex_lock(&log_mu);
	if (now - log_window_start >= LOG_WINDOW_MS) {
		log_window_start = now;
		log_in_window = 0;
	}
	allow = log_in_window < LOG_BURST;
	if (allow) {
		log_in_window++;
		dropped = log_suppressed;
		log_suppressed = 0;
	} else {
		log_suppressed++;
	}
	pthread_mutex_unlock(&log_mu);
	if (allow)
		rs_warn(NULL, "event=zk_client suppressed=%ld msg=\"%s\"",
		    dropped, buf);
}

static void
watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	rs_zk *zk = ctx;
	int ev = -1;

	(void) zh;
	if (type == ZOO_SESSION_EVENT) {
		if (state == ZOO_CONNECTED_STATE
		    || state == ZOO_READONLY_STATE) {
			ev = RS_ZK_CONNECTED;
		} else if (state == ZOO_CONNECTING_STATE) {
			rs_warn(NULL, "event=zk_disconnected");
			ev = RS_ZK_DISCONNECTED;
		} else if (state == ZOO_EXPIRED_SESSION_STATE) {
			rs_warn(NULL, "event=zk_session_expired");
			ev = RS_ZK_EXPIRED;
		} else if (state == ZOO_AUTH_FAILED_STATE) {
			rs_error(NULL, "event=zk_auth_failed");
			ev = RS_ZK_EXPIRED; /* the session is as unusable */
		}
		/* Other states (associating...) are transitional. */
	} else if (type == ZOO_CREATED_EVENT) {
		ev = RS_ZK_CREATED;
	} else if (type == ZOO_DELETED_EVENT) {
		ev = RS_ZK_DELETED;
	} else if (type == ZOO_CHANGED_EVENT) {
		ev = RS_ZK_CHANGED;
	} else if (type == ZOO_CHILD_EVENT) {
		ev = RS_ZK_CHILD;
	}
	/* The owner hears first: rs_zk_connect returns only after its
	 * callback has seen RS_ZK_CONNECTED. */
	if (ev >= 0 && zk->fn != NULL)
		zk->fn(
		    zk->arg, (enum rs_zk_event) ev, path != NULL ? path : "");
	if (type == ZOO_SESSION_EVENT) {
		pthread_mutex_lock(&zk->mu);
		zk->state = state;
		pthread_cond_broadcast(&zk->cv);
		pthread_mutex_unlock(&zk->mu);
	}
}

/* Maps a ZooKeeper return code, logging the unexpected ones. */
static int
zk_err(int zrc, const char *op, const char *path)
{
	switch (zrc) {
	case ZOK: return RS_OK;
	case ZNONODE: return RS_ENOTFOUND;
	case ZNODEEXISTS: return RS_EEXIST;
	case ZBADVERSION: return RS_EAGAIN;
	case ZCONNECTIONLOSS:
	case ZOPERATIONTIMEOUT:
	case ZSESSIONEXPIRED:
	case ZSESSIONMOVED:
	case ZINVALIDSTATE:
	case ZCLOSING:
		rs_warn(NULL, "event=zk_error op=%s path=%s error=\"%s\"", op,
		    path, zerror(zrc));
		return RS_ECONN;
	case ZBADARGUMENTS:
		rs_error(NULL, "event=zk_error op=%s path=%s error=\"%s\"", op,
		    path, zerror(zrc));
		return RS_EINVAL;
	default:
		rs_error(NULL, "event=zk_error op=%s path=%s error=\"%s\"", op,
		    path, zerror(zrc));
		return RS_EZK;
	}
}

static int
valid_path(const char *path)
{
	size_t n;

	if (path == NULL || path[0] != '/')
		return 0;
	n = strlen(path);
	return n == 1 || path[n - 1] != '/';
}

/* Also the one unwind of a half-made handle (rs_zk_connect's failures):
 * zh is NULL when zookeeper_init2 itself failed. */
void
rs_zk_close(rs_zk *zk)
{
	if (zk == NULL)
		return;
	/* Joins the client's threads: no callback runs after this. */
	if (zk->zh != NULL)
		zookeeper_close(zk->zh);
	pthread_cond_destroy(&zk->cv);
	pthread_mutex_destroy(&zk->mu);
	free(zk);
}

int
rs_zk_connect(const char *hosts, int session_ms, int connect_timeout_ms,
    rs_zk_event_fn fn, void *arg, rs_zk **out)
{
	pthread_condattr_t ca;
	struct timespec dl;
	rs_zk *zk;
	int rc, state;

	if (hosts == NULL || *hosts == '\0' || session_ms <= 0)
		return RS_EINVAL;
	pthread_once(&log_once, log_setup);
	if ((zk = calloc(1, sizeof(*zk))) == NULL)
		return RS_ENOMEM;
	zk->fn = fn;
	zk->arg = arg;
	pthread_mutex_init(&zk->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&zk->cv, &ca);
	pthread_condattr_destroy(&ca);

	zk->zh
	    = zookeeper_init2(hosts, watcher, session_ms, NULL, zk, 0, zk_log);
	if (zk->zh == NULL) {
		rs_error(NULL, "event=zk_init_failed hosts=%s error=\"%s\"",
		    hosts, strerror(errno));
		rc = errno == EINVAL ? RS_EINVAL : RS_ECONN;
		goto fail;
	}
	dl = rs_time_abs_in(CLOCK_MONOTONIC, connect_timeout_ms);
	pthread_mutex_lock(&zk->mu);
	while (zk->state != ZOO_CONNECTED_STATE
	    && zk->state != ZOO_EXPIRED_SESSION_STATE
	    && zk->state != ZOO_AUTH_FAILED_STATE) {
		if (pthread_cond_timedwait(&zk->cv, &zk->mu, &dl) == ETIMEDOUT)
			break;
	}
	state = zk->state;
	pthread_mutex_unlock(&zk->mu);
	if (state != ZOO_CONNECTED_STATE) {
		rs_error(NULL,
		    "event=zk_connect_failed hosts=%s timeout_ms=%d state=%d",
		    hosts, connect_timeout_ms, state);
		rc = state == 0 || state == ZOO_CONNECTING_STATE ? RS_ETIMEDOUT
		                                                 : RS_ECONN;
		goto fail;
	}
	/* Digest authentication (docs/security.md): with
	 * RIDESHARE_ZK_AUTH[_FILE] = "user:password" every node this process
	 * creates is readable and writable by that identity only. The client
	 * library sends the credentials again after every reconnect. */
	const char *auth = rs_cfg_str("RIDESHARE_ZK_AUTH", NULL);
	if (auth != NULL) {
		int zrc;
		if (strchr(auth, ':') == NULL) {
			rs_error(NULL,
			    "event=zk_bad_auth reason=\"expected "
			    "user:password\"");
			rc = RS_EINVAL;
			goto fail;
		}
		zrc = zoo_add_auth(
		    zk->zh, "digest", auth, (int) strlen(auth), NULL, NULL);
		if (zrc != ZOK) {
			rc = zk_err(zrc, "add_auth", "/");
			goto fail;
		}
		zk->acl = &ZOO_CREATOR_ALL_ACL;
	} else {
		zk->acl = &ZOO_OPEN_ACL_UNSAFE;
	}
	*out = zk;
	return RS_OK;

fail:
	rs_zk_close(zk);
	return rc;
}

int
rs_zk_create(
    rs_zk *zk, const char *path, const void *data, size_t len, bool ephemeral)
{
	if (!valid_path(path) || len > INT32_MAX || (data == NULL && len > 0))
		return RS_EINVAL;
	return zk_err(
	    zoo_create(zk->zh, path, data, data != NULL ? (int) len : -1,
	        zk->acl, ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT, NULL, 0),
	    "create", path);
}

int
rs_zk_ensure_path(rs_zk *zk, const char *path)
{
	char *p;
	int rc = RS_OK;

	if (!valid_path(path))
		return RS_EINVAL;
	if ((p = strdup(path)) == NULL)
		return RS_ENOMEM;
	/* Create each prefix in turn: "/a", "/a/b", "/a/b/c". */
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		rc = zk_err(zoo_create(zk->zh, p, NULL, -1, zk->acl,
		                ZOO_PERSISTENT, NULL, 0),
		    "create", p);
		*s = c;
		if (rc == RS_EEXIST)
			rc = RS_OK;
		if (rc != RS_OK || c == '\0')
			break;
	}
	free(p);
	return rc;
}

int
rs_zk_exists(rs_zk *zk, const char *path, bool watch)
{
	struct Stat st;

	if (!valid_path(path))
		return RS_EINVAL;
	return zk_err(zoo_exists(zk->zh, path, watch, &st), "exists", path);
}

int
rs_zk_get(rs_zk *zk, const char *path, bool watch, char **data, size_t *len)
{
	struct Stat st;
	int cap = GET_INITIAL, blen, zrc;
	char *buf;

	if (!valid_path(path) || data == NULL)
		return RS_EINVAL;
	for (int tries = 0;; tries++) {
		if ((buf = malloc((size_t) cap + 1)) == NULL)
			return RS_ENOMEM;
		blen = cap;
		zrc = zoo_get(zk->zh, path, watch, buf, &blen, &st);
		if (zrc != ZOK) {
			free(buf);
			return zk_err(zrc, "get", path);
		}
		/* Grown between the size we guessed and the read: retry. */
		if (st.dataLength <= cap || tries == 3)
			break;
		cap = st.dataLength;
		free(buf);
	}
	if (blen < 0)
		blen = 0; /* node without data */
	buf[blen] = '\0';
	*data = buf;
	if (len != NULL)
		*len = (size_t) blen;
	return RS_OK;
}

struct rs_zk_pending {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int zrc;
	char *data; /* malloc'd copy of the answer, NUL-terminated */
	size_t len;
	char path[128];
};

/* Runs on the client's completion thread; every request gets exactly one
 * call, with an error when the session closes or the connection drops. */
static void
get_done(int zrc, const char *value, int value_len, const struct Stat *st,
    const void *arg)
{
	rs_zk_pending *p = (rs_zk_pending *) arg;
	(void) st;

	pthread_mutex_lock(&p->mu);
	p->zrc = zrc;
	if (zrc == ZOK) {
		size_t n
		    = value != NULL && value_len > 0 ? (size_t) value_len : 0;
		if ((p->data = malloc(n + 1)) == NULL) {
			p->zrc = ZSYSTEMERROR;
		} else {
			if (n > 0)
				memcpy(p->data, value, n);
			p->data[n] = '\0';
			p->len = n;
		}
	}
	p->done = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int
rs_zk_get_start(
    rs_zk *zk, const char *path, rs_zk_pending **out, int64_t *sent_ms)
{
	rs_zk_pending *p;
	int zrc;

	*out = NULL;
	if (!valid_path(path) || strlen(path) >= sizeof(p->path))
		return RS_EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return RS_ENOMEM;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* Deadlines on the monotonic clock: a wall-clock step must not end
	 * or stretch the wait. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(p->path, sizeof(p->path), "%s", path);
	*sent_ms = rs_time_now_ms();
	if ((zrc = zoo_aget(zk->zh, path, 0, get_done, p)) != ZOK) {
		/* After a marshalling error the client may still hold the
		 * completion (registered before the send failed): p stays. */
		if (zrc != ZMARSHALLINGERROR) {
			pthread_cond_destroy(&p->cv);
			pthread_mutex_destroy(&p->mu);
			free(p);
		}
		return zk_err(zrc, "get", path);
	}
	*out = p;
	return RS_OK;
}

int
rs_zk_get_finish(rs_zk_pending *p, int timeout_ms, char **data, size_t *len)
{
	struct timespec until = rs_time_abs_in(CLOCK_MONOTONIC, timeout_ms);
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	while (!p->done && rc == 0)
		rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
	bool done = p->done;
	pthread_mutex_unlock(&p->mu);
	if (!done) {
		/* get_done will still write into p: it stays allocated. */
		rs_warn(NULL,
		    "event=zk_error op=get path=%s error=\"no answer "
		    "in %d ms\"",
		    p->path, timeout_ms);
		return RS_ETIMEDOUT;
	}
	rc = zk_err(p->zrc, "get", p->path);
	if (rc == RS_OK) {
		*data = p->data;
		if (len != NULL)
			*len = p->len;
	} else {
		free(p->data);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}

int
rs_zk_session_ms(rs_zk *zk)
{
	return zk != NULL && zk->zh != NULL ? zoo_recv_timeout(zk->zh) : 0;
}

int
rs_zk_set(rs_zk *zk, const char *path, const void *data, size_t len)
{
	if (!valid_path(path) || len > INT32_MAX || (data == NULL && len > 0))
		return RS_EINVAL;
	return zk_err(
	    zoo_set(zk->zh, path, data, data != NULL ? (int) len : -1, -1),
	    "set", path);
}

int
rs_zk_delete(rs_zk *zk, const char *path)
{
	if (!valid_path(path))
		return RS_EINVAL;
	return zk_err(zoo_delete(zk->zh, path, -1), "delete", path);
}

int
rs_zk_children(
    rs_zk *zk, const char *path, bool watch, char ***names, int *count)
{
	struct String_vector sv = { 0, NULL };
	char **v;
	int rc;

	if (!valid_path(path) || names == NULL || count == NULL)
		return RS_EINVAL;
	if ((rc = zk_err(
	         zoo_get_children(zk->zh, path, watch, &sv), "children", path))
	    != RS_OK)
		return rc;
	if ((v = calloc((size_t) sv.count + 1, sizeof(*v))) == NULL) {
		deallocate_String_vector(&sv);
		return RS_ENOMEM;
	}
	for (int i = 0; i < sv.count; i++) {
		if ((v[i] = strdup(sv.data[i])) == NULL) {
			rs_zk_free_children(v, i);
			deallocate_String_vector(&sv);
			return RS_ENOMEM;
		}
	}
	*names = v;
	*count = sv.count;
	deallocate_String_vector(&sv);
	return RS_OK;
}

void
rs_zk_free_children(char **names, int count)
{
	rs_names_free(names, count);
}

/* Creates the parent of path (for a counter whose parent is missing). */
static int
ensure_parent(rs_zk *zk, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	int rc;

	if (slash == path)
		return RS_OK;
	if ((parent = strndup(path, (size_t) (slash - path))) == NULL)
		return RS_ENOMEM;
	rc = rs_zk_ensure_path(zk, parent);
	free(parent);
	return rc;
}

int
rs_zk_incr(rs_zk *zk, const char *path, uint64_t *out)
{
	char buf[32], *end;
	struct Stat st;
	unsigned long long v;
	int blen, zrc, n, rc;

	if (!valid_path(path) || out == NULL)
		return RS_EINVAL;
	for (int tries = 0; tries < INCR_TRIES; tries++) {
		blen = sizeof(buf) - 1;
		zrc = zoo_get(zk->zh, path, 0, buf, &blen, &st);
		if (zrc == ZNONODE) {
			/* Absent counts as 0; creating it with 1 is the
			 * increment, and atomic. */
			zrc = zoo_create(zk->zh, path, "1", 1, zk->acl,
			    ZOO_PERSISTENT, NULL, 0);
			if (zrc == ZOK) {
				*out = 1;
				return RS_OK;
			}
			if (zrc == ZNONODE
			    && (rc = ensure_parent(zk, path)) != RS_OK)
				return rc;
			if (zrc == ZNONODE || zrc == ZNODEEXISTS)
				continue;
			return zk_err(zrc, "create", path);
		}
		if (zrc != ZOK)
			return zk_err(zrc, "get", path);
		if (st.dataLength > (int) sizeof(buf) - 1) {
			rs_error(NULL, "event=zk_bad_counter path=%s len=%d",
			    path, st.dataLength);
			return RS_EPROTO;
		}
		if (blen < 0)
			blen = 0;
		buf[blen] = '\0';
		errno = 0;
		v = blen == 0 ? 0 : strtoull(buf, &end, 10);
		if (blen > 0
		    && (errno != 0 || *end != '\0' || buf[0] == '-')) {
			rs_error(NULL,
			    "event=zk_bad_counter path=%s value=\"%s\"", path,
			    buf);
			return RS_EPROTO;
		}
		n = snprintf(buf, sizeof(buf), "%llu", v + 1);
		zrc = zoo_set(zk->zh, path, buf, n, st.version);
		if (zrc == ZOK) {
			*out = v + 1;
			return RS_OK;
		}
		if (zrc == ZBADVERSION || zrc == ZNONODE)
			continue; /* someone else moved it: read again */
		return zk_err(zrc, "set", path);
	}
	rs_error(NULL, "event=zk_incr_contended path=%s tries=%d", path,
	    INCR_TRIES);
	return RS_EAGAIN;
}

/* Parses "<major> <minor>"; RS_EPROTO when it is not that. */
static int
parse_mark(const char *buf, uint64_t *major, uint64_t *minor)
{
	unsigned long long a, b;
	int end = 0;

	if (buf[0] == '\0') {
		*major = *minor = 0;
		return RS_OK;
	}
	if (sscanf(buf, "%llu %llu%n", &a, &b, &end) != 2 || buf[end] != '\0')
		return RS_EPROTO;
	*major = a;
	*minor = b;
	return RS_OK;
}

int
rs_zk_mark_get(rs_zk *zk, const char *path, uint64_t *major, uint64_t *minor)
{
	char *data;
	size_t len;
	int rc = rs_zk_get(zk, path, false, &data, &len);

	if (rc == RS_ENOTFOUND) {
		*major = *minor = 0;
		return RS_OK;
	}
	if (rc != RS_OK)
		return rc;
	rc = parse_mark(data, major, minor);
	if (rc != RS_OK)
		rs_error(NULL, "event=zk_bad_mark path=%s value=\"%.40s\"",
		    path, data);
	free(data);
	return rc;
}

int
rs_zk_mark_raise(rs_zk *zk, const char *path, uint64_t major, uint64_t minor)
{
	char buf[48];
	int n = snprintf(buf, sizeof(buf), "%llu %llu",
	    (unsigned long long) major, (unsigned long long) minor);

	if (!valid_path(path))
		return RS_EINVAL;
	for (int i = 0; i < INCR_TRIES; i++) {
		char cur[48];
		int clen = (int) sizeof(cur) - 1;
		struct Stat st;
		uint64_t a, b;
		int zrc = zoo_get(zk->zh, path, 0, cur, &clen, &st);

		if (zrc == ZNONODE) {
			zrc = zoo_create(zk->zh, path, buf, n, zk->acl,
			    ZOO_PERSISTENT, NULL, 0);
			if (zrc == ZOK)
				return RS_OK;
			if (zrc == ZNODEEXISTS)
				continue;
			return zk_err(zrc, "create", path);
		}
		if (zrc != ZOK)
			return zk_err(zrc, "get", path);
		cur[clen < 0 ? 0 : clen] = '\0';
		if (parse_mark(cur, &a, &b) != RS_OK)
			a = b = 0; /* garbage: overwrite it */
		if (a > major || (a == major && b >= minor))
			return RS_OK;
		zrc = zoo_set(zk->zh, path, buf, n, st.version);
		if (zrc == ZOK)
			return RS_OK;
		if (zrc == ZBADVERSION || zrc == ZNONODE)
			continue;
		return zk_err(zrc, "set", path);
	}
	return RS_EAGAIN;
}
