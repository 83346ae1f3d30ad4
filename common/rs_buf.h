/* Growable text buffer (metrics pages, log fields, SQL-free text output). */
#ifndef RS_BUF_H
#define RS_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
	int err; /* sticky: RS_ENOMEM after a failed append */
} rs_buf;

#define RS_BUF_INIT           \
	{                     \
		NULL, 0, 0, 0 \
	}

int rs_buf_append(rs_buf *b, const char *s, size_t n);
int rs_buf_printf(rs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (free it) and resets b. "" when empty. */
char *rs_buf_take(rs_buf *b);
void rs_buf_fini(rs_buf *b);

/* Room for one more element in the array v of *cap elements of elem bytes,
 * n of them in use: v itself while n < *cap, else v realloc'd to twice
 * *cap (first when *cap is 0), *cap updated. NULL when that allocation
 * fails: v and *cap are then untouched, v still the caller's. */
void *rs_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* Makes the byte buffer *buf (*cap bytes) hold at least need bytes: kept
 * while it does, else realloc'd to exactly need (contents kept) and *cap
 * updated. The reusable buffer a message is packed into before a
 * publish. RS_OK, or RS_ENOMEM with *buf and *cap untouched (*buf still
 * the caller's). */
int rs_reserve(uint8_t **buf, size_t *cap, size_t need);

#endif
