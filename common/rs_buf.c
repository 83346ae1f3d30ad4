#include "rs_buf.h"
#include "rs_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
reserve(rs_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->err != 0)
		return b->err;
	if (extra > (size_t) -1 / 2 - b->len - 1) {
		b->err = RS_ENOMEM;
		return b->err;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return RS_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->err = RS_ENOMEM;
		return b->err;
	}
	b->data = p;
	b->cap = cap;
	return RS_OK;
}

int
rs_buf_append(rs_buf *b, const char *s, size_t n)
{
	int rv = reserve(b, n);

	if (rv != RS_OK)
		return rv;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return RS_OK;
}

int
rs_buf_printf(rs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rv;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RS_EINVAL;
	rv = reserve(b, (size_t) n);
	if (rv != RS_OK)
		return rv;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return RS_OK;
}

char *
rs_buf_take(rs_buf *b)
{
	char *s = b->data;

	if (s == NULL)
		s = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
	return s;
}

void
rs_buf_fini(rs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void *
rs_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c;
	void *nv;

	if (n < *cap)
		return v;
	c = *cap ? *cap * 2 : first;
	if ((nv = realloc(v, c * elem)) == NULL)
		return NULL;
	*cap = c;
	return nv;
}

int
rs_reserve(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *b;

	if (need <= *cap)
		return RS_OK;
	if ((b = realloc(*buf, need)) == NULL)
		return RS_ENOMEM;
	*buf = b;
	*cap = need;
	return RS_OK;
}
