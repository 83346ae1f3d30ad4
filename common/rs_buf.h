/* Growable text buffer (metrics pages, log fields, SQL-free text output). */
#ifndef RS_BUF_H
#define RS_BUF_H

#include <stddef.h>

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

#endif
