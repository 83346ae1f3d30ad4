#include "held.h"

#include "rs_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rs_worker_held_add(rs_worker_held *q, uint64_t seq, uint64_t tag, int64_t now,
    const char *reply_to, const char *request_id, const uint8_t *body,
    size_t len)
{
	size_t idlen = strlen(request_id);
	rs_worker_held_reply *h = malloc(sizeof(*h) + len + idlen + 1);

	if (h == NULL)
		return RS_ENOMEM;
	h->next = NULL;
	h->seq = seq;
	h->tag = tag;
	h->since = now;
	snprintf(h->reply_to, sizeof(h->reply_to), "%s", reply_to);
	h->len = len;
	memcpy(h->body, body, len);
	h->request_id = (char *) h->body + len;
	memcpy(h->request_id, request_id, idlen + 1);
	if (q->tail != NULL)
		q->tail->next = h;
	else
		q->head = h;
	q->tail = h;
	return RS_OK;
}

rs_worker_held_reply *
rs_worker_held_pop(rs_worker_held *q)
{
	rs_worker_held_reply *h = q->head;

	if (h == NULL)
		return NULL;
	q->head = h->next;
	if (q->head == NULL)
		q->tail = NULL;
	h->next = NULL;
	return h;
}

rs_worker_held_reply *
rs_worker_held_pop_ready(rs_worker_held *q, uint64_t known_commit, int64_t now,
    int hold_ms, bool *late)
{
	rs_worker_held_reply *h = q->head;

	if (h == NULL)
		return NULL;
	*late = h->seq > known_commit;
	if (*late && now - h->since < hold_ms)
		return NULL;
	return rs_worker_held_pop(q);
}
