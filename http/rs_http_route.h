/* Pure parts of the HTTP request pipeline (no sockets, no CivetWeb):
 * route patterns ("/api/v1/rides/{rideId}"), matching a raw path and a
 * method against a table of them (404 / 405 + Allow), percent-decoding and
 * -encoding. Unit-tested in rs_http_route_test.c; rs_http.c uses them. */
#ifndef RS_HTTP_ROUTE_H
#define RS_HTTP_ROUTE_H

#include "rs_http.h"

#include <stddef.h>

#define RS_HTTP_MAX_SEGS   16 /* segments in a route pattern */
#define RS_HTTP_MAX_PARAMS 4 /* {params} in a route pattern */

typedef struct rs_http_seg {
	const char *s; /* literal text, or the parameter name */
	size_t len;
	int param; /* 1 for "{name}" */
} rs_http_seg;

/* One segment of a request path (points into the path). */
typedef struct rs_http_span {
	const char *s;
	size_t len;
} rs_http_span;

/* A route with its parsed pattern (the pattern string stays the caller's). */
typedef struct rs_http_compiled {
	rs_http_route r;
	rs_http_seg segs[RS_HTTP_MAX_SEGS];
	size_t nsegs;
	int nliterals; /* segments that are not {params} */
} rs_http_compiled;

/* Parses r->pattern into out. RS_EINVAL for a malformed pattern (not
 * absolute, empty segment, more than RS_HTTP_MAX_SEGS segments or
 * RS_HTTP_MAX_PARAMS params, "{x" without "}"). */
int rs_http_compile(const rs_http_route *r, rs_http_compiled *out);

/* Looks method + raw path up in a table of n compiled routes, each the
 * first member of an element of stride bytes starting at base. The most
 * specific patterns (most literal segments) own a path: "/rides/count" is
 * not also "/rides/{rideId}". Returns the index; -1 when no pattern matches
 * the path; -2 when one does but not with this method (allow gets "GET,
 * DELETE", *counted says whether such a route is RS_HTTP_COUNTED). spans
 * (RS_HTTP_MAX_SEGS) get the path's segments for the params. */
int rs_http_lookup(const void *base, size_t n, size_t stride,
    const char *method, const char *path, rs_http_span *spans, size_t *nspans,
    char *allow, size_t allowlen, int *counted);

/* Adds method to the comma-separated list allow ("GET, DELETE") unless it
 * is there already; truncates at allowlen. */
void rs_http_allow_add(char *allow, size_t allowlen, const char *method);

#endif
