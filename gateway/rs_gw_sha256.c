/* SHA-256 of one buffer: common/rs_sha256 in one call. */
#include "rs_gw_sha256.h"

#include "rs_sha256.h"

void
rs_gw_sha256_hex(const void *data, size_t len, char out[65])
{
	rs_sha256 s;

	rs_sha256_init(&s);
	rs_sha256_update(&s, data, len);
	rs_sha256_final_hex(&s, out);
}
