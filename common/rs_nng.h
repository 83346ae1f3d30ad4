/* nng pub/sub helpers for the master's "head seq" notices and the workers'
 * status announcements. Messages are short text lines. */
#ifndef RS_NNG_H
#define RS_NNG_H

#include <nng/nng.h>
#include <stddef.h>

/* Opens a PUB socket listening on tcp://host:0 and writes the URL with the
 * port the kernel chose into url (size >= 128). */
int rs_nng_pub_open(
    const char *host, nng_socket *out, char *url, size_t urllen);
/* Opens a SUB socket subscribed to everything; dials url in the background
 * (reconnects on its own), so the publisher need not be up yet. */
int rs_nng_sub_open(nng_socket *out);
int rs_nng_sub_dial(nng_socket sock, const char *url);
/* Sends a NUL-terminated string without blocking (dropped if no peer). */
int rs_nng_send_str(nng_socket sock, const char *s);
/* Receives one message into buf as a NUL-terminated string; RS_ETIMEDOUT
 * after timeout_ms (-1: wait forever). Longer messages are truncated. */
int rs_nng_recv_str(nng_socket sock, char *buf, size_t buflen, int timeout_ms);

#endif
