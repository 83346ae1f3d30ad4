/* RabbitMQ helper on librabbitmq 0.11: one connection, one channel.
 *
 * Failure model. A library (socket) error, a connection.close from the
 * broker, an asynchronous channel.close (seen while reading frames) or a
 * consumer cancelled by the broker make the object dead: that call and
 * every later one return RS_ECONN, and the owner reconnects. A channel
 * error answering a synchronous method (e.g. PRECONDITION_FAILED on a
 * declare with other arguments) returns RS_EMQ (RS_ENOTFOUND for 404) and
 * the channel is reopened, so the object stays usable unless it had
 * consumers (they died with the channel: the object becomes dead). */
#include "rs_mq.h"
#include "rs_contract.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"

#include <amqp.h>
#include <protobuf-c/protobuf-c.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Default AMQP heartbeat; RIDESHARE_AMQP_HEARTBEAT_S overrides it. A short
 * one lets the broker notice a cut-off (not crashed) master sooner, which
 * hands writeQ's single active consumer to the new master. */
#define HEARTBEAT_S          10
#define CONNECT_TIMEOUT_MS   5000
#define RPC_TIMEOUT_S        10
#define CLOSE_TIMEOUT_S      2
#define FRAME_MAX            131072
#define STR_MAX              256
#define CONTENT_TYPE_DEFAULT "application/x-protobuf"
/* Keepalive: frames read per visit, and deliveries held for an owner that
 * is away (beyond that they wait in the socket, which only costs us the
 * broker's heartbeats until the owner reads again). */
#define KA_READ_MAX    256
#define IDLE_QUEUE_MAX 1024

/* A delivery the keepalive read while the owner was away. */
struct idle_msg {
	amqp_envelope_t env;
	struct idle_msg *next;
};

struct rs_mq {
	/* Held by every public call and by a keepalive visit: librabbitmq
	 * state is never touched by two threads at once. */
	pthread_mutex_t lock;
	amqp_connection_state_t conn;
	amqp_channel_t ch; /* the working channel */
	amqp_channel_t next_ch; /* next channel number to hand out */
	amqp_channel_t max_ch;
	char broker[128]; /* host:port/vhost, for logs (no credentials) */
	bool dead; /* unusable: every call returns RS_ECONN */
	bool conn_dead; /* socket gone: do not even say goodbye */
	bool dlx_declared;
	bool reopening; /* inside reopen_channel: a second close is fatal */
	int consumers;
	uint16_t prefetch;

	/* Publisher confirms: tags 1..published were sent; every tag <=
	 * confirmed is settled; pending[] holds settled tags > confirmed
	 * (the broker may confirm out of order). */
	bool confirm;
	bool nacked;
	uint64_t published;
	uint64_t confirmed;
	uint64_t *pending;
	size_t npending;
	size_t cappending;

	/* The message currently handed out by rs_mq_next / rs_mq_get. */
	bool have_env;
	amqp_envelope_t env;
	bool have_get;
	amqp_message_t getmsg;
	char reply_to[STR_MAX];
	char correlation_id[STR_MAX];
	char consumer_tag[STR_MAX];
	char content_type[STR_MAX];

	/* Idle keepalive (see "idle keepalive" below). heartbeat_s is the
	 * negotiated interval (0: none, not registered); last_use_ms is
	 * when the owner's last call ended. ka_* links and ka_pass belong
	 * to ka.mu, the rest to lock. */
	int heartbeat_s;
	int64_t last_use_ms;
	int64_t ka_sent_ms;
	struct idle_msg *idle_head, *idle_tail;
	size_t nidle;
	bool registered;
	rs_mq *ka_next, *ka_prev;
	unsigned ka_pass;
};

/* NULL for "forever" (ms < 0). */
static struct timeval *
to_timeval(int64_t ms, struct timeval *tv)
{
	if (ms < 0)
		return NULL;
	tv->tv_sec = (time_t) (ms / 1000);
	tv->tv_usec = (suseconds_t) (ms % 1000) * 1000;
	return tv;
}

static void
copy_bytes(char *dst, size_t cap, amqp_bytes_t b)
{
	size_t n = b.len < cap - 1 ? b.len : cap - 1;

	if (n > 0)
		memcpy(dst, b.bytes, n);
	dst[n] = '\0';
}

/* Entry check of every operation. Also frees the decoded frames of
 * earlier calls: a held message owns its memory, nothing else is kept. */
static bool
usable(rs_mq *mq)
{
	if (mq->dead)
		return false;
	amqp_maybe_release_buffers(mq->conn);
	return true;
}

/* How a call on a named queue, exchange or consumer starts: RS_EINVAL for
 * a NULL or empty name, RS_ECONN when mq is dead, else RS_OK. */
static int
usable_named(rs_mq *mq, const char *name)
{
	if (name == NULL || *name == '\0')
		return RS_EINVAL;
	return usable(mq) ? RS_OK : RS_ECONN;
}

static void
mark_dead(rs_mq *mq, bool conn_gone)
{
	mq->dead = true;
	if (conn_gone)
		mq->conn_dead = true;
}

/* Logs a connection.close / channel.close sent by the broker and answers
 * it with close-ok, as the protocol requires. Returns the reply code. */
static int
ack_broker_close(
    rs_mq *mq, amqp_channel_t ch, const amqp_method_t *m, const char *op)
{
	if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t *c = m->decoded;
		amqp_connection_close_ok_t ok = { 0 };

		rs_error(NULL,
		    "event=amqp_connection_closed broker=%s op=%s code=%u "
		    "text=\"%.*s\"",
		    mq->broker, op, (unsigned) c->reply_code,
		    (int) c->reply_text.len,
		    (const char *) c->reply_text.bytes);
		(void) amqp_send_method(
		    mq->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
		mark_dead(mq, true);
		return c->reply_code;
	}
	if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_t *c = m->decoded;
		amqp_channel_close_ok_t ok = { 0 };

		rs_error(NULL,
		    "event=amqp_channel_closed broker=%s op=%s channel=%u "
		    "code=%u text=\"%.*s\"",
		    mq->broker, op, (unsigned) ch, (unsigned) c->reply_code,
		    (int) c->reply_text.len,
		    (const char *) c->reply_text.bytes);
		if (amqp_send_method(
		        mq->conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
		    != AMQP_STATUS_OK)
			mark_dead(mq, true);
		return c->reply_code;
	}
	rs_error(NULL,
	    "event=amqp_unexpected_method broker=%s op=%s method=0x%08x",
	    mq->broker, op, (unsigned) m->id);
	return 0;
}

static amqp_channel_t
take_channel(rs_mq *mq)
{
	amqp_channel_t c = mq->next_ch;

	if (c == mq->ch)
		c++;
	if (c == 0 || c > mq->max_ch)
		c = 1;
	if (c == mq->ch)
		c = c + 1 > mq->max_ch ? 1 : c + 1;
	mq->next_ch = (amqp_channel_t) (c + 1);
	return c;
}

static int check_reply(
    rs_mq *mq, amqp_channel_t ch, amqp_rpc_reply_t r, const char *op);

/* After the broker closed the working channel in answer to a synchronous
 * method: open a fresh one and restore qos and confirm mode, unless
 * consumers died with the old channel (then the object is dead). */
static void restore_channel(rs_mq *mq);

static void
reopen_channel(rs_mq *mq)
{
	if (mq->dead)
		return;
	if (mq->reopening || mq->consumers > 0) {
		rs_warn(NULL,
		    "event=amqp_channel_lost broker=%s consumers=%d why=%s",
		    mq->broker, mq->consumers,
		    mq->reopening ? "closed_while_reopening" : "consumers");
		mark_dead(mq, false);
		return;
	}
	mq->reopening = true;
	restore_channel(mq);
	mq->reopening = false;
}

static void
restore_channel(rs_mq *mq)
{
	amqp_channel_t c = take_channel(mq);

	amqp_channel_open(mq->conn, c);
	if (check_reply(mq, c, amqp_get_rpc_reply(mq->conn), "channel.open")
	    != RS_OK) {
		mark_dead(mq, false);
		return;
	}
	mq->ch = c;
	if (mq->prefetch > 0) {
		amqp_basic_qos(mq->conn, c, 0, mq->prefetch, 0);
		if (check_reply(
		        mq, c, amqp_get_rpc_reply(mq->conn), "basic.qos")
		    != RS_OK) {
			mark_dead(mq, false);
			return;
		}
	}
	if (mq->confirm) {
		/* Unsettled publishes of the old channel will never be
		 * confirmed: report them as failed. */
		if (mq->published > mq->confirmed)
			mq->nacked = true;
		mq->published = mq->confirmed = 0;
		mq->npending = 0;
		amqp_confirm_select(mq->conn, c);
		if (check_reply(
		        mq, c, amqp_get_rpc_reply(mq->conn), "confirm.select")
		    != RS_OK)
			mark_dead(mq, false);
	}
}

/* Turns the reply of a synchronous method on channel ch into an rs_err,
 * logging the broker's reply text. */
static int
check_reply(rs_mq *mq, amqp_channel_t ch, amqp_rpc_reply_t r, const char *op)
{
	int code;

	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL: return RS_OK;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		rs_error(NULL, "event=amqp_error broker=%s op=%s error=\"%s\"",
		    mq->broker, op, amqp_error_string2(r.library_error));
		mark_dead(mq, true);
		return r.library_error == AMQP_STATUS_NO_MEMORY ? RS_ENOMEM
		                                                : RS_ECONN;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		code = ack_broker_close(mq, ch, &r.reply, op);
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD)
			return RS_ECONN;
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD && ch == mq->ch)
			reopen_channel(mq);
		return code == AMQP_NOT_FOUND ? RS_ENOTFOUND : RS_EMQ;
	case AMQP_RESPONSE_NONE:
	default:
		rs_error(NULL,
		    "event=amqp_error broker=%s op=%s error=\"no reply\"",
		    mq->broker, op);
		mark_dead(mq, false);
		return RS_EMQ;
	}
}

static int
check_status(rs_mq *mq, int status, const char *op)
{
	if (status == AMQP_STATUS_OK)
		return RS_OK;
	rs_error(NULL, "event=amqp_error broker=%s op=%s error=\"%s\"",
	    mq->broker, op, amqp_error_string2(status));
	mark_dead(mq, true);
	return status == AMQP_STATUS_NO_MEMORY ? RS_ENOMEM : RS_ECONN;
}

/* ---- publisher confirm bookkeeping ------------------------------------ */

static void
settle(rs_mq *mq, uint64_t tag, bool multiple)
{
	bool moved = true;

	if (multiple) {
		if (tag > mq->confirmed)
			mq->confirmed = tag;
	} else if (tag == mq->confirmed + 1) {
		mq->confirmed = tag;
	} else if (tag > mq->confirmed) {
		if (mq->npending == mq->cappending) {
			size_t cap = mq->cappending ? mq->cappending * 2 : 16;
			uint64_t *p = realloc(mq->pending, cap * sizeof(*p));

			if (p == NULL) {
				/* Cannot remember it: treat as lost. */
				mq->nacked = true;
				return;
			}
			mq->pending = p;
			mq->cappending = cap;
		}
		mq->pending[mq->npending++] = tag;
	}
	/* Fold individually settled tags into the contiguous prefix. */
	while (moved) {
		moved = false;
		for (size_t i = 0; i < mq->npending;) {
			if (mq->pending[i] <= mq->confirmed + 1) {
				if (mq->pending[i] == mq->confirmed + 1) {
					mq->confirmed++;
					moved = true;
				}
				mq->pending[i] = mq->pending[--mq->npending];
			} else {
				i++;
			}
		}
	}
}

/* ---- frames outside the synchronous methods --------------------------- */

/* Skips the content (header + body frames) of a message we do not want,
 * e.g. a basic.return. */
static int
skip_content(rs_mq *mq, amqp_channel_t ch)
{
	amqp_message_t m;
	amqp_rpc_reply_t r = amqp_read_message(mq->conn, ch, &m, 0);

	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return check_reply(mq, ch, r, "read_message");
	amqp_destroy_message(&m);
	return RS_OK;
}

/* Acts on one frame that arrived outside a synchronous method: confirms,
 * closes, cancellations. RS_ECONN when the object died. */
static int
handle_frame(rs_mq *mq, amqp_frame_t *f, const char *op)
{
	amqp_method_t *m = &f->payload.method;

	if (f->frame_type != AMQP_FRAME_METHOD)
		return RS_OK; /* content of something skipped; heartbeats */
	if (m->id == AMQP_CONNECTION_CLOSE_METHOD
	    || (m->id == AMQP_CHANNEL_CLOSE_METHOD && f->channel == mq->ch)) {
		(void) ack_broker_close(mq, f->channel, m, op);
		mark_dead(mq, false);
		return RS_ECONN;
	}
	if (f->channel != mq->ch) {
		rs_debug(NULL,
		    "event=amqp_stray_frame channel=%u method=0x%08x",
		    (unsigned) f->channel, (unsigned) m->id);
		return RS_OK;
	}
	switch (m->id) {
	case AMQP_BASIC_ACK_METHOD: {
		amqp_basic_ack_t *a = m->decoded;

		settle(mq, a->delivery_tag, a->multiple != 0);
		return RS_OK;
	}
	case AMQP_BASIC_NACK_METHOD: {
		amqp_basic_nack_t *n = m->decoded;

		rs_error(NULL,
		    "event=amqp_publish_nacked broker=%s tag=%llu multiple=%d",
		    mq->broker, (unsigned long long) n->delivery_tag,
		    (int) n->multiple);
		mq->nacked = true;
		settle(mq, n->delivery_tag, n->multiple != 0);
		return RS_OK;
	}
	case AMQP_BASIC_CANCEL_METHOD: {
		amqp_basic_cancel_t *c = m->decoded;
		amqp_basic_cancel_ok_t ok;

		rs_warn(NULL,
		    "event=amqp_consumer_cancelled broker=%s "
		    "consumer=\"%.*s\"",
		    mq->broker, (int) c->consumer_tag.len,
		    (const char *) c->consumer_tag.bytes);
		if (!c->nowait) {
			ok.consumer_tag = c->consumer_tag;
			(void) amqp_send_method(mq->conn, mq->ch,
			    AMQP_BASIC_CANCEL_OK_METHOD, &ok);
		}
		mark_dead(mq, false);
		return RS_ECONN;
	}
	case AMQP_BASIC_RETURN_METHOD: {
		amqp_basic_return_t *rt = m->decoded;

		rs_warn(NULL,
		    "event=amqp_returned broker=%s code=%u text=\"%.*s\"",
		    mq->broker, (unsigned) rt->reply_code,
		    (int) rt->reply_text.len,
		    (const char *) rt->reply_text.bytes);
		return skip_content(mq, f->channel);
	}
	case AMQP_BASIC_DELIVER_METHOD:
		/* Only possible when a consumer and a confirm waiter share
		 * the object (documented misuse): the message stays unacked
		 * and is redelivered when the channel closes. */
		rs_error(NULL, "event=amqp_delivery_dropped broker=%s op=%s",
		    mq->broker, op);
		return skip_content(mq, f->channel);
	default:
		rs_debug(NULL, "event=amqp_ignored_method method=0x%08x",
		    (unsigned) m->id);
		return RS_OK;
	}
}

/* Reads and handles one frame, waiting up to ms (-1 forever).
 * RS_ETIMEDOUT when none came. */
static int
read_frame(rs_mq *mq, int64_t ms, const char *op)
{
	amqp_frame_t f;
	struct timeval tv;
	int rc,
	    st = amqp_simple_wait_frame_noblock(
	        mq->conn, &f, to_timeval(ms, &tv));

	if (st == AMQP_STATUS_TIMEOUT)
		return RS_ETIMEDOUT;
	if (st != AMQP_STATUS_OK)
		return check_status(mq, st, op);
	rc = handle_frame(mq, &f, op);
	/* Confirms of a long publishing run must not pile up. */
	if (!mq->dead)
		amqp_maybe_release_buffers(mq->conn);
	return rc;
}

/* Handles every frame that is already readable, without blocking. Safe
 * only without consumers (a delivery would be skipped). */
static int
drain(rs_mq *mq, const char *op)
{
	int rc;

	do {
		rc = read_frame(mq, 0, op);
	} while (rc == RS_OK);
	return rc == RS_ETIMEDOUT ? RS_OK : rc;
}

/* ---- idle keepalive --------------------------------------------------- */

/* librabbitmq sends and checks heartbeats only inside calls that read the
 * socket. A connection whose owner makes no call for about two heartbeat
 * intervals (an idle publisher, an RPC client between requests) is closed
 * by the broker ("missed heartbeats from client"), and the owner learns it
 * from its next publish. So one process-wide thread visits, every quarter
 * interval, each connection whose owner has been away for half an
 * interval, and does what a call would: sends a heartbeat and reads what
 * has arrived. It only takes a free lock, so it never delays an owner
 * (a blocked rs_mq_next services heartbeats itself). Deliveries it reads
 * are queued for rs_mq_next in arrival order; confirms, closes and
 * cancellations are handled as in any call; a closed, reset or silent
 * (two intervals) broker makes the object dead, so the owner's next call
 * fails at once with RS_ECONN. The thread starts with the first
 * registered connection and ends when the last one is destroyed. */

static void *ka_main(void *arg);

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC; wakes the thread to exit */
	rs_mq *head; /* connections with a heartbeat */
	bool running;
	unsigned pass;
} ka = { .once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER };

static void
ka_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&ka.cv, &a);
	pthread_condattr_destroy(&a);
}

/* Adds mq (heartbeat_s > 0) to the visited set; starts the thread. Without
 * a thread (pthread_create failed) everything works as before: idle
 * connections may then die and be reconnected by their owners. */
static void
ka_register(rs_mq *mq)
{
	pthread_once(&ka.once, ka_init);
	pthread_mutex_lock(&ka.mu);
	mq->ka_prev = NULL;
	mq->ka_next = ka.head;
	if (ka.head != NULL)
		ka.head->ka_prev = mq;
	ka.head = mq;
	mq->registered = true;
	if (!ka.running) {
		sigset_t all, old;
		pthread_attr_t at;
		pthread_t t;
		int err;

		/* Signals stay with the threads that wait for them. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &at, ka_main, NULL);
		pthread_attr_destroy(&at);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err == 0)
			ka.running = true;
		else
			rs_warn(NULL,
			    "event=amqp_keepalive_unavailable error=\"%s\"",
			    strerror(err));
	} else {
		/* A shorter interval than the thread sleeps may have come. */
		pthread_cond_signal(&ka.cv);
	}
	pthread_mutex_unlock(&ka.mu);
}

/* Removes mq from the visited set. A visit in progress still holds
 * mq->lock: the caller takes it before freeing anything. */
static void
ka_unregister(rs_mq *mq)
{
	if (!mq->registered)
		return;
	pthread_mutex_lock(&ka.mu);
	if (mq->ka_prev != NULL)
		mq->ka_prev->ka_next = mq->ka_next;
	else
		ka.head = mq->ka_next;
	if (mq->ka_next != NULL)
		mq->ka_next->ka_prev = mq->ka_prev;
	mq->registered = false;
	if (ka.head == NULL)
		pthread_cond_signal(&ka.cv);
	pthread_mutex_unlock(&ka.mu);
}

static void
idle_push(rs_mq *mq, struct idle_msg *im)
{
	im->next = NULL;
	if (mq->idle_tail != NULL)
		mq->idle_tail->next = im;
	else
		mq->idle_head = im;
	mq->idle_tail = im;
	mq->nidle++;
}

static struct idle_msg *
idle_pop(rs_mq *mq)
{
	struct idle_msg *im = mq->idle_head;

	if (im != NULL) {
		mq->idle_head = im->next;
		if (mq->idle_head == NULL)
			mq->idle_tail = NULL;
		mq->nidle--;
	}
	return im;
}

static void
idle_clear(rs_mq *mq)
{
	struct idle_msg *im;

	while ((im = idle_pop(mq)) != NULL) {
		amqp_destroy_envelope(&im->env);
		free(im);
	}
}

/* Reads what has arrived, as a call would. Waits 1 ms rather than 0:
 * librabbitmq checks its receive deadline (two intervals without a byte:
 * the broker is gone) only when it is about to wait. */
static void
ka_read(rs_mq *mq)
{
	struct timeval tv = { 0, 1000 };

	for (int i = 0; i < KA_READ_MAX && !mq->dead; i++) {
		struct idle_msg *im;
		amqp_rpc_reply_t r;
		int rc;

		/* Deliveries are taken even without consumers: late ones
		 * for a cancelled consumer go to rs_mq_next as before. */
		if (mq->nidle >= IDLE_QUEUE_MAX
		    || (im = calloc(1, sizeof(*im))) == NULL)
			return;
		r = amqp_consume_message(mq->conn, &im->env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			idle_push(mq, im);
			continue;
		}
		free(im);
		if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION) {
			(void) check_reply(mq, mq->ch, r, "keepalive");
			return;
		}
		if (r.library_error == AMQP_STATUS_TIMEOUT)
			return;
		if (r.library_error != AMQP_STATUS_UNEXPECTED_STATE) {
			(void) check_status(mq, r.library_error, "keepalive");
			return;
		}
		/* Not a delivery (it was put back): handle it. */
		rc = read_frame(mq, 0, "keepalive");
		if (rc != RS_OK && rc != RS_ETIMEDOUT)
			return;
	}
}

/* One visit, with mq->lock held. */
static void
ka_service(rs_mq *mq)
{
	int64_t now = rs_time_now_ms(), half = mq->heartbeat_s * 500LL;
	int64_t sent = mq->ka_sent_ms > mq->last_use_ms ? mq->ka_sent_ms
	                                                : mq->last_use_ms;

	if (mq->dead || now - mq->last_use_ms < half)
		return;
	if (now - sent >= half) {
		amqp_frame_t hb;

		memset(&hb, 0, sizeof(hb));
		hb.frame_type = AMQP_FRAME_HEARTBEAT;
		hb.channel = 0;
		if (check_status(
		        mq, amqp_send_frame(mq->conn, &hb), "keepalive")
		    != RS_OK)
			return;
		mq->ka_sent_ms = now;
	}
	ka_read(mq);
}

static void *
ka_main(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&ka.mu);
	while (ka.head != NULL) {
		int64_t period = INT64_MAX;
		struct timespec ts;
		rs_mq *mq;

		if (++ka.pass == 0)
			ka.pass = 1;
		/* The registry may change while a connection is serviced
		 * (ka.mu is released then): rescan, skipping the visited. */
		for (;;) {
			for (mq = ka.head;
			     mq != NULL && mq->ka_pass == ka.pass;
			     mq = mq->ka_next)
				;
			if (mq == NULL)
				break;
			mq->ka_pass = ka.pass;
			if (mq->heartbeat_s * 250LL < period)
				period = mq->heartbeat_s * 250LL;
			if (pthread_mutex_trylock(&mq->lock) != 0)
				continue; /* in a call: the call services it */
			pthread_mutex_unlock(&ka.mu);
			ka_service(mq);
			pthread_mutex_unlock(&mq->lock);
			pthread_mutex_lock(&ka.mu);
		}
		if (ka.head == NULL)
			break;
		if (period == INT64_MAX)
			period = 250;
		ts = rs_time_abs_in(CLOCK_MONOTONIC, period);
		(void) pthread_cond_timedwait(&ka.cv, &ka.mu, &ts);
	}
	ka.running = false;
	pthread_mutex_unlock(&ka.mu);
	return NULL;
}

/* ---- connection ------------------------------------------------------- */

static amqp_table_entry_t
bool_entry(const char *key, int v)
{
	amqp_table_entry_t e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
	e.value.value.boolean = v;
	return e;
}

static amqp_table_entry_t
str_entry(const char *key, const char *v)
{
	amqp_table_entry_t e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes(v);
	return e;
}

/* One connection attempt; errors are logged at lvl. */
static int
mq_open(const char *url, const char *name, int64_t timeout_ms,
    enum rs_log_level lvl, rs_mq **out)
{
	struct amqp_connection_info ci;
	amqp_table_entry_t caps[1], props[2];
	amqp_table_t capt, propt;
	amqp_socket_t *sock;
	amqp_rpc_reply_t r;
	struct timeval tv;
	char *copy = NULL;
	rs_mq *mq = NULL;
	int rc, st;

	if (url == NULL || name == NULL)
		return RS_EINVAL;
	if ((copy = strdup(url)) == NULL)
		return RS_ENOMEM;
	if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK || ci.ssl) {
		/* The URL may carry a password: do not log it. */
		rs_error(NULL, "event=amqp_bad_url error=\"%s\"",
		    ci.ssl ? "amqps is not supported" : "malformed AMQP URL");
		rc = RS_EINVAL;
		goto fail;
	}
	/* "amqp://h:p/" parses as the empty vhost, which no broker has. */
	if (ci.vhost == NULL || *ci.vhost == '\0')
		ci.vhost = "/";
	if ((mq = calloc(1, sizeof(*mq))) == NULL) {
		rc = RS_ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&mq->lock, NULL);
	snprintf(mq->broker, sizeof(mq->broker), "%s:%d%s%s", ci.host, ci.port,
	    ci.vhost[0] == '/' ? "" : "/", ci.vhost);
	if ((mq->conn = amqp_new_connection()) == NULL
	    || (sock = amqp_tcp_socket_new(mq->conn)) == NULL) {
		rc = RS_ENOMEM;
		goto fail;
	}
	if (timeout_ms > CONNECT_TIMEOUT_MS)
		timeout_ms = CONNECT_TIMEOUT_MS;
	if (timeout_ms < 100)
		timeout_ms = 100;
	to_timeval(timeout_ms, &tv);
	(void) amqp_set_handshake_timeout(mq->conn, &tv);
	st = amqp_socket_open_noblock(sock, ci.host, ci.port, &tv);
	if (st != AMQP_STATUS_OK) {
		rs_log(lvl, NULL,
		    "event=amqp_connect_failed broker=%s error=\"%s\" "
		    "errno=\"%s\"",
		    mq->broker, amqp_error_string2(st), strerror(errno));
		rc = RS_ECONN;
		goto fail;
	}
	caps[0] = bool_entry("consumer_cancel_notify", 1);
	capt.num_entries = 1;
	capt.entries = caps;
	props[0] = str_entry("connection_name", name);
	props[1].key = amqp_cstring_bytes("capabilities");
	props[1].value.kind = AMQP_FIELD_KIND_TABLE;
	props[1].value.value.table = capt;
	propt.num_entries = 2;
	propt.entries = props;
	r = amqp_login_with_properties(mq->conn, ci.vhost, 0, FRAME_MAX,
	    (int) rs_cfg_long(
	        "RIDESHARE_AMQP_HEARTBEAT_S", HEARTBEAT_S, 0, 600),
	    &propt, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
		    && r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *c = r.reply.decoded;

			rs_log(lvl, NULL,
			    "event=amqp_login_failed broker=%s code=%u "
			    "text=\"%.*s\"",
			    mq->broker, (unsigned) c->reply_code,
			    (int) c->reply_text.len,
			    (const char *) c->reply_text.bytes);
		} else {
			rs_log(lvl, NULL,
			    "event=amqp_login_failed broker=%s error=\"%s\"",
			    mq->broker,
			    r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
			        ? amqp_error_string2(r.library_error)
			        : "unexpected reply");
		}
		rc = RS_ECONN;
		goto fail;
	}
	tv.tv_sec = RPC_TIMEOUT_S;
	tv.tv_usec = 0;
	(void) amqp_set_rpc_timeout(mq->conn, &tv);
	mq->max_ch = amqp_get_channel_max(mq->conn) > 0
	    ? (amqp_channel_t) amqp_get_channel_max(mq->conn)
	    : 65535;
	mq->ch = 1;
	mq->next_ch = 2;
	amqp_channel_open(mq->conn, 1);
	if ((rc = check_reply(
	         mq, 1, amqp_get_rpc_reply(mq->conn), "channel.open"))
	    != RS_OK)
		goto fail;
	free(copy);
	/* The negotiated interval: the broker may have lowered ours. */
	mq->heartbeat_s = amqp_get_heartbeat(mq->conn);
	mq->last_use_ms = rs_time_now_ms();
	if (mq->heartbeat_s > 0)
		ka_register(mq);
	*out = mq;
	return RS_OK;

fail:
	if (mq != NULL) {
		if (mq->conn != NULL)
			amqp_destroy_connection(mq->conn);
		pthread_mutex_destroy(&mq->lock);
		free(mq);
	}
	free(copy);
	return rc;
}

/* url may be a comma-separated list of brokers (a cluster's nodes): each
 * is tried in order until one accepts; errors of all but the last are
 * logged at debug. */
static int
mq_open_list(const char *url, const char *name, int64_t timeout_ms,
    enum rs_log_level lvl, rs_mq **out)
{
	char *copy, *save = NULL, *tok, *next;
	int rc = RS_EINVAL;

	if (url == NULL || strchr(url, ',') == NULL)
		return mq_open(url, name, timeout_ms, lvl, out);
	if ((copy = strdup(url)) == NULL)
		return RS_ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = next) {
		next = strtok_r(NULL, ",", &save);
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		rc = mq_open(
		    tok, name, timeout_ms, next ? RS_LOG_DEBUG : lvl, out);
		if (rc == RS_OK || rc == RS_ENOMEM)
			break;
	}
	free(copy);
	return rc;
}

int
rs_mq_connect(const char *url, const char *name, rs_mq **out)
{
	return mq_open_list(url, name, CONNECT_TIMEOUT_MS, RS_LOG_ERROR, out);
}

int
rs_mq_connect_retry(
    const char *url, const char *name, int max_wait_ms, rs_mq **out)
{
	int64_t deadline = rs_time_deadline(max_wait_ms > 0 ? max_wait_ms : 0);
	int64_t backoff = 50, left;
	int attempts = 0, rc;

	for (;;) {
		attempts++;
		left = rs_time_left_ms(deadline);
		rc = mq_open_list(url, name, left, RS_LOG_DEBUG, out);
		if (rc == RS_OK) {
			if (attempts > 1)
				rs_info(NULL,
				    "event=amqp_connected attempts=%d",
				    attempts);
			return RS_OK;
		}
		if (rc == RS_EINVAL || rc == RS_ENOMEM)
			return rc;
		if (!rs_time_backoff_sleep(&backoff, 1000, deadline))
			break;
	}
	rs_warn(NULL,
	    "event=amqp_connect_gave_up attempts=%d waited_ms=%d last=\"%s\"",
	    attempts, max_wait_ms, rs_strerror(rc));
	return RS_ETIMEDOUT;
}

static void
release_held(rs_mq *mq)
{
	if (mq->have_env) {
		amqp_destroy_envelope(&mq->env);
		mq->have_env = false;
	}
	if (mq->have_get) {
		amqp_destroy_message(&mq->getmsg);
		mq->have_get = false;
	}
	amqp_maybe_release_buffers(mq->conn);
}

void
rs_mq_destroy(rs_mq *mq)
{
	struct timeval tv = { CLOSE_TIMEOUT_S, 0 };

	if (mq == NULL)
		return;
	ka_unregister(mq);
	/* Waits for a keepalive visit in progress; none can start now. */
	pthread_mutex_lock(&mq->lock);
	release_held(mq);
	idle_clear(mq);
	if (!mq->conn_dead) {
		/* Closing the connection closes the channel; unacked
		 * deliveries go back to their queues. */
		(void) amqp_set_rpc_timeout(mq->conn, &tv);
		(void) amqp_connection_close(mq->conn, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(mq->conn);
	pthread_mutex_unlock(&mq->lock);
	pthread_mutex_destroy(&mq->lock);
	free(mq->pending);
	free(mq);
}

/* ---- declarations ----------------------------------------------------- */

static int
declare_exchange(rs_mq *mq, const char *exchange, const char *type)
{
	amqp_exchange_declare(mq->conn, mq->ch, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes(type), 0, 1, 0, 0, amqp_empty_table);
	return check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "exchange.declare");
}

/* RIDESHARE_AMQP_QUEUE_TYPE=quorum: durable shared queues become quorum
 * queues (replicated over a broker cluster: docs/swarm.md). Exclusive and
 * auto-delete queues stay classic (quorum queues cannot be either). */
static bool
quorum_wanted(unsigned flags)
{
	const char *t = rs_cfg_str("RIDESHARE_AMQP_QUEUE_TYPE", "classic");

	return strcmp(t, "quorum") == 0 && (flags & RS_MQ_DURABLE) != 0
	    && (flags & (RS_MQ_EXCLUSIVE | RS_MQ_AUTODELETE)) == 0;
}

static int
declare_queue(rs_mq *mq, const char *queue, unsigned flags)
{
	amqp_table_entry_t args[4];
	amqp_table_t t;
	int n = 0;

	if (quorum_wanted(flags))
		args[n++] = str_entry("x-queue-type", "quorum");

	if (flags & RS_MQ_EXPIRES) {
		args[n].key = amqp_cstring_bytes("x-expires");
		args[n].value.kind = AMQP_FIELD_KIND_I32;
		args[n++].value.value.i32 = RS_MQ_QUEUE_EXPIRES_MS;
	}
	if (flags & RS_MQ_SAC)
		args[n++] = bool_entry("x-single-active-consumer", 1);
	if (flags & RS_MQ_DLX)
		args[n++]
		    = str_entry("x-dead-letter-exchange", RS_MQ_DLX_EXCHANGE);
	t.num_entries = n;
	t.entries = args;
	amqp_queue_declare(mq->conn, mq->ch, amqp_cstring_bytes(queue), 0,
	    (flags & RS_MQ_DURABLE) != 0, (flags & RS_MQ_EXCLUSIVE) != 0,
	    (flags & RS_MQ_AUTODELETE) != 0, t);
	return check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "queue.declare");
}

static int
bind_queue(rs_mq *mq, const char *queue, const char *exchange)
{
	amqp_queue_bind(mq->conn, mq->ch, amqp_cstring_bytes(queue),
	    amqp_cstring_bytes(exchange), amqp_cstring_bytes(""),
	    amqp_empty_table);
	return check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "queue.bind");
}

static int
ensure_dlx(rs_mq *mq)
{
	int rc;

	if (mq->dlx_declared)
		return RS_OK;
	if ((rc = declare_exchange(mq, RS_MQ_DLX_EXCHANGE, "fanout")) != RS_OK
	    || (rc = declare_queue(mq, RS_MQ_DEAD_QUEUE, RS_MQ_DURABLE))
	        != RS_OK
	    || (rc = bind_queue(mq, RS_MQ_DEAD_QUEUE, RS_MQ_DLX_EXCHANGE))
	        != RS_OK)
		return rc;
	mq->dlx_declared = true;
	return RS_OK;
}

static int
mq_declare_queue(rs_mq *mq, const char *queue, unsigned flags)
{
	int rc;

	if ((rc = usable_named(mq, queue)) != RS_OK)
		return rc;
	if ((rc = ensure_dlx(mq)) != RS_OK)
		return rc;
	return declare_queue(mq, queue, flags);
}

static int
mq_declare_fanout(rs_mq *mq, const char *exchange)
{
	int rc = usable_named(mq, exchange);

	if (rc != RS_OK)
		return rc;
	return declare_exchange(mq, exchange, "fanout");
}

static int
mq_declare_topology(rs_mq *mq)
{
	/* docs/conventions.md, "RabbitMQ topology". Arguments are fixed
	 * here so that no two declarers ever disagree. */
	static const struct {
		const char *name;
		unsigned flags;
	} queues[] = {
		{ RS_Q_ORCHESTRATOR, RS_MQ_DURABLE | RS_MQ_DLX },
		{ RS_Q_WRITE, RS_MQ_DURABLE | RS_MQ_SAC | RS_MQ_DLX },
		{ RS_Q_READ, RS_MQ_DURABLE | RS_MQ_DLX },
		{ RS_Q_RESPONSE, RS_MQ_DURABLE | RS_MQ_DLX },
	};
	int rc;

	if (!usable(mq))
		return RS_ECONN;
	if ((rc = ensure_dlx(mq)) != RS_OK)
		return rc;
	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		if ((rc = declare_queue(mq, queues[i].name, queues[i].flags))
		    != RS_OK)
			return rc;
	}
	if ((rc = declare_exchange(mq, RS_X_SYNC, "fanout")) != RS_OK)
		return rc;
	return declare_exchange(mq, RS_MQ_COMMIT_EXCHANGE, "fanout");
}

static int
mq_bind(rs_mq *mq, const char *queue, const char *exchange)
{
	if (queue == NULL || exchange == NULL)
		return RS_EINVAL;
	if (!usable(mq))
		return RS_ECONN;
	return bind_queue(mq, queue, exchange);
}

static int
mq_delete_queue(rs_mq *mq, const char *queue)
{
	int rc = usable_named(mq, queue);

	if (rc != RS_OK)
		return rc;
	amqp_queue_delete(mq->conn, mq->ch, amqp_cstring_bytes(queue), 0, 0);
	return check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "queue.delete");
}

static int
mq_queue_depth(
    rs_mq *mq, const char *queue, uint32_t *messages, uint32_t *consumers)
{
	amqp_queue_declare_ok_t *ok;
	amqp_channel_t c;
	uint32_t m, k;
	int rc;

	if ((rc = usable_named(mq, queue)) != RS_OK)
		return rc;
	/* A passive declare of a missing queue closes its channel, so it
	 * runs on a channel of its own and the working one survives. */
	c = take_channel(mq);
	amqp_channel_open(mq->conn, c);
	if ((rc = check_reply(
	         mq, c, amqp_get_rpc_reply(mq->conn), "channel.open"))
	    != RS_OK)
		return rc;
	ok = amqp_queue_declare(mq->conn, c, amqp_cstring_bytes(queue), 1, 0,
	    0, 0, amqp_empty_table);
	if (ok == NULL) {
		amqp_rpc_reply_t r = amqp_get_rpc_reply(mq->conn);

		if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
		    && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD
		    && ((amqp_channel_close_t *) r.reply.decoded)->reply_code
		        == AMQP_NOT_FOUND) {
			amqp_channel_close_ok_t cok = { 0 };

			/* Expected outcome: not worth an error line. */
			if (amqp_send_method(mq->conn, c,
			        AMQP_CHANNEL_CLOSE_OK_METHOD, &cok)
			    != AMQP_STATUS_OK) {
				mark_dead(mq, true);
				return RS_ECONN;
			}
			return RS_ENOTFOUND;
		}
		return check_reply(mq, c, r, "queue.declare(passive)");
	}
	m = ok->message_count;
	k = ok->consumer_count;
	rc = check_reply(mq, c,
	    amqp_channel_close(mq->conn, c, AMQP_REPLY_SUCCESS),
	    "channel.close");
	if (rc != RS_OK)
		return rc;
	if (messages != NULL)
		*messages = m;
	if (consumers != NULL)
		*consumers = k;
	return RS_OK;
}

static int
mq_qos(rs_mq *mq, uint16_t prefetch)
{
	int rc;

	if (!usable(mq))
		return RS_ECONN;
	amqp_basic_qos(mq->conn, mq->ch, 0, prefetch, 0);
	rc = check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "basic.qos");
	if (rc == RS_OK)
		mq->prefetch = prefetch;
	return rc;
}

static int
mq_confirm_select(rs_mq *mq)
{
	int rc;

	if (!usable(mq))
		return RS_ECONN;
	if (mq->confirm)
		return RS_OK;
	amqp_confirm_select(mq->conn, mq->ch);
	rc = check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "confirm.select");
	if (rc == RS_OK) {
		mq->confirm = true;
		mq->published = mq->confirmed = 0;
		mq->npending = 0;
		mq->nacked = false;
	}
	return rc;
}

/* ---- publishing ------------------------------------------------------- */

static int
mq_publish(rs_mq *mq, const char *exchange, const char *routing_key,
    const void *body, size_t len, const rs_mq_props *props)
{
	amqp_basic_properties_t p;
	amqp_bytes_t b;
	int rc;

	if (routing_key == NULL || (body == NULL && len > 0))
		return RS_EINVAL;
	if (!usable(mq))
		return RS_ECONN;
	/* Without consumers nothing but confirms and errors can arrive:
	 * take them now, so a broker that closed us is noticed before a
	 * message is written into a dead socket. */
	if (mq->consumers == 0 && (rc = drain(mq, "basic.publish")) != RS_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
	p.content_type
	    = amqp_cstring_bytes(props != NULL && props->content_type != NULL
	            ? props->content_type
	            : CONTENT_TYPE_DEFAULT);
	if (props != NULL) {
		if (props->persistent) {
			p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
			p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
		}
		if (props->correlation_id != NULL) {
			p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
			p.correlation_id
			    = amqp_cstring_bytes(props->correlation_id);
		}
		if (props->reply_to != NULL) {
			p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
			p.reply_to = amqp_cstring_bytes(props->reply_to);
		}
	}
	b.bytes = (void *) body;
	b.len = len;
	rc = check_status(mq,
	    amqp_basic_publish(mq->conn, mq->ch,
	        amqp_cstring_bytes(exchange ? exchange : ""),
	        amqp_cstring_bytes(routing_key), 0, 0, &p, b),
	    "basic.publish");
	if (rc == RS_OK && mq->confirm)
		mq->published++;
	return rc;
}

static int
mq_wait_confirms(rs_mq *mq, int timeout_ms)
{
	int64_t deadline = rs_time_deadline(timeout_ms);
	int rc;

	if (!usable(mq))
		return RS_ECONN;
	if (!mq->confirm)
		return RS_ESTATE;
	/* Also services heartbeats on an otherwise idle publisher. */
	if ((rc = drain(mq, "wait_confirms")) != RS_OK)
		return rc;
	while (mq->confirmed < mq->published) {
		rc = read_frame(
		    mq, rs_time_left_ms(deadline), "wait_confirms");
		if (rc == RS_ETIMEDOUT) {
			if (rs_time_left_ms(deadline) == 0) {
				rs_warn(NULL,
				    "event=amqp_confirm_timeout broker=%s "
				    "unconfirmed=%llu",
				    mq->broker,
				    (unsigned long long) (mq->published
				        - mq->confirmed));
				return RS_ETIMEDOUT;
			}
			continue;
		}
		if (rc != RS_OK)
			return rc;
	}
	if (mq->nacked) {
		mq->nacked = false;
		return RS_EMQ;
	}
	return RS_OK;
}

/* ---- consuming -------------------------------------------------------- */

static int
mq_consume(rs_mq *mq, const char *queue, bool no_ack, char *tag_out)
{
	amqp_basic_consume_ok_t *ok;
	int rc;

	if ((rc = usable_named(mq, queue)) != RS_OK)
		return rc;
	ok = amqp_basic_consume(mq->conn, mq->ch, amqp_cstring_bytes(queue),
	    amqp_empty_bytes, 0, no_ack, 0, amqp_empty_table);
	rc = check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "basic.consume");
	if (rc != RS_OK)
		return rc;
	mq->consumers++;
	if (tag_out != NULL)
		copy_bytes(tag_out, STR_MAX, ok->consumer_tag);
	return RS_OK;
}

static int
mq_cancel(rs_mq *mq, const char *consumer_tag)
{
	int rc;

	if ((rc = usable_named(mq, consumer_tag)) != RS_OK)
		return rc;
	amqp_basic_cancel(mq->conn, mq->ch, amqp_cstring_bytes(consumer_tag));
	rc = check_reply(
	    mq, mq->ch, amqp_get_rpc_reply(mq->conn), "basic.cancel");
	if (rc == RS_OK && mq->consumers > 0)
		mq->consumers--;
	return rc;
}

static void
fill_msg(rs_mq *mq, amqp_message_t *m, uint64_t tag, bool redelivered,
    amqp_bytes_t ctag, rs_mq_msg *out)
{
	amqp_basic_properties_t *p = &m->properties;
	amqp_bytes_t none = { 0, NULL };

	copy_bytes(mq->reply_to, STR_MAX,
	    (p->_flags & AMQP_BASIC_REPLY_TO_FLAG) ? p->reply_to : none);
	copy_bytes(mq->correlation_id, STR_MAX,
	    (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) ? p->correlation_id
	                                                 : none);
	copy_bytes(mq->content_type, STR_MAX,
	    (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) ? p->content_type
	                                               : none);
	copy_bytes(mq->consumer_tag, STR_MAX, ctag);
	memset(out, 0, sizeof(*out));
	out->delivery_tag = tag;
	out->body = m->body.len > 0 ? m->body.bytes : (const void *) "";
	out->len = m->body.len;
	out->reply_to = mq->reply_to;
	out->correlation_id = mq->correlation_id;
	out->consumer_tag = mq->consumer_tag;
	out->content_type = mq->content_type;
	out->redelivered = redelivered;
	out->priv_ = mq;
}

static int
mq_next(rs_mq *mq, int timeout_ms, rs_mq_msg *out)
{
	int64_t deadline = rs_time_deadline(timeout_ms);
	amqp_rpc_reply_t r;
	struct timeval tv;
	int rc;

	if (!usable(mq))
		return RS_ECONN;
	release_held(mq);
	if (mq->idle_head != NULL) {
		/* Read by the keepalive: older than anything still unread. */
		struct idle_msg *im = idle_pop(mq);

		mq->env = im->env;
		free(im);
		mq->have_env = true;
		fill_msg(mq, &mq->env.message, mq->env.delivery_tag,
		    mq->env.redelivered != 0, mq->env.consumer_tag, out);
		return RS_OK;
	}
	for (;;) {
		r = amqp_consume_message(mq->conn, &mq->env,
		    to_timeval(rs_time_left_ms(deadline), &tv), 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			mq->have_env = true;
			fill_msg(mq, &mq->env.message, mq->env.delivery_tag,
			    mq->env.redelivered != 0, mq->env.consumer_tag,
			    out);
			return RS_OK;
		}
		if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION)
			return check_reply(mq, mq->ch, r, "consume");
		if (r.library_error == AMQP_STATUS_TIMEOUT)
			return RS_ETIMEDOUT;
		if (r.library_error != AMQP_STATUS_UNEXPECTED_STATE)
			return check_status(mq, r.library_error, "consume");
		/* Something other than a delivery is waiting (it was put
		 * back): a confirm, a close, a cancellation. */
		if ((rc = read_frame(mq, 0, "consume")) != RS_OK
		    && rc != RS_ETIMEDOUT)
			return rc;
	}
}

static int
mq_get(rs_mq *mq, const char *queue, bool no_ack, rs_mq_msg *out)
{
	amqp_basic_get_ok_t *ok;
	amqp_rpc_reply_t r;
	uint64_t tag;
	bool redelivered;
	int rc;

	if ((rc = usable_named(mq, queue)) != RS_OK)
		return rc;
	release_held(mq);
	r = amqp_basic_get(
	    mq->conn, mq->ch, amqp_cstring_bytes(queue), no_ack);
	if ((rc = check_reply(mq, mq->ch, r, "basic.get")) != RS_OK)
		return rc;
	if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
		return RS_ENOTFOUND;
	ok = r.reply.decoded;
	tag = ok->delivery_tag;
	redelivered = ok->redelivered != 0;
	r = amqp_read_message(mq->conn, mq->ch, &mq->getmsg, 0);
	if ((rc = check_reply(mq, mq->ch, r, "basic.get(content)")) != RS_OK)
		return rc;
	mq->have_get = true;
	fill_msg(mq, &mq->getmsg, tag, redelivered, amqp_empty_bytes, out);
	return RS_OK;
}

static void
mq_msg_release(rs_mq *mq, rs_mq_msg *msg)
{
	if (mq == NULL)
		return;
	release_held(mq);
	if (msg != NULL)
		memset(msg, 0, sizeof(*msg));
}

static int
mq_ack(rs_mq *mq, uint64_t delivery_tag, bool multiple)
{
	if (!usable(mq))
		return RS_ECONN;
	return check_status(mq,
	    amqp_basic_ack(mq->conn, mq->ch, delivery_tag, multiple),
	    "basic.ack");
}

static int
mq_reject(rs_mq *mq, uint64_t delivery_tag, bool requeue)
{
	if (!usable(mq))
		return RS_ECONN;
	return check_status(mq,
	    amqp_basic_reject(mq->conn, mq->ch, delivery_tag, requeue),
	    "basic.reject");
}

static int
mq_fd(rs_mq *mq)
{
	return mq->conn_dead ? -1 : amqp_get_sockfd(mq->conn);
}

static bool
mq_has_buffered(rs_mq *mq)
{
	return mq->idle_head != NULL || amqp_frames_enqueued(mq->conn)
	    || amqp_data_in_buffer(mq->conn);
}

/* ---- public entry points ---------------------------------------------- */

/* Every public call holds mq->lock (so a keepalive visit never overlaps
 * it); those that do I/O record when they ended (so the keepalive knows
 * the owner is away). */
static void
enter(rs_mq *mq)
{
	pthread_mutex_lock(&mq->lock);
}

static void
leave(rs_mq *mq)
{
	mq->last_use_ms = rs_time_now_ms();
	pthread_mutex_unlock(&mq->lock);
}

#define QUIET(type, call)                        \
	do {                                     \
		type rv_;                        \
		enter(mq);                       \
		rv_ = call;                      \
		pthread_mutex_unlock(&mq->lock); \
		return rv_;                      \
	} while (0)

#define LOCKED(type, call)  \
	do {                \
		type rv_;   \
		enter(mq);  \
		rv_ = call; \
		leave(mq);  \
		return rv_; \
	} while (0)

int
rs_mq_declare_queue(rs_mq *mq, const char *queue, unsigned flags)
{
	LOCKED(int, mq_declare_queue(mq, queue, flags));
}

int
rs_mq_declare_fanout(rs_mq *mq, const char *exchange)
{
	LOCKED(int, mq_declare_fanout(mq, exchange));
}

int
rs_mq_declare_topology(rs_mq *mq)
{
	LOCKED(int, mq_declare_topology(mq));
}

int
rs_mq_bind(rs_mq *mq, const char *queue, const char *exchange)
{
	LOCKED(int, mq_bind(mq, queue, exchange));
}

int
rs_mq_delete_queue(rs_mq *mq, const char *queue)
{
	LOCKED(int, mq_delete_queue(mq, queue));
}

int
rs_mq_queue_depth(
    rs_mq *mq, const char *queue, uint32_t *messages, uint32_t *consumers)
{
	LOCKED(int, mq_queue_depth(mq, queue, messages, consumers));
}

int
rs_mq_qos(rs_mq *mq, uint16_t prefetch)
{
	LOCKED(int, mq_qos(mq, prefetch));
}

int
rs_mq_confirm_select(rs_mq *mq)
{
	LOCKED(int, mq_confirm_select(mq));
}

int
rs_mq_publish(rs_mq *mq, const char *exchange, const char *routing_key,
    const void *body, size_t len, const rs_mq_props *props)
{
	LOCKED(int, mq_publish(mq, exchange, routing_key, body, len, props));
}

int
rs_mq_publish_pb(rs_mq *mq, const char *exchange, const char *routing_key,
    const struct ProtobufCMessage *msg, const rs_mq_props *props)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len + 1); /* + 1: never malloc(0) */
	int rc;

	if (buf == NULL)
		return RS_ENOMEM;
	protobuf_c_message_pack(msg, buf);
	rc = rs_mq_publish(mq, exchange, routing_key, buf, len, props);
	free(buf);
	return rc;
}

int
rs_mq_wait_confirms(rs_mq *mq, int timeout_ms)
{
	LOCKED(int, mq_wait_confirms(mq, timeout_ms));
}

int
rs_mq_consume(rs_mq *mq, const char *queue, bool no_ack, char *tag_out)
{
	LOCKED(int, mq_consume(mq, queue, no_ack, tag_out));
}

int
rs_mq_cancel(rs_mq *mq, const char *consumer_tag)
{
	LOCKED(int, mq_cancel(mq, consumer_tag));
}

int
rs_mq_next(rs_mq *mq, int timeout_ms, rs_mq_msg *out)
{
	LOCKED(int, mq_next(mq, timeout_ms, out));
}

int
rs_mq_get(rs_mq *mq, const char *queue, bool no_ack, rs_mq_msg *out)
{
	LOCKED(int, mq_get(mq, queue, no_ack, out));
}

void
rs_mq_msg_release(rs_mq *mq, rs_mq_msg *msg)
{
	if (mq == NULL)
		return;
	enter(mq);
	mq_msg_release(mq, msg);
	pthread_mutex_unlock(&mq->lock);
}

int
rs_mq_ack(rs_mq *mq, uint64_t delivery_tag, bool multiple)
{
	LOCKED(int, mq_ack(mq, delivery_tag, multiple));
}

int
rs_mq_reject(rs_mq *mq, uint64_t delivery_tag, bool requeue)
{
	LOCKED(int, mq_reject(mq, delivery_tag, requeue));
}

int
rs_mq_fd(rs_mq *mq)
{
	QUIET(int, mq_fd(mq));
}

bool
rs_mq_has_buffered(rs_mq *mq)
{
	QUIET(bool, mq_has_buffered(mq));
}
