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

#endif
