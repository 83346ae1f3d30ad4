#include "rs_op.h"

#include "rs_contract.h"
#include "rs_err.h"
#include "rs_id.h"

#include <stdlib.h>
#include <string.h>

bool
rs_op_is_write(Rideshare__DbRequest__OpCase op)
{
	switch (op) {
	case RIDESHARE__DB_REQUEST__OP_ADD_USER:
	case RIDESHARE__DB_REQUEST__OP_REMOVE_USER:
	case RIDESHARE__DB_REQUEST__OP_CREATE_RIDE:
	case RIDESHARE__DB_REQUEST__OP_JOIN_RIDE:
	case RIDESHARE__DB_REQUEST__OP_DELETE_RIDE:
	case RIDESHARE__DB_REQUEST__OP_CLEAR: return true;
	default: return false;
	}
}

bool
rs_op_is_known(Rideshare__DbRequest__OpCase op)
{
	return rs_op_name(op)[0] != '?'
	    && op != RIDESHARE__DB_REQUEST__OP__NOT_SET;
}

const char *
rs_op_name(Rideshare__DbRequest__OpCase op)
{
	switch (op) {
	case RIDESHARE__DB_REQUEST__OP__NOT_SET: return "none";
	case RIDESHARE__DB_REQUEST__OP_ADD_USER: return "add_user";
	case RIDESHARE__DB_REQUEST__OP_REMOVE_USER: return "remove_user";
	case RIDESHARE__DB_REQUEST__OP_LIST_USERS: return "list_users";
	case RIDESHARE__DB_REQUEST__OP_GET_USER: return "get_user";
	case RIDESHARE__DB_REQUEST__OP_CREATE_RIDE: return "create_ride";
	case RIDESHARE__DB_REQUEST__OP_LIST_RIDES: return "list_rides";
	case RIDESHARE__DB_REQUEST__OP_GET_RIDE: return "get_ride";
	case RIDESHARE__DB_REQUEST__OP_JOIN_RIDE: return "join_ride";
	case RIDESHARE__DB_REQUEST__OP_DELETE_RIDE: return "delete_ride";
	case RIDESHARE__DB_REQUEST__OP_COUNT_RIDES: return "count_rides";
	case RIDESHARE__DB_REQUEST__OP_CLEAR: return "clear";
	default: return "?";
	}
}

const char *
rs_status_name(Rideshare__Status st)
{
	switch (st) {
	case RIDESHARE__STATUS__OK: return "OK";
	case RIDESHARE__STATUS__NOT_FOUND: return "NOT_FOUND";
	case RIDESHARE__STATUS__ALREADY_EXISTS: return "ALREADY_EXISTS";
	case RIDESHARE__STATUS__INVALID: return "INVALID";
	case RIDESHARE__STATUS__UNAVAILABLE: return "UNAVAILABLE";
	case RIDESHARE__STATUS__INTERNAL: return "INTERNAL";
	case RIDESHARE__STATUS__MISMATCH: return "MISMATCH";
	default: return "UNKNOWN";
	}
}

const char *
rs_op_request_problem(const Rideshare__DbRequest *req)
{
	if (req == NULL)
		return "undecodable";
	if (req->request_id == NULL || req->request_id[0] == '\0')
		return "no_request_id";
	if (!rs_id_valid(req->request_id))
		return "bad_request_id";
	if (!rs_op_is_known(req->op_case))
		return "no_op";
	return NULL;
}

const char *
rs_op_sync_event_problem(const Rideshare__SyncEvent *ev)
{
	const char *why;

	if (ev == NULL)
		return "undecodable";
	if (ev->request == NULL || ev->result == NULL)
		return "incomplete";
	if (ev->seq == 0)
		return "no_seq";
	if ((why = rs_op_request_problem(ev->request)) != NULL)
		return why;
	if (!rs_op_is_write(ev->request->op_case))
		return "not_a_write";
	return NULL;
}

/* Unpacks body as a message of d and asks problem about it (NULL when it
 * did not unpack): NULL with *out the message, or problem's answer with
 * nothing left to free. */
static const char *
decode_checked(const ProtobufCMessageDescriptor *d, const void *body,
    size_t len, const char *(*problem)(const void *), void **out)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, body);
	const char *why = problem(m);

	if (why != NULL) {
		if (m != NULL)
			protobuf_c_message_free_unpacked(m, NULL);
		return why;
	}
	*out = m;
	return NULL;
}

static const char *
request_problem(const void *m)
{
	return rs_op_request_problem(m);
}

const char *
rs_op_request_decode(const void *body, size_t len, Rideshare__DbRequest **out)
{
	void *m;
	const char *why = decode_checked(&rideshare__db_request__descriptor,
	    body, len, request_problem, &m);

	if (why == NULL)
		*out = m;
	return why;
}

static const char *
read_batch_problem(const void *m)
{
	const Rideshare__ReadBatch *b = m;
	const char *why;

	if (b == NULL)
		return "undecodable";
	if (b->n_reads < 2 || b->n_reads > RS_READ_BATCH_MAX)
		return "batch_size";
	for (size_t i = 0; i < b->n_reads; i++) {
		const Rideshare__BatchedRead *e = b->reads[i];

		if ((why = rs_op_request_problem(e->request)) != NULL)
			return why;
		if (rs_op_is_write(e->request->op_case))
			return "not_a_read";
		if (e->reply_to == NULL || e->reply_to[0] == '\0'
		    || strlen(e->reply_to) > RS_REPLY_TO_MAX)
			return "no_reply_to";
	}
	return NULL;
}

const char *
rs_op_read_batch_decode(
    const void *body, size_t len, Rideshare__ReadBatch **out)
{
	void *m;
	const char *why = decode_checked(&rideshare__read_batch__descriptor,
	    body, len, read_batch_problem, &m);

	if (why == NULL)
		*out = m;
	return why;
}

static const char *
write_batch_problem(const void *m)
{
	const Rideshare__WriteBatch *b = m;
	const char *why;

	if (b == NULL)
		return "undecodable";
	if (b->n_writes < 2 || b->n_writes > RS_WRITE_BATCH_MAX)
		return "batch_size";
	for (size_t i = 0; i < b->n_writes; i++) {
		if ((why = rs_op_request_problem(b->writes[i])) != NULL)
			return why;
		if (!rs_op_is_write(b->writes[i]->op_case))
			return "not_a_write";
	}
	return NULL;
}

const char *
rs_op_write_batch_decode(
    const void *body, size_t len, Rideshare__WriteBatch **out)
{
	void *m;
	const char *why = decode_checked(&rideshare__write_batch__descriptor,
	    body, len, write_batch_problem, &m);

	if (why == NULL)
		*out = m;
	return why;
}

static const char *
request_batch_problem(const void *m)
{
	const Rideshare__RequestBatch *b = m;
	const char *why;

	if (b == NULL)
		return "undecodable";
	if (b->n_requests < 2 || b->n_requests > RS_REQUEST_BATCH_MAX)
		return "batch_size";
	for (size_t i = 0; i < b->n_requests; i++)
		if ((why = rs_op_request_problem(b->requests[i])) != NULL)
			return why;
	return NULL;
}

const char *
rs_op_request_batch_decode(
    const void *body, size_t len, Rideshare__RequestBatch **out)
{
	void *m;
	const char *why = decode_checked(&rideshare__request_batch__descriptor,
	    body, len, request_batch_problem, &m);

	if (why == NULL)
		*out = m;
	return why;
}

static const char *
response_batch_problem(const void *m)
{
	const Rideshare__ResponseBatch *b = m;

	if (b == NULL)
		return "undecodable";
	if (b->n_responses < 2 || b->n_responses > RS_RESPONSE_BATCH_MAX)
		return "batch_size";
	for (size_t i = 0; i < b->n_responses; i++)
		if (b->responses[i]->request_id == NULL
		    || b->responses[i]->request_id[0] == '\0')
			return "no_request_id";
	return NULL;
}

const char *
rs_op_response_batch_decode(
    const void *body, size_t len, Rideshare__ResponseBatch **out)
{
	void *m;
	const char *why
	    = decode_checked(&rideshare__response_batch__descriptor, body, len,
	        response_batch_problem, &m);

	if (why == NULL)
		*out = m;
	return why;
}

#define BATCH_ENTRY_KEY 0x0a /* field 1, wire type 2 (length-delimited) */

size_t
rs_op_batch_entry_size(size_t len)
{
	size_t n = 2; /* the key and the varint's last byte */

	for (size_t v = len; v >= 0x80; v >>= 7)
		n++;
	return n + len;
}

size_t
rs_op_put_batch_entry(uint8_t *out, const void *packed, size_t len)
{
	size_t n = 0, v = len;

	out[n++] = BATCH_ENTRY_KEY;
	for (; v >= 0x80; v >>= 7)
		out[n++] = (uint8_t) (v | 0x80);
	out[n++] = (uint8_t) v;
	memcpy(out + n, packed, len);
	return n + len;
}

int
rs_op_pack_replies(Rideshare__DbResponse **resps, size_t n, uint8_t **buf,
    size_t *cap, rs_op_reply_msg *out)
{
	Rideshare__ResponseBatch b = RIDESHARE__RESPONSE_BATCH__INIT;
	rs_op_reply_msg msg = { 0 };

	if (n == 1) {
		msg.len = rideshare__db_response__get_packed_size(resps[0]);
		msg.correlation_id = resps[0]->request_id;
	} else {
		b.n_responses = n;
		b.responses = resps;
		msg.len = rideshare__response_batch__get_packed_size(&b);
		msg.content_type = RS_CT_RESPONSE_BATCH;
	}
	if (msg.len > *cap || *buf == NULL) {
		/* + 1: never a realloc of 0 bytes (which may free *buf). */
		uint8_t *grown = realloc(*buf, msg.len + 1);

		if (grown == NULL)
			return RS_ENOMEM;
		*buf = grown;
		*cap = msg.len + 1;
	}
	if (n == 1)
		rideshare__db_response__pack(resps[0], *buf);
	else
		rideshare__response_batch__pack(&b, *buf);
	*out = msg;
	return RS_OK;
}

static const char *
sync_batch_problem(const void *m)
{
	const Rideshare__SyncEventBatch *b = m;
	const char *why;

	if (b == NULL)
		return "undecodable";
	if (b->n_events < 2 || b->n_events > RS_SYNC_BATCH_MAX)
		return "batch_size";
	for (size_t i = 0; i < b->n_events; i++) {
		const Rideshare__SyncEvent *ev = b->events[i];

		if ((why = rs_op_sync_event_problem(ev)) != NULL)
			return why;
		if (i == 0)
			continue;
		if (ev->epoch != b->events[0]->epoch)
			return "mixed_epochs";
		/* No wrap-around: seq 0 is refused above. */
		if (ev->seq != b->events[i - 1]->seq + 1)
			return "seq_not_consecutive";
	}
	return NULL;
}

const char *
rs_op_sync_batch_decode(
    const void *body, size_t len, Rideshare__SyncEventBatch **out)
{
	void *m;
	const char *why
	    = decode_checked(&rideshare__sync_event_batch__descriptor, body,
	        len, sync_batch_problem, &m);

	if (why == NULL)
		*out = m;
	return why;
}

void
rs_op_drop_unknown(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;

	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		free(m->unknown_fields[i].data);
	free(m->unknown_fields);
	m->unknown_fields = NULL;
	m->n_unknown_fields = 0;
	d = m->descriptor;
	for (unsigned f = 0; f < d->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[f];
		char *at = (char *) m + fd->offset;

		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n
			    = *(size_t *) ((char *) m + fd->quantifier_offset);
			ProtobufCMessage **v = *(ProtobufCMessage ***) at;
			for (size_t k = 0; k < n; k++)
				rs_op_drop_unknown(v[k]);
			continue;
		}
		/* A oneof member counts only when it is the one set. */
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		    && *(uint32_t *) ((char *) m + fd->quantifier_offset)
		        != fd->id)
			continue;
		rs_op_drop_unknown(*(ProtobufCMessage **) at);
	}
}
