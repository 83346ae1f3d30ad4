#include "rs_notice.h"
#include "rs_contract.h"

#include "rideshare.pb-c.h"
#include "rs_err.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
fits(int n, size_t len)
{
	return (n < 0 || (size_t) n >= len) ? RS_EINVAL : RS_OK;
}

int
rs_notice_format_status(char *buf, size_t len, const char *id,
    const char *role, uint64_t applied_seq, uint64_t epoch)
{
	return fits(snprintf(buf, len, "status %s %s %" PRIu64 " %" PRIu64, id,
	                role, applied_seq, epoch),
	    len);
}

int
rs_notice_format_reads(
    char *buf, size_t len, const char *id, const rs_notice_reads *r)
{
	return fits(snprintf(buf, len,
	                "reads %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
	                " %" PRIu64 " %" PRIu64,
	                id, r->held, r->hold_timeouts, r->park_timeouts,
	                r->rejected, r->reply_messages, r->batched_replies),
	    len);
}

int
rs_notice_format_commits(
    char *buf, size_t len, const char *id, const rs_notice_commits *c)
{
	return fits(snprintf(buf, len,
	                "commits %s %" PRIu64 " %" PRIu64 " %" PRIu64
	                " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	                id, c->groups, c->writes, c->statements_us,
	                c->commit_us, c->fence_us, c->confirm_us, c->reply_us),
	    len);
}

int
rs_notice_format_head(char *buf, size_t len, uint64_t epoch, uint64_t seq)
{
	return fits(
	    snprintf(buf, len, "head %" PRIu64 " %" PRIu64, epoch, seq), len);
}

static int
role_of(const char *r)
{
	if (strcasecmp(r, RS_ROLE_MASTER) == 0 || strcmp(r, "1") == 0)
		return RIDESHARE__ROLE__MASTER;
	if (strcasecmp(r, RS_ROLE_SLAVE) == 0 || strcmp(r, "2") == 0)
		return RIDESHARE__ROLE__SLAVE;
	if (strcasecmp(r, RS_ROLE_CANDIDATE) == 0 || strcmp(r, "0") == 0)
		return RIDESHARE__ROLE__CANDIDATE;
	return -1;
}

/* True when the last nfields space-separated fields of line are plain
 * decimals (sscanf's %llu would also take "-1" and "+1"). */
static bool
tail_is_decimal(const char *line, int nfields)
{
	const char *p = line + strlen(line);

	for (int f = 0; f < nfields; f++) {
		const char *end = p;
		while (p > line && p[-1] != ' ')
			p--;
		if (p == end)
			return false;
		for (const char *q = p; q < end; q++)
			if (*q < '0' || *q > '9')
				return false;
		if (p == line)
			return f == nfields - 1;
		p--; /* the space */
	}
	return true;
}

static enum rs_notice_kind
parse_commits(const char *line, rs_notice *out)
{
	char a[RS_NOTICE_ID_MAX];
	unsigned long long v[7];
	int end = 0;

	if (sscanf(line, "commits %63s %llu %llu %llu %llu %llu %llu %llu%n",
	        a, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &end)
	        != 8
	    || line[end] != '\0' || !tail_is_decimal(line, 7))
		return RS_NOTICE_NONE;
	snprintf(out->id, sizeof(out->id), "%s", a);
	out->commits = (rs_notice_commits) { .groups = v[0],
		.writes = v[1],
		.statements_us = v[2],
		.commit_us = v[3],
		.fence_us = v[4],
		.confirm_us = v[5],
		.reply_us = v[6] };
	return out->kind = RS_NOTICE_COMMITS;
}

enum rs_notice_kind
rs_notice_parse(const char *line, rs_notice *out)
{
	char a[RS_NOTICE_ID_MAX], r[32];
	unsigned long long v[6];
	int end = 0, n;

	memset(out, 0, sizeof(*out));
	out->role = -1;
	if (sscanf(
	        line, "status %63s %31s %llu %llu%n", a, r, &v[0], &v[1], &end)
	        == 4
	    && line[end] == '\0' && tail_is_decimal(line, 2)) {
		if ((out->role = role_of(r)) < 0)
			return RS_NOTICE_NONE;
		snprintf(out->id, sizeof(out->id), "%s", a);
		out->seq = v[0];
		out->epoch = v[1];
		return out->kind = RS_NOTICE_STATUS;
	}
	end = 0;
	if (sscanf(line, "head %llu %llu%n", &v[0], &v[1], &end) == 2
	    && line[end] == '\0' && tail_is_decimal(line, 2)) {
		out->epoch = v[0];
		out->seq = v[1];
		return out->kind = RS_NOTICE_HEAD;
	}
	if (strncmp(line, "commits ", 8) == 0)
		return parse_commits(line, out);
	end = 0;
	memset(v, 0, sizeof(v));
	n = sscanf(line, "reads %63s %llu %llu %llu %llu %llu %llu%n", a,
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end);
	if (n == 3 || n == 5) {
		/* older forms: held and hold_timeouts only (round 1), or
		 * without the reply counters; the missing ones are 0 */
		end = 0;
		if (n == 3)
			(void) sscanf(line, "reads %*s %*u %*u%n", &end);
		else
			(void) sscanf(
			    line, "reads %*s %*u %*u %*u %*u%n", &end);
	} else if (n != 7) {
		return RS_NOTICE_NONE;
	}
	if (end == 0 || line[end] != '\0' || !tail_is_decimal(line, n - 1))
		return RS_NOTICE_NONE;
	snprintf(out->id, sizeof(out->id), "%s", a);
	out->reads.held = v[0];
	out->reads.hold_timeouts = v[1];
	out->reads.park_timeouts = v[2];
	out->reads.rejected = v[3];
	out->reads.reply_messages = v[4];
	out->reads.batched_replies = v[5];
	return out->kind = RS_NOTICE_READS;
}
