/* Facts about DbRequest operations shared by gateways, orchestrator and
 * workers, so that no two places disagree on what is a write. */
#ifndef RS_OP_H
#define RS_OP_H

#include "rideshare.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True for operations that change data (routed to the master). */
bool rs_op_is_write(Rideshare__DbRequest__OpCase op);
/* True for any known, non-empty operation. */
bool rs_op_is_known(Rideshare__DbRequest__OpCase op);
/* Short name, e.g. "add_user"; "none" for an empty op. */
const char *rs_op_name(Rideshare__DbRequest__OpCase op);
/* Why a decoded DbRequest (NULL: it did not decode) cannot be handled:
 * "undecodable", "no_request_id", "bad_request_id" (rs_id_valid) or
 * "no_op"; NULL when it can. The one check of the orchestrator, the
 * master and the slaves before they dead-letter a message. */
const char *rs_op_request_problem(const Rideshare__DbRequest *req);
/* Why a decoded SyncEvent (NULL: it did not decode) cannot be applied:
 * "undecodable", "incomplete" (no request or result), "no_seq", any
 * rs_op_request_problem of its request, or "not_a_write"; NULL when its
 * shape is fine (the slave then checks its seq and epoch). */
const char *rs_op_sync_event_problem(const Rideshare__SyncEvent *ev);
/* A writeQ/readQ/orchestrator delivery's body (len bytes) decoded and
 * checked: NULL and the request in *out (the caller frees it), or
 * rs_op_request_problem's answer (nothing to free, *out untouched). */
const char *rs_op_request_decode(
    const void *body, size_t len, Rideshare__DbRequest **out);
/* A readQ delivery's body with content type RS_CT_READ_BATCH decoded and
 * checked: NULL and the batch in *out (the caller frees it with
 * rideshare__read_batch__free_unpacked), or why not: "undecodable",
 * "batch_size" (fewer than 2 or more than RS_READ_BATCH_MAX reads),
 * "no_reply_to" (an entry without a reply address, or one longer than
 * RS_REPLY_TO_MAX), "not_a_read", or any rs_op_request_problem of an
 * entry's request (nothing to free, *out untouched). One bad entry
 * condemns the whole message: the orchestrator batches only requests it
 * checked, so it is forged. */
const char *rs_op_read_batch_decode(
    const void *body, size_t len, Rideshare__ReadBatch **out);
/* A writeQ delivery's body with content type RS_CT_WRITE_BATCH decoded and
 * checked: NULL and the batch in *out (free with
 * rideshare__write_batch__free_unpacked), or why not: "undecodable",
 * "batch_size" (fewer than 2 or more than RS_WRITE_BATCH_MAX writes),
 * "not_a_write", or any rs_op_request_problem of an entry (nothing to
 * free, *out untouched). One bad entry condemns the whole message: the
 * orchestrator batches only writes it checked, so it is forged. */
const char *rs_op_write_batch_decode(
    const void *body, size_t len, Rideshare__WriteBatch **out);
/* A RS_Q_ORCHESTRATOR delivery's body with content type RS_CT_REQUEST_BATCH
 * decoded and checked: NULL and the batch in *out (free with
 * rideshare__request_batch__free_unpacked), or why not: "undecodable",
 * "batch_size" (fewer than 2 or more than RS_REQUEST_BATCH_MAX), or any
 * rs_op_request_problem of an entry (nothing to free, *out untouched). */
const char *rs_op_request_batch_decode(
    const void *body, size_t len, Rideshare__RequestBatch **out);
/* A reply body with content type RS_CT_RESPONSE_BATCH decoded and checked:
 * NULL and the batch in *out (free with
 * rideshare__response_batch__free_unpacked), or "undecodable",
 * "batch_size" (fewer than 2 or more than RS_RESPONSE_BATCH_MAX) or
 * "no_request_id" (an entry that cannot be matched). */
const char *rs_op_response_batch_decode(
    const void *body, size_t len, Rideshare__ResponseBatch **out);
/* The encoder's side of rs_op_response_batch_decode: the body and
 * properties of one message carrying n replies to one address. */
typedef struct rs_op_reply_msg {
	size_t len; /* bytes of the body, at the start of *buf */
	const char *correlation_id; /* n == 1: resps[0]->request_id; or NULL */
	const char *content_type; /* n > 1: RS_CT_RESPONSE_BATCH; or NULL */
} rs_op_reply_msg;
/* Packs resps[0..n) (1 <= n <= RS_RESPONSE_BATCH_MAX) into *buf: one
 * reply as the plain DbResponse (its receiver matches it by correlation
 * id), more as one ResponseBatch (matched by each entry's request_id).
 * *buf (*cap bytes; NULL and 0 at first) grows with realloc when the body
 * does not fit; the caller frees it. RS_OK and *out, or RS_ENOMEM (*buf,
 * *cap and *out as they were). The strings in *out point into resps. */
int rs_op_pack_replies(Rideshare__DbResponse **resps, size_t n, uint8_t **buf,
    size_t *cap, rs_op_reply_msg *out);
/* One entry of a RequestBatch or ResponseBatch (both: field 1 repeated)
 * framed from a message already packed (len bytes) at out: the field's
 * key, len as a varint, the bytes; such entries back to back are the
 * batch. Builds a batch of packed messages without unpacking them again.
 * out must have room for rs_op_batch_entry_size(len) bytes; returns the
 * bytes written (that many). */
size_t rs_op_put_batch_entry(uint8_t *out, const void *packed, size_t len);
size_t rs_op_batch_entry_size(size_t len);
/* A sync queue delivery's body with content type RS_CT_SYNC_BATCH decoded
 * and checked: NULL and the batch in *out (free with
 * rideshare__sync_event_batch__free_unpacked), or why not: "undecodable",
 * "batch_size" (fewer than 2 or more than RS_SYNC_BATCH_MAX events), any
 * rs_op_sync_event_problem of an entry, "mixed_epochs" (an entry of another
 * epoch than the first) or "seq_not_consecutive" (an entry's seq is not
 * its predecessor's + 1); nothing to free then, *out untouched. One bad
 * entry condemns the whole message: the master batches only the
 * consecutive writes of one committed group. */
const char *rs_op_sync_batch_decode(
    const void *body, size_t len, Rideshare__SyncEventBatch **out);
/* Frees and drops the unknown fields of m and of every message inside it
 * (m must come from protobuf-c's unpack with the default allocator).
 * protobuf-c keeps unknown fields it cannot always write back (field number
 * 0: the copy would not decode; found by fuzz/fuzz_wire.c), so what the
 * orchestrator and the master forward carries only what the contract
 * knows. */
void rs_op_drop_unknown(ProtobufCMessage *m);
/* Name of a status, e.g. "NOT_FOUND". */
const char *rs_status_name(Rideshare__Status st);

#endif
