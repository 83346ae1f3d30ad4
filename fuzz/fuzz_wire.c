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
 *      what the orchestrator packed).
 * Properties: no crash, leak or undefined behaviour (ASan/UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rideshare.pb-c.h"
#include "rs_cfg.h"
#include "rs_contract.h"
#include "rs_notice.h"
#include "rs_op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
request(const uint8_t *d, size_t n)
{
	Rideshare__DbRequest *r = rideshare__db_request__unpack(NULL, n, d);

	if (rs_op_request_problem(r) == NULL) {
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
	switch (data[0] % 7) {
	case 0: request(data + 1, size - 1); break;
	case 1: sync_event(data + 1, size - 1); break;
	case 4: read_batch(data + 1, size - 1); break;
	case 5: sync_batch(data + 1, size - 1); break;
	case 6: write_batch(data + 1, size - 1); break;
	default:
		text = malloc(size);
		if (text == NULL)
			abort();
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		if (data[0] % 7 == 2)
			notice(text);
		else
			config(text);
		free(text);
	}
	return 0;
}
