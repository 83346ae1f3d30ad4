#include "reply_batch.h"

#include "rs_op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The replies are already packed, so a batch is built by framing them
 * (rs_op_put_batch_entry) rather than by unpacking and packing them
 * again. */
static size_t
framed_len(const rs_worker_reply *r)
{
	return rs_op_batch_entry_size(r->len);
}

static int
grow(rs_worker_replies *g)
{
	size_t cap = g->cap ? 2 * g->cap : 16;
	rs_worker_reply **items, **scratch;

	items = realloc(g->items, cap * sizeof(*items));
	if (items == NULL)
		return -1;
	g->items = items;
	scratch = realloc(g->scratch, cap * sizeof(*scratch));
	if (scratch == NULL)
		return -1; /* items is bigger than cap says: harmless */
	g->scratch = scratch;
	g->cap = cap;
	return 0;
}

uint8_t *
rs_worker_replies_add(rs_worker_replies *g, uint64_t tag, const char *reply_to,
    const char *request_id, size_t len)
{
	size_t idlen = strlen(request_id);
	rs_worker_reply *r;

	if (g->n == g->cap && grow(g) != 0)
		return NULL;
	if ((r = malloc(sizeof(*r) + len + idlen + 1)) == NULL)
		return NULL;
	r->tag = tag;
	snprintf(r->reply_to, sizeof(r->reply_to), "%s", reply_to);
	r->len = len;
	r->request_id = (char *) r->body + len;
	memcpy(r->request_id, request_id, idlen + 1);
	g->items[g->n++] = r;
	return r->body;
}

/* Moves the replies of the group that starts at items[sent] to the front
 * of the unsent part, the others after them, each part in its order;
 * returns the group's size and its body's size via *bytes. */
static size_t
regroup(rs_worker_replies *g, size_t *bytes)
{
	size_t start = g->sent, k = 0, rest = 0;
	const char *to = g->items[start]->reply_to;
	bool closed = false; /* a reply for to was left out: keep order */

	*bytes = 0;
	for (size_t j = start; j < g->n; j++) {
		rs_worker_reply *r = g->items[j];
		bool mine = strcmp(r->reply_to, to) == 0;

		if (mine && !closed && k < RS_RESPONSE_BATCH_MAX
		    && (k == 0
		        || *bytes + framed_len(r)
		            <= RS_WORKER_REPLY_BATCH_BYTES)) {
			g->items[start + k++] = r; /* start + k <= j */
			*bytes += framed_len(r);
		} else {
			closed = closed || mine;
			g->scratch[rest++] = r;
		}
	}
	memcpy(&g->items[start + k], g->scratch, rest * sizeof(*g->scratch));
	return k;
}

bool
rs_worker_replies_next(rs_worker_replies *g, rs_worker_reply_msg *m)
{
	size_t bytes, k;
	rs_worker_reply *first;

	if (g->sent == g->n)
		return false;
	k = regroup(g, &bytes);
	first = g->items[g->sent];
	if (k > 1 && bytes > g->buf_cap) {
		uint8_t *b = realloc(g->buf, bytes);
		if (b != NULL) {
			g->buf = b;
			g->buf_cap = bytes;
		} else {
			k = 1; /* the others stay next in line */
		}
	}
	m->reply_to = first->reply_to;
	m->replies = &g->items[g->sent];
	m->n = k;
	if (k == 1) {
		m->correlation_id = first->request_id;
		m->content_type = NULL;
		m->body = first->body;
		m->len = first->len;
	} else {
		size_t len = 0;
		for (size_t i = 0; i < k; i++) {
			rs_worker_reply *r = g->items[g->sent + i];
			len += rs_op_put_batch_entry(
			    g->buf + len, r->body, r->len);
		}
		m->correlation_id = NULL;
		m->content_type = RS_CT_RESPONSE_BATCH;
		m->body = g->buf;
		m->len = len;
	}
	g->sent += k;
	return true;
}

size_t
rs_worker_replies_unsent(
    const rs_worker_replies *g, rs_worker_reply *const **out)
{
	*out = g->items + g->sent;
	return g->n - g->sent;
}

void
rs_worker_replies_clear(rs_worker_replies *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->items[i]);
	g->n = 0;
	g->sent = 0;
}

void
rs_worker_replies_fini(rs_worker_replies *g)
{
	rs_worker_replies_clear(g);
	free(g->items);
	free(g->scratch);
	free(g->buf);
	*g = (rs_worker_replies) RS_WORKER_REPLIES_INIT;
}
