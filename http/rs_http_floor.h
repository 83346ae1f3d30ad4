/* A bare CivetWeb server with the options rs_http uses, answering one
 * fixed body: the floor bench/civet_floor measures rs_http against
 * (docs/performance.md). Kept here so that no file outside http/ includes
 * CivetWeb. */
#ifndef RS_HTTP_FLOOR_H
#define RS_HTTP_FLOOR_H

#include <stddef.h>

typedef struct rs_http_floor rs_http_floor;

/* Listens on 127.0.0.1:port with threads threads; GET /floor answers 200
 * with body (len bytes, copied). RS_OK or RS_EIO (cannot listen). */
int rs_http_floor_start(
    int port, int threads, const char *body, size_t len, rs_http_floor **out);
void rs_http_floor_stop(rs_http_floor *f);

#endif
