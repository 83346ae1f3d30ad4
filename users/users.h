/* The users service's routes (API.md, "Users service"). */
#ifndef USERS_H
#define USERS_H

#include "rs_http.h"

#include <stddef.h>

extern const rs_http_route users_routes[];
extern const size_t users_nroutes;

#endif
