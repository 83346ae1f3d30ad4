#include "events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct event {
	int64_t ts_ms; /* wall clock, ms since the epoch */
	char kind[16];
	char text[RS_ORCH_EVENT_TEXT];
} event;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static event ring[RS_ORCH_EVENTS_MAX];
static size_t head; /* next slot to write */
static size_t count;

void
rs_orch_event(const char *kind, const char *fmt, ...)
{
	struct timespec ts;
	event e;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	e.ts_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	va_start(ap, fmt);
	vsnprintf(e.text, sizeof(e.text), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	ring[head] = e;
	head = (head + 1) % RS_ORCH_EVENTS_MAX;
	if (count < RS_ORCH_EVENTS_MAX)
		count++;
	pthread_mutex_unlock(&lock);
}

json_t *
rs_orch_events_json(size_t max)
{
	json_t *arr = json_array();
	char iso[40];
	struct tm tm;
	time_t sec;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count && i < max; i++) {
		const event *e = &ring[(head + RS_ORCH_EVENTS_MAX - 1 - i)
		    % RS_ORCH_EVENTS_MAX];

		sec = (time_t) (e->ts_ms / 1000);
		gmtime_r(&sec, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(iso + strlen(iso), sizeof(iso) - strlen(iso),
		    ".%03dZ", (int) (e->ts_ms % 1000));
		json_array_append_new(arr,
		    json_pack("{s:s, s:I, s:s, s:s}", "ts", iso, "ts_ms",
		        (json_int_t) e->ts_ms, "kind", e->kind, "text",
		        e->text));
	}
	pthread_mutex_unlock(&lock);
	return arr;
}

void
rs_orch_events_clear(void)
{
	pthread_mutex_lock(&lock);
	head = 0;
	count = 0;
	pthread_mutex_unlock(&lock);
}
