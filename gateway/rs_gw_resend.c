/* The gateways' read resend decision. See rs_gw_resend.h. */
#include "rs_gw_resend.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Worker ids are short ("w<n>-<6 hex>", or a name given by hand). */
#define ID_MAX 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char id[ID_MAX];
	int64_t ms; /* last answer, monotonic */
} seen[RS_GW_RESEND_SLOTS];

int
rs_gw_resend_after_ms(bool write, int retry_ms, int timeout_ms)
{
	if (write || retry_ms <= 0 || retry_ms >= timeout_ms)
		return 0;
	return retry_ms;
}

void
rs_gw_resend_note(const char *id, int64_t now_ms)
{
	int slot = -1;

	if (id == NULL || id[0] == '\0' || strlen(id) >= ID_MAX)
		return;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < RS_GW_RESEND_SLOTS; i++) {
		if (strcmp(seen[i].id, id) == 0) {
			slot = i;
			break;
		}
		if (slot < 0 || seen[i].ms < seen[slot].ms)
			slot = i; /* empty (ms 0) or heard of longest ago */
	}
	if (strcmp(seen[slot].id, id) != 0)
		snprintf(seen[slot].id, ID_MAX, "%s", id);
	if (now_ms > seen[slot].ms)
		seen[slot].ms = now_ms;
	pthread_mutex_unlock(&mu);
}

bool
rs_gw_resend_pick(int64_t since_ms, char *out, size_t len)
{
	int best = -1;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < RS_GW_RESEND_SLOTS; i++) {
		if (seen[i].id[0] == '\0' || seen[i].ms < since_ms)
			continue;
		if (best < 0 || seen[i].ms > seen[best].ms)
			best = i;
	}
	if (best >= 0)
		snprintf(out, len, "%s", seen[best].id);
	else if (len > 0)
		out[0] = '\0';
	pthread_mutex_unlock(&mu);
	return best >= 0;
}

bool
rs_gw_resend_ready(int64_t since_ms, int64_t now_ms, char *out, size_t len)
{
	if (rs_gw_resend_pick(since_ms, out, len))
		return true;
	return now_ms - since_ms >= RS_GW_RESEND_HINT_WAIT_MS;
}

void
rs_gw_resend_reset(void)
{
	pthread_mutex_lock(&mu);
	memset(seen, 0, sizeof(seen));
	pthread_mutex_unlock(&mu);
}
