/* Unique identifiers (request ids, worker ids, consumer tags). */
#ifndef RS_ID_H
#define RS_ID_H

#include <stddef.h>

#define RS_ID_LEN 32 /* hex characters, without the NUL */

/* Writes RS_ID_LEN random hex characters plus NUL into out (size >= 33).
 * Uses getrandom(2); thread-safe. */
void rs_id_new(char out[RS_ID_LEN + 1]);

/* True when s is a usable request id: 1..128 characters of [A-Za-z0-9._:-]. */
int rs_id_valid(const char *s);

#endif
