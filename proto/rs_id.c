#include "rs_id.h"

#include <string.h>
#include <sys/random.h>

void
rs_id_new(char out[RS_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[RS_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t) n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[RS_ID_LEN] = '\0';
}

int
rs_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	return strspn(s,
	           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	           "0123456789._:-")
	    == n;
}
