/* The Docker Engine HTTP API over its unix socket (libcurl): the one client
 * the docker and swarm spawners share. */
#ifndef RS_ORCH_ENGINE_API_H
#define RS_ORCH_ENGINE_API_H

#include <jansson.h>

/* Each call's deadline (ms): a daemon that stalls longer is treated as gone.
 */
#define RS_ORCH_ENGINE_TIMEOUT_MS 30000

/* One call: method and path (after the API version, e.g. "/containers/x/json")
 * to the daemon at socket speaking API version api ("v1.41"), with a JSON
 * body or NULL. RS_OK for 2xx/304, with *reply (may be NULL; the caller
 * decrefs it) the parsed JSON body or NULL; RS_ENOTFOUND for 404, conflict
 * for 409, RS_EIO for other statuses, RS_ECONN when the daemon cannot be
 * reached (logged, 404 excepted). */
int rs_orch_engine_call(const char *socket, const char *api,
    const char *method, const char *path, const char *body, int conflict,
    json_t **reply);

#endif
