/* Name lists: a malloc'd array of malloc'd strings, as rs_zk_children and
 * rs_db_list_worker_databases hand them out. */
#ifndef RS_NAMES_H
#define RS_NAMES_H

/* Frees the count names and the array; names may be NULL. */
void rs_names_free(char **names, int count);

#endif
