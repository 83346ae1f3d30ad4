/* SHA-256 (FIPS 180-4) for idempotency keys and request fingerprints: no
 * crypto library is linked otherwise, and these need a digest a client
 * cannot collide on purpose. */
#ifndef RS_GW_SHA256_H
#define RS_GW_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Writes the digest of data[0..len) to out as 64 lowercase hex digits and
 * a NUL (out holds at least 65 bytes). */
void rs_gw_sha256_hex(const void *data, size_t len, char out[65]);

#endif
