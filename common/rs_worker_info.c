/* rs_worker_info_get (rs_worker_info.h). */
#include "rs_worker_info.h"

#include "rs_contract.h"
#include "rs_err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
rs_worker_info_get(
    rs_zk *zk, const char *id, bool watch, Rideshare__WorkerInfo **out)
{
	char path[256], *data;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), RS_ZK_WORKERS "/%s", id);
	if ((rc = rs_zk_get(zk, path, watch, &data, &len)) != RS_OK)
		return rc;
	*out = rideshare__worker_info__unpack(NULL, len, (uint8_t *) data);
	free(data);
	return *out != NULL ? RS_OK : RS_EPROTO;
}
