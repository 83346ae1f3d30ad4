/* The rides service's routes (API.md, "Rides service"). */
#ifndef RIDES_H
#define RIDES_H

#include "rs_http.h"

#include <stddef.h>

extern const rs_http_route rides_routes[];
extern const size_t rides_nroutes;

#endif
