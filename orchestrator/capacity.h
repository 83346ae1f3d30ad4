/* How many slaves the hosts can use (issue 17 "Scaling that helps").
 *
 * Every slave is a process with its own PostgreSQL database; on a host
 * with fewer cores than slaves they only share the same cores, so a slave
 * past one per core costs read and write throughput instead of adding any
 * (docs/autoscaling.md "The cap" has the measurement). The autoscaler's
 * ceiling is therefore, unless RIDESHARE_MAX_SLAVES is set, what the
 * spawner reports its hosts can run: spawner.h rs_orch_spawner_capacity. */
#ifndef RS_ORCH_CAPACITY_H
#define RS_ORCH_CAPACITY_H

#include <stddef.h>

/* The derived cap never exceeds this (the pre-cap default of
 * RIDESHARE_MAX_SLAVES: each slave holds a database of its own). */
#define RS_ORCH_SLAVE_CAP_CEIL 16

/* cgroup v2 cpu.max content ("<quota> <period>" or "max <period>") ->
 * CPUs it allows, rounded up; 0 for "max" (no limit) or unparsable. */
int rs_orch_cpu_quota(const char *cpu_max);

/* CPUs this process may run on: its affinity mask, lowered by a cgroup v2
 * quota (/sys/fs/cgroup/cpu.max) when one is set; at least 1. */
int rs_orch_local_cpus(void);

/* The autoscaler's ceiling. max_set > 0 (RIDESHARE_MAX_SLAVES given):
 * that. Otherwise capacity (slaves the hosts can use; < 1 counts as 1)
 * limited to RS_ORCH_SLAVE_CAP_CEIL. Never below min_slaves (an explicit
 * floor wins) nor below 1. */
int rs_orch_slave_cap(int capacity, int min_slaves, int max_set);

#endif
