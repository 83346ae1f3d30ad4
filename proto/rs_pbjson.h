/* proto3 JSON mapping for protobuf-c messages, driven by the descriptors
 * protoc-c generates, so it serves every message of rideshare.proto
 * (DbRequest and DbResponse for the orchestrator's HTTP API and tests).
 *
 * Mapping (proto3 canonical JSON): field json names in lowerCamelCase are
 * written, and both camelCase and the original snake_case are accepted;
 * 64-bit integers are written as strings and accepted as numbers or
 * strings; enums as names (numbers accepted); default values are omitted
 * except inside a set oneof; unknown fields are rejected. */
#ifndef RS_PBJSON_H
#define RS_PBJSON_H

#include "rideshare.pb-c.h"

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Encodes msg. *out is a new reference owned by the caller. */
int rs_pbjson_encode(const ProtobufCMessage *msg, json_t **out);

/* Decodes JSON object in into a new message of type desc. On RS_OK *out
 * is owned by the caller (protobuf_c_message_free_unpacked(*out, NULL)).
 * On RS_EINVAL err holds a reason naming the offending field. */
int rs_pbjson_decode(const ProtobufCMessageDescriptor *desc, const json_t *in,
    ProtobufCMessage **out, char *err, size_t errlen);

/* ---- bounded JSON parsing ---------------------------------------------
 * jansson parses recursively: a document nested a few thousand levels deep
 * overflows a small thread stack (CivetWeb's are 100 KiB). Every JSON text
 * from outside the process goes through rs_pbjson_loadb, which refuses
 * nesting deeper than the limit BEFORE jansson sees it. */

#define RS_PBJSON_MAX_DEPTH_DEFAULT 64
/* Highest accepted RIDESHARE_JSON_MAX_DEPTH. jansson's load + dump + free
 * take ~0.3 KiB of stack per level (a bare 100 KiB thread overflows at
 * ~350 levels), so 128 levels leave over half of a CivetWeb thread's
 * 100 KiB for CivetWeb, the handler and libcurl/librabbitmq. */
#define RS_PBJSON_MAX_DEPTH_CAP 128

/* The nesting limit: RIDESHARE_JSON_MAX_DEPTH (1..RS_PBJSON_MAX_DEPTH_CAP)
 * read once, else RS_PBJSON_MAX_DEPTH_DEFAULT (also for a malformed value;
 * the services' config loaders reject those at start). */
size_t rs_pbjson_max_depth(void);

/* Scans buf[0..len) once, counting '[' and '{' outside strings. Returns 0
 * when no value is nested deeper than max levels, else the byte offset + 1
 * of the bracket that goes one level too deep. Nothing is allocated; the
 * text need not be valid JSON (jansson judges that afterwards). */
size_t rs_pbjson_depth_exceeded(const char *buf, size_t len, size_t max);

/* json_loadb(buf, len, flags, err) behind the depth check with
 * rs_pbjson_max_depth(): NULL with err->text "JSON nested deeper than N
 * levels" (err->position set) when too deep. err may be NULL. */
json_t *rs_pbjson_loadb(
    const char *buf, size_t len, size_t flags, json_error_t *err);

/* A DbRequest from proto3 JSON text (depth-bounded load, duplicate keys
 * refused, an object required): the one decoder of the admin API and
 * rsctl. RS_OK with *out (free with rideshare__db_request__free_unpacked);
 * RS_EINVAL with the reason in err. */
int rs_pbjson_decode_request(const char *text, size_t len,
    Rideshare__DbRequest **out, char *err, size_t errlen);

#endif
