/* nng pub/sub for short text notices ("head <epoch> <seq>", "status ..."). */
#include "rs_nng.h"
#include "rs_err.h"
#include "rs_log.h"

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 1000
/* Messages queued per peer (pub) and in total (sub). Beyond that pub0
 * drops the oldest: notices are state, so the newest is what counts. */
#define QUEUE_MSGS 128

static int
nng_to_rs(int nrv)
{
	switch (nrv) {
	case 0: return RS_OK;
	case NNG_ETIMEDOUT:
	case NNG_EAGAIN: return RS_ETIMEDOUT;
	case NNG_ECLOSED: return RS_ECLOSED;
	case NNG_ENOMEM: return RS_ENOMEM;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP: return RS_EINVAL;
	default: return RS_ENNG;
	}
}

static int
fail(int nrv, const char *op, const char *url)
{
	if (nrv == NNG_ECLOSED)
		return RS_ECLOSED; /* the owner closed it: not news */
	rs_error(NULL, "event=nng_error op=%s url=%s error=\"%s\"", op,
	    url ? url : "-", nng_strerror(nrv));
	return nng_to_rs(nrv);
}

/* tcp://host:port; IPv6 literals need brackets. False when it does not fit. */
static bool
tcp_url(char *buf, size_t len, const char *host, int port)
{
	int n;

	if (strchr(host, ':') != NULL)
		n = snprintf(buf, len, "tcp://[%s]:%d", host, port);
	else
		n = snprintf(buf, len, "tcp://%s:%d", host, port);
	return n >= 0 && (size_t) n < len;
}

int
rs_nng_pub_open(const char *host, nng_socket *out, char *url, size_t urllen)
{
	char lurl[256];
	nng_listener l;
	nng_socket s;
	int nrv, port;

	if (host == NULL || *host == '\0' || url == NULL || urllen == 0)
		return RS_EINVAL;
	if (!tcp_url(lurl, sizeof(lurl), host, 0))
		return RS_EINVAL;
	if ((nrv = nng_pub0_open(&s)) != 0)
		return fail(nrv, "pub_open", NULL);
	if ((nrv = nng_socket_set_int(s, NNG_OPT_SENDBUF, QUEUE_MSGS)) != 0) {
		(void) fail(nrv, "pub_setopt", NULL);
		goto fail;
	}
	if ((nrv = nng_listen(s, lurl, &l, 0)) != 0) {
		(void) fail(nrv, "listen", lurl);
		goto fail;
	}
	if ((nrv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port))
	    != 0) {
		(void) fail(nrv, "bound_port", lurl);
		goto fail;
	}
	if (!tcp_url(url, urllen, host, port)) {
		nng_close(s);
		return RS_EINVAL;
	}
	*out = s;
	return RS_OK;

fail:
	nng_close(s);
	return nng_to_rs(nrv);
}

int
rs_nng_sub_open(nng_socket *out)
{
	nng_socket s;
	int nrv;

	if ((nrv = nng_sub0_open(&s)) != 0)
		return fail(nrv, "sub_open", NULL);
	if ((nrv = nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0
	    || (nrv = nng_socket_set_int(s, NNG_OPT_RECVBUF, QUEUE_MSGS)) != 0
	    || (nrv = nng_socket_set_ms(
	            s, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS))
	        != 0
	    || (nrv = nng_socket_set_ms(
	            s, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS))
	        != 0) {
		nng_close(s);
		return fail(nrv, "sub_setopt", NULL);
	}
	*out = s;
	return RS_OK;
}

int
rs_nng_sub_dial(nng_socket sock, const char *url)
{
	int nrv;

	if (url == NULL || *url == '\0')
		return RS_EINVAL;
	/* Non-blocking: a publisher that is not up yet is retried in the
	 * background instead of failing the dial. */
	if ((nrv = nng_dial(sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		return fail(nrv, "dial", url);
	return RS_OK;
}

int
rs_nng_send_str(nng_socket sock, const char *s)
{
	int nrv;

	if (s == NULL)
		return RS_EINVAL;
	nrv = nng_send(sock, (void *) s, strlen(s), NNG_FLAG_NONBLOCK);
	if (nrv == 0 || nrv == NNG_EAGAIN)
		return RS_OK; /* pub drops for slow or absent peers by design
		               */
	return fail(nrv, "send", NULL);
}

int
rs_nng_recv_str(nng_socket sock, char *buf, size_t buflen, int timeout_ms)
{
	nng_msg *msg;
	size_t n;
	int nrv, flags = 0;

	if (buf == NULL || buflen == 0)
		return RS_EINVAL;
	if (timeout_ms == 0) {
		flags = NNG_FLAG_NONBLOCK;
	} else {
		nrv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO,
		    timeout_ms < 0 ? NNG_DURATION_INFINITE
		                   : (nng_duration) timeout_ms);
		if (nrv != 0)
			return fail(nrv, "set_recvtimeo", NULL);
	}
	nrv = nng_recvmsg(sock, &msg, flags);
	if (nrv == NNG_ETIMEDOUT || nrv == NNG_EAGAIN)
		return RS_ETIMEDOUT;
	if (nrv != 0)
		return nrv == NNG_ECLOSED ? RS_ECLOSED
		                          : fail(nrv, "recv", NULL);
	n = nng_msg_len(msg);
	/* Senders may or may not include the terminating NUL. */
	if (n > 0 && ((const char *) nng_msg_body(msg))[n - 1] == '\0')
		n--;
	if (n > buflen - 1)
		n = buflen - 1;
	memcpy(buf, nng_msg_body(msg), n);
	buf[n] = '\0';
	nng_msg_free(msg);
	return RS_OK;
}
