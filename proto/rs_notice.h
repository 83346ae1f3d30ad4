/* The nng notice lines every worker publishes (docs/conventions.md "nng
 * notices"): formatted by the workers, parsed by the slaves and the
 * orchestrator, here and nowhere else.
 *
 *   status <worker-id> <role> <applied_seq> <epoch>
 *   reads <worker-id> <held> <hold_timeouts> <park_timeouts> <rejected>
 *         <reply_messages> <batched_replies>
 *   head <epoch> <seq>
 *   commits <worker-id> <groups> <writes> <statements_us> <commit_us>
 *           <fence_us> <confirm_us> <reply_us>
 *
 * role is master|slave|candidate (or the Role number). A "reads" line with
 * only the first two counters (round 1) or the first four (before reply
 * batches) is still accepted; the missing ones read 0. */
#ifndef RS_NOTICE_H
#define RS_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#define RS_NOTICE_ID_MAX 64

enum rs_notice_kind {
	RS_NOTICE_NONE = 0, /* not a notice line */
	RS_NOTICE_STATUS = 1,
	RS_NOTICE_HEAD = 2,
	RS_NOTICE_READS = 3,
	RS_NOTICE_COMMITS = 4,
};

/* A slave's read counters (totals since it started serving). */
typedef struct rs_notice_reads {
	uint64_t held; /* replies held until commit_seq covered them */
	uint64_t hold_timeouts; /* ...sent after the hold bound instead */
	uint64_t park_timeouts; /* reads answered UNAVAILABLE: min_seq not
	                           reached within the park bound */
	uint64_t rejected; /* internal messages dead-lettered (forged or
	                      out of range reads and sync events) */
	uint64_t reply_messages; /* messages that carried read replies */
	uint64_t batched_replies; /* replies that went inside a
	                             ResponseBatch (2 or more per message) */
} rs_notice_reads;

/* A master's group commits (totals of its current term: they start from 0
 * each time the worker becomes master), each step's
 * wall time in microseconds summed over the groups (worker/master.c
 * `process`): where a durable write's time goes (docs/performance.md). */
typedef struct rs_notice_commits {
	uint64_t groups; /* group commits (one transaction each) */
	uint64_t writes; /* requests in them, dedupe hits included */
	uint64_t statements_us; /* BEGIN, dedupe look-ups, the writes */
	uint64_t commit_us; /* bookkeeping rows + COMMIT (the WAL sync) */
	uint64_t fence_us; /* the ZooKeeper re-read of the master znode */
	uint64_t confirm_us; /* SyncEvent publish + broker confirm */
	uint64_t reply_us; /* notices, replies, acks */
} rs_notice_commits;

typedef struct rs_notice {
	enum rs_notice_kind kind;
	char id[RS_NOTICE_ID_MAX]; /* status, reads */
	int role; /* status: a Rideshare__Role value */
	uint64_t seq; /* status: applied_seq; head: head seq */
	uint64_t epoch; /* status, head */
	rs_notice_reads reads; /* reads */
	rs_notice_commits commits; /* commits */
} rs_notice;

/* Formatters: RS_OK, or RS_EINVAL when buf (len bytes) is too small. */
int rs_notice_format_status(char *buf, size_t len, const char *id,
    const char *role, uint64_t applied_seq, uint64_t epoch);
int rs_notice_format_reads(
    char *buf, size_t len, const char *id, const rs_notice_reads *r);
int rs_notice_format_commits(
    char *buf, size_t len, const char *id, const rs_notice_commits *c);
int rs_notice_format_head(char *buf, size_t len, uint64_t epoch, uint64_t seq);

/* Parses one line into *out; returns its kind (RS_NOTICE_NONE for anything
 * else: unknown words, missing or extra fields, an unknown role). */
enum rs_notice_kind rs_notice_parse(const char *line, rs_notice *out);

#endif
