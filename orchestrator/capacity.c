#include "capacity.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
rs_orch_cpu_quota(const char *cpu_max)
{
	long long quota, period;

	if (cpu_max == NULL || strncmp(cpu_max, "max", 3) == 0)
		return 0;
	if (sscanf(cpu_max, "%lld %lld", &quota, &period) != 2 || quota <= 0
	    || period <= 0)
		return 0;
	return (int) ((quota + period - 1) / period);
}

int
rs_orch_local_cpus(void)
{
	cpu_set_t set;
	char buf[64];
	FILE *f;
	int n = 0, q;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = (int) sysconf(_SC_NPROCESSORS_ONLN);
	f = fopen("/sys/fs/cgroup/cpu.max", "r");
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL) {
			q = rs_orch_cpu_quota(buf);
			if (q > 0 && q < n)
				n = q;
		}
		fclose(f);
	}
	return n < 1 ? 1 : n;
}

int
rs_orch_slave_cap(int capacity, int min_slaves, int max_set)
{
	int cap;

	if (min_slaves < 1)
		min_slaves = 1;
	if (max_set > 0)
		cap = max_set;
	else {
		cap = capacity < 1 ? 1 : capacity;
		if (cap > RS_ORCH_SLAVE_CAP_CEIL)
			cap = RS_ORCH_SLAVE_CAP_CEIL;
	}
	return cap < min_slaves ? min_slaves : cap;
}
