/* One line per event on stderr:
 *   ts=2026-11-25T09:00:00.123Z level=info comp=worker rid=<id|-> <text>
 * <text> is the caller's key=value pairs, by convention starting with
 * event=<name>. Thread-safe (one write(2) per line). */
#ifndef RS_LOG_H
#define RS_LOG_H

enum rs_log_level { RS_LOG_DEBUG, RS_LOG_INFO, RS_LOG_WARN, RS_LOG_ERROR };

/* Sets the component name and reads RIDESHARE_LOG_LEVEL (returns RS_EINVAL
 * and keeps "info" when that variable holds an unknown level). */
int rs_log_init(const char *component);

/* Parses "debug"/"info"/"warn"/"error" into *out; RS_EINVAL otherwise. */
int rs_log_parse_level(const char *s, enum rs_log_level *out);

void rs_log_set_level(enum rs_log_level lvl);
int rs_log_enabled(enum rs_log_level lvl);

/* RIDESHARE_LOG_FORMAT=json: every line becomes one JSON object with the
 * same keys (ts, level, comp, rid, then the caller's pairs; integers as
 * numbers, text that is not key=value under "msg"). Writes the object
 * for the key=value line kv into out (cap bytes, NUL-terminated, cut if
 * too long) and returns its length. */
#include <stddef.h>
size_t rs_log_kv_to_json(const char *kv, char *out, size_t cap);

/* rid may be NULL ("-"). */
void rs_log(enum rs_log_level lvl, const char *rid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define rs_debug(rid, ...)                                      \
	do {                                                    \
		if (rs_log_enabled(RS_LOG_DEBUG))               \
			rs_log(RS_LOG_DEBUG, rid, __VA_ARGS__); \
	} while (0)
#define rs_info(rid, ...)  rs_log(RS_LOG_INFO, rid, __VA_ARGS__)
#define rs_warn(rid, ...)  rs_log(RS_LOG_WARN, rid, __VA_ARGS__)
#define rs_error(rid, ...) rs_log(RS_LOG_ERROR, rid, __VA_ARGS__)

#endif
