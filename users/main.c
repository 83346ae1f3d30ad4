/* rideshare-users: the users REST service (API.md). Wiring only: the
 * routes of users.c on port 8081, run by rs_gw_service_run. */
#include "rs_gw_service.h"
#include "users.h"

int
main(void)
{
	return rs_gw_service_run(
	    "users", 8081, users_routes, users_nroutes, NULL);
}
