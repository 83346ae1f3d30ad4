/* SHA-256 (FIPS 180-4), incremental: idempotency keys and request
 * fingerprints (gateway/rs_gw_sha256) and backup file digests
 * (rs_backup). No crypto library is linked otherwise. */
#ifndef RS_SHA256_H
#define RS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t nbuf; /* bytes waiting in buf (< 64) */
	uint64_t len; /* bytes hashed so far */
} rs_sha256;

void rs_sha256_init(rs_sha256 *s);
void rs_sha256_update(rs_sha256 *s, const void *data, size_t len);
/* Writes the digest as 64 lowercase hex digits and a NUL; s is spent. */
void rs_sha256_final_hex(rs_sha256 *s, char out[65]);

#endif
