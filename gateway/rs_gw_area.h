/* The areas of data/AreaNameEnum.csv, compiled in (the table is generated
 * at build time by gen_areas.cmake). */
#ifndef RS_GW_AREA_H
#define RS_GW_AREA_H

#include <stddef.h>
#include <stdint.h>

struct rs_gw_area {
	int no; /* area number, 1..198 in the reference data */
	const char *name; /* e.g. "Kempegowda Ward" */
};

extern const struct rs_gw_area rs_gw_areas[];
extern const size_t rs_gw_areas_count;
extern const int rs_gw_areas_max;

/* Name of area no, or NULL when there is no such area. */
const char *rs_gw_area_name(int64_t no);

#endif
