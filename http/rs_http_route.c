/* Route patterns, path lookup and percent coding (rs_http_route.h). */
#include "rs_http_route.h"

#include "rs_err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
rs_http_pct_decode(
    const char *src, size_t len, int plus_is_space, char **out, size_t *outlen)
{
	char *d = malloc(len + 1);
	size_t n = 0;

	if (d == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '%') {
			int hi, lo;
			if (i + 2 >= len) {
				free(d);
				return RS_EINVAL;
			}
			hi = hexval((unsigned char) src[i + 1]);
			lo = hexval((unsigned char) src[i + 2]);
			if (hi < 0 || lo < 0) {
				free(d);
				return RS_EINVAL;
			}
			d[n++] = (char) (hi * 16 + lo);
			i += 2;
		} else if (plus_is_space && src[i] == '+') {
			d[n++] = ' ';
		} else {
			d[n++] = src[i];
		}
	}
	d[n] = '\0';
	*out = d;
	*outlen = n;
	return RS_OK;
}

char *
rs_http_pct_encode(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *d;
	size_t n = 0;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	d = malloc(len * 3 + 1);
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		    || (c >= '0' && c <= '9') || c == '-' || c == '.'
		    || c == '_' || c == '~') {
			d[n++] = (char) c;
		} else {
			d[n++] = '%';
			d[n++] = hex[c >> 4];
			d[n++] = hex[c & 15];
		}
	}
	d[n] = '\0';
	/* "." and ".." are unreserved but mean something as a segment. */
	if ((len == 1 && s[0] == '.')
	    || (len == 2 && s[0] == '.' && s[1] == '.')) {
		n = 0;
		for (size_t i = 0; i < len; i++) {
			d[n++] = '%';
			d[n++] = '2';
			d[n++] = 'E';
		}
		d[n] = '\0';
	}
	return d;
}

/* Splits a pattern into segments. RS_EINVAL for a malformed one. */
static int
parse_pattern(const char *pattern, rs_http_seg *segs, size_t *nsegs)
{
	const char *p = pattern;
	size_t n = 0, nparams = 0;

	if (*p != '/')
		return RS_EINVAL;
	if (strcmp(pattern, "/") == 0) {
		/* The root: one empty literal segment, as "/" splits. */
		segs[0].s = p + 1;
		segs[0].len = 0;
		segs[0].param = 0;
		*nsegs = 1;
		return RS_OK;
	}
	while (*p == '/') {
		const char *s = ++p;
		size_t len = strcspn(s, "/");
		if (len == 0 || n == RS_HTTP_MAX_SEGS)
			return RS_EINVAL;
		if (s[0] == '{') {
			if (len < 3 || s[len - 1] != '}'
			    || nparams == RS_HTTP_MAX_PARAMS)
				return RS_EINVAL;
			segs[n].s = s + 1;
			segs[n].len = len - 2;
			segs[n].param = 1;
			nparams++;
		} else {
			segs[n].s = s;
			segs[n].len = len;
			segs[n].param = 0;
		}
		n++;
		p = s + len;
	}
	if (*p != '\0')
		return RS_EINVAL;
	*nsegs = n;
	return RS_OK;
}

static int
count_literals(const rs_http_compiled *r)
{
	int n = 0;

	for (size_t i = 0; i < r->nsegs; i++)
		n += !r->segs[i].param;
	return n;
}

/* Splits a raw path into segments; -1 when it has too many or is not
 * absolute. Empty segments ("//", trailing "/") are kept (and never match
 * a pattern, whose segments are non-empty). */
static int
split_path(const char *path, rs_http_span *spans, size_t *n)
{
	size_t k = 0;
	const char *p = path;

	if (path == NULL || *p != '/')
		return -1;
	while (*p == '/') {
		const char *s = ++p;
		size_t len = strcspn(s, "/");
		if (k == RS_HTTP_MAX_SEGS)
			return -1;
		spans[k].s = s;
		spans[k].len = len;
		k++;
		p = s + len;
	}
	*n = k;
	return 0;
}

static int
segs_match(const rs_http_seg *segs, size_t nsegs, const rs_http_span *spans,
    size_t nspans)
{
	if (nsegs != nspans)
		return 0;
	for (size_t i = 0; i < nsegs; i++) {
		if (spans[i].len == 0)
			return nsegs == 1 && segs[0].len == 0
			    && !segs[0].param;
		if (segs[i].param)
			continue;
		if (segs[i].len != spans[i].len
		    || memcmp(segs[i].s, spans[i].s, spans[i].len) != 0)
			return 0;
	}
	return 1;
}

void
rs_http_allow_add(char *allow, size_t allowlen, const char *method)
{
	size_t ml = strlen(method);
	const char *p = allow;

	/* Skip methods already listed. */
	while (*p != '\0') {
		size_t l = strcspn(p, ",");
		if (l == ml && memcmp(p, method, ml) == 0)
			return;
		p += l;
		while (*p == ',' || *p == ' ')
			p++;
	}
	if (allow[0] != '\0')
		strncat(allow, ", ", allowlen - strlen(allow) - 1);
	strncat(allow, method, allowlen - strlen(allow) - 1);
}

int
rs_http_lookup(const void *base, size_t nroutes, size_t stride,
    const char *method, const char *path, rs_http_span *spans, size_t *nspans,
    char *allow, size_t allowlen, int *counted)
{
	int found_path = 0, best = -1;

#define ROUTE(i) \
	((const rs_http_compiled *) ((const char *) base + (i) *stride))
	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	*counted = 0;
	if (split_path(path, spans, nspans) != 0)
		return -1;
	for (size_t i = 0; i < nroutes; i++) {
		const rs_http_compiled *r = ROUTE(i);
		if (segs_match(r->segs, r->nsegs, spans, *nspans)
		    && r->nliterals > best)
			best = r->nliterals;
	}
	for (size_t i = 0; i < nroutes; i++) {
		const rs_http_compiled *r = ROUTE(i);
		if (r->nliterals != best
		    || !segs_match(r->segs, r->nsegs, spans, *nspans))
			continue;
		if (strcmp(r->r.method, method) == 0)
			return (int) i;
		found_path = 1;
		if (r->r.flags & RS_HTTP_COUNTED)
			*counted = 1;
		if (allow != NULL && allowlen > 0)
			rs_http_allow_add(allow, allowlen, r->r.method);
	}
#undef ROUTE
	return found_path ? -2 : -1;
}

int
rs_http_compile(const rs_http_route *r, rs_http_compiled *out)
{
	out->r = *r;
	if (parse_pattern(r->pattern, out->segs, &out->nsegs) != RS_OK)
		return RS_EINVAL;
	out->nliterals = count_literals(out);
	return RS_OK;
}

int
rs_http_match(const rs_http_route *routes, size_t nroutes, const char *method,
    const char *path, char *allow, size_t allowlen)
{
	rs_http_compiled *rt = calloc(nroutes ? nroutes : 1, sizeof(*rt));
	rs_http_span spans[RS_HTTP_MAX_SEGS];
	size_t nspans;
	int counted, rv;

	if (rt == NULL)
		return -1;
	for (size_t i = 0; i < nroutes; i++) {
		if (rs_http_compile(&routes[i], &rt[i]) != RS_OK) {
			free(rt);
			return -1;
		}
	}
	rv = rs_http_lookup(rt, nroutes, sizeof(*rt), method, path, spans,
	    &nspans, allow, allowlen, &counted);
	free(rt);
	return rv;
}
