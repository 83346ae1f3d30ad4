/* Route handlers that tests of rs_http share (the server unit test and the
 * fuzz_http harness); link tests/unit/rs_test_http.c. */
#ifndef RS_TEST_HTTP_H
#define RS_TEST_HTTP_H

#include "rs_http.h"

/* Answers 200 with {"name": the decoded route parameter {name},
 * "body_len": the body's length in bytes, "q": the query value q (only
 * when there is one)}: what a test needs to see the routing, decoding and
 * body handling. arg is unused. */
void rs_test_echo(rs_http_req *req, void *arg);

/* The configuration of a test server named name: on 127.0.0.1, an
 * ephemeral port (rs_http_port tells which), 4 threads, bodies up to
 * 1000 bytes, no token, the default timeouts; the caller changes what its
 * test needs. */
rs_http_cfg rs_test_http_cfg(const char *name);

#endif
