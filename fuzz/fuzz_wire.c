/* libFuzzer harness: what a worker takes off the broker and the nng
 * notices. Input: one selector byte, then the message bytes.
 *   0: a DbRequest (writeQ, readQ, orchestrator) -> unpack, the one check
 *      (rs_op_request_problem), and a valid one, after rs_op_drop_unknown
 *      as the orchestrator forwards it, packs and unpacks again (protobuf-c
 *      keeps unknown fields it cannot write back, e.g. field number 0, at
 *      any depth: found by this harness);
 *   1: a SyncEvent (sync.<id>) -> unpack, rs_op_sync_event_problem;
 *   2: an nng notice line (proto/rs_notice) -> parse, and a parsed line
 *      formats back to text that parses to the same notice;
 *   3: a configuration value (common/rs_cfg parsers);
 *   4: a ReadBatch (readQ, content type RS_CT_READ_BATCH) ->
 *      rs_op_read_batch_decode; an accepted one holds 2..RS_READ_BATCH_MAX
 *      reads, each with a reply address;
 *   5: a SyncEventBatch (sync.<id>, content type RS_CT_SYNC_BATCH) ->
 *      rs_op_sync_batch_decode; an accepted one holds 2..RS_SYNC_BATCH_MAX
 *      events that each pass rs_op_sync_event_problem, of one epoch, with
 *      consecutive seqs;
 *   6: a WriteBatch (writeQ, content type RS_CT_WRITE_BATCH) ->
 *      rs_op_write_batch_decode; an accepted one holds
 *      2..RS_WRITE_BATCH_MAX writes that each pass rs_op_request_problem,
 *      and packs and unpacks again to the same writes (the master takes
 *      what the orchestrator packed);
 *   7: a RequestBatch (orchestrator, content type RS_CT_REQUEST_BATCH) ->
 *      rs_op_request_batch_decode; an accepted one holds
 *      2..RS_REQUEST_BATCH_MAX requests that each pass
 *      rs_op_request_problem and, as the orchestrator forwards each alone,
 *      pack and unpack again as selector 0's do;
 *   8: a ResponseBatch (a caller's reply, responseQ, content type
 *      RS_CT_RESPONSE_BATCH) -> rs_op_response_batch_decode; an accepted
 *      one holds 2..RS_RESPONSE_BATCH_MAX responses, each with a
 *      request_id, and as the orchestrator forwards them
 *      (rs_op_drop_unknown, rs_op_pack_replies) they decode again: all of
 *      them as a batch with the same request_ids in order, the first alone
 *      as a plain DbResponse.
 * Properties: no crash, leak or undefined behaviour (ASan/UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rideshare.pb-c.h"
#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_err.h"
#include "rs_notice.h"
#include "rs_op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A valid request r, without its unknown fields as the orchestrator
 * forwards it, packs and unpacks again to a valid request of the same
 * op. */
static void
check_repacks(Rideshare__DbRequest *r)
{
	rs_op_drop_unknown(&r->base);
	size_t len = rideshare__db_request__get_packed_size(r);
	uint8_t *b = malloc(len ? len : 1);
	if (b == NULL)
		abort();
	rideshare__db_request__pack(r, b);
	Rideshare__DbRequest *again
	    = rideshare__db_request__unpack(NULL, len, b);
	if (again == NULL || rs_op_request_problem(again) != NULL
	    || again->op_case != r->op_case)
		abort();
	rideshare__db_request__free_unpacked(again, NULL);
	free(b);
}

static void
request(const uint8_t *d, size_t n)
{
	Rideshare__DbRequest *r = rideshare__db_request__unpack(NULL, n, d);

	if (rs_op_request_problem(r) == NULL)
		check_repacks(r);
	if (r != NULL)
		rideshare__db_request__free_unpacked(r, NULL);
}

static void
sync_event(const uint8_t *d, size_t n)
{
	Rideshare__SyncEvent *ev = rideshare__sync_event__unpack(NULL, n, d);

	if (rs_op_sync_event_problem(ev) == NULL
	    && (ev->request->request_id[0] == '\0' || ev->seq == 0))
		abort();
	if (ev != NULL)
		rideshare__sync_event__free_unpacked(ev, NULL);
}

static void
read_batch(const uint8_t *d, size_t n)
{
	Rideshare__ReadBatch *b = NULL;

	if (rs_op_read_batch_decode(d, n, &b) != NULL)
		return;
	if (b->n_reads < 2 || b->n_reads > RS_READ_BATCH_MAX)
		abort();
	for (size_t i = 0; i < b->n_reads; i++)
		if (b->reads[i]->request == NULL
		    || rs_op_is_write(b->reads[i]->request->op_case)
		    || b->reads[i]->reply_to[0] == '\0')
			abort();
	rideshare__read_batch__free_unpacked(b, NULL);
}

static void
sync_batch(const uint8_t *d, size_t n)
{
	Rideshare__SyncEventBatch *b = NULL;

	if (rs_op_sync_batch_decode(d, n, &b) != NULL)
		return;
	if (b->n_events < 2 || b->n_events > RS_SYNC_BATCH_MAX)
		abort();
	for (size_t i = 0; i < b->n_events; i++)
		if (rs_op_sync_event_problem(b->events[i]) != NULL
		    || b->events[i]->epoch != b->events[0]->epoch
		    || b->events[i]->seq != b->events[0]->seq + i)
			abort();
	rideshare__sync_event_batch__free_unpacked(b, NULL);
}

static void
write_batch(const uint8_t *d, size_t n)
{
	Rideshare__WriteBatch *b = NULL, *again = NULL;

	if (rs_op_write_batch_decode(d, n, &b) != NULL)
		return;
	if (b->n_writes < 2 || b->n_writes > RS_WRITE_BATCH_MAX)
		abort();
	for (size_t i = 0; i < b->n_writes; i++)
		if (rs_op_request_problem(b->writes[i]) != NULL
		    || !rs_op_is_write(b->writes[i]->op_case))
			abort();
	rs_op_drop_unknown(&b->base);
	size_t len = rideshare__write_batch__get_packed_size(b);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		abort();
	rideshare__write_batch__pack(b, buf);
	if (rs_op_write_batch_decode(buf, len, &again) != NULL
	    || again->n_writes != b->n_writes)
		abort();
	for (size_t i = 0; i < b->n_writes; i++)
		if (strcmp(
		        again->writes[i]->request_id, b->writes[i]->request_id)
		        != 0
		    || again->writes[i]->op_case != b->writes[i]->op_case)
			abort();
	rideshare__write_batch__free_unpacked(again, NULL);
	free(buf);
	rideshare__write_batch__free_unpacked(b, NULL);
}

static void
request_batch(const uint8_t *d, size_t n)
{
	Rideshare__RequestBatch *b = NULL;

	if (rs_op_request_batch_decode(d, n, &b) != NULL)
		return;
	if (b->n_requests < 2 || b->n_requests > RS_REQUEST_BATCH_MAX)
		abort();
	for (size_t i = 0; i < b->n_requests; i++) {
		if (rs_op_request_problem(b->requests[i]) != NULL)
			abort();
		check_repacks(b->requests[i]);
	}
	rideshare__request_batch__free_unpacked(b, NULL);
}

/* The first n of resps, packed as the orchestrator forwards them, decode
 * again to the same request_ids in order. */
static void
check_forwards(Rideshare__DbResponse **resps, size_t n)
{
	Rideshare__ResponseBatch *back = NULL;
	Rideshare__DbResponse *one;
	rs_op_reply_msg msg;
	uint8_t *buf = NULL;
	size_t cap = 0;

	if (rs_op_pack_replies(resps, n, &buf, &cap, &msg) != RS_OK)
		abort();
	if (n == 1) {
		one = rideshare__db_response__unpack(NULL, msg.len, buf);
		if (one == NULL || msg.content_type != NULL
		    || strcmp(one->request_id, msg.correlation_id) != 0
		    || strcmp(one->request_id, resps[0]->request_id) != 0)
			abort();
		rideshare__db_response__free_unpacked(one, NULL);
	} else {
		if (rs_op_response_batch_decode(buf, msg.len, &back) != NULL
		    || back->n_responses != n)
			abort();
		for (size_t i = 0; i < n; i++)
			if (strcmp(back->responses[i]->request_id,
			        resps[i]->request_id)
			    != 0)
				abort();
		rideshare__response_batch__free_unpacked(back, NULL);
	}
	free(buf);
}

static void
response_batch(const uint8_t *d, size_t n)
{
	Rideshare__ResponseBatch *b = NULL;

	if (rs_op_response_batch_decode(d, n, &b) != NULL)
		return;
	if (b->n_responses < 2 || b->n_responses > RS_RESPONSE_BATCH_MAX)
		abort();
	for (size_t i = 0; i < b->n_responses; i++)
		if (b->responses[i]->request_id[0] == '\0')
			abort();
	rs_op_drop_unknown(&b->base);
	check_forwards(b->responses, b->n_responses);
	check_forwards(b->responses, 1);
	rideshare__response_batch__free_unpacked(b, NULL);
}

static void
notice(const char *line)
{
	rs_notice a, b;
	char buf[512];
	int rc = -1;

	switch (rs_notice_parse(line, &a)) {
	case RS_NOTICE_STATUS:
		rc = rs_notice_format_status(buf, sizeof(buf), a.id,
		    a.role == RIDESHARE__ROLE__MASTER      ? RS_ROLE_MASTER
		        : a.role == RIDESHARE__ROLE__SLAVE ? RS_ROLE_SLAVE
		                                           : RS_ROLE_CANDIDATE,
		    a.seq, a.epoch);
		break;
	case RS_NOTICE_READS:
		rc = rs_notice_format_reads(buf, sizeof(buf), a.id, &a.reads);
		break;
	case RS_NOTICE_HEAD:
		rc = rs_notice_format_head(buf, sizeof(buf), a.epoch, a.seq);
		break;
	default: return;
	}
	if (rc != 0 || rs_notice_parse(buf, &b) != a.kind
	    || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
}

static void
config(const char *v)
{
	char err[128];
	long l;
	int b;

	if (rs_cfg_parse_long(v, -1000, 65535, &l, err, sizeof(err)) == 0
	    && (l < -1000 || l > 65535))
		abort();
	(void) rs_cfg_parse_bool(v, &b, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	switch (data[0] % 9) {
	case 0: request(data + 1, size - 1); break;
	case 1: sync_event(data + 1, size - 1); break;
	case 4: read_batch(data + 1, size - 1); break;
	case 5: sync_batch(data + 1, size - 1); break;
	case 6: write_batch(data + 1, size - 1); break;
	case 7: request_batch(data + 1, size - 1); break;
	case 8: response_batch(data + 1, size - 1); break;
	default:
		text = malloc(size);
		if (text == NULL)
			abort();
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		if (data[0] % 9 == 2)
			notice(text);
		else
			config(text);
		free(text);
	}
	return 0;
}
