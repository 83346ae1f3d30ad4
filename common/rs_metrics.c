#include "rs_metrics.h"
#include "rs_err.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static rs_metric *head;
static rs_metric **tail = &head;

void
rs_metric_register(rs_metric *m)
{
	m->next_ = NULL;
	*tail = m;
	tail = &m->next_;
}

int
rs_metrics_line(
    rs_buf *out, const char *name, const char *labels, double value)
{
	if (labels != NULL && *labels != '\0')
		return rs_buf_printf(
		    out, "%s{%s} %.17g\n", name, labels, value);
	return rs_buf_printf(out, "%s %.17g\n", name, value);
}

static long
resident_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

int
rs_metrics_render(rs_buf *out)
{
	const char *last = NULL;
	struct rusage ru;
	double cpu;

	for (rs_metric *m = head; m != NULL; m = m->next_) {
		/* Metrics sharing a name with other labels are registered
		 * next to each other, so HELP/TYPE go out once per name. */
		if (last == NULL || strcmp(last, m->name) != 0)
			rs_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
			    m->name, m->help, m->name, m->type);
		last = m->name;
		rs_metrics_line(
		    out, m->name, m->labels, (double) rs_metric_get(m));
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	    + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	rs_buf_printf(out,
	    "# HELP process_resident_memory_bytes Resident memory size in "
	    "bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\n");
	rs_metrics_line(out, "process_resident_memory_bytes", NULL,
	    (double) resident_bytes());
	rs_buf_printf(out,
	    "# HELP process_max_resident_memory_bytes Peak resident memory in "
	    "bytes.\n"
	    "# TYPE process_max_resident_memory_bytes gauge\n");
	rs_metrics_line(out, "process_max_resident_memory_bytes", NULL,
	    (double) ru.ru_maxrss * 1024.0);
	rs_buf_printf(out,
	    "# HELP process_cpu_seconds_total User and system CPU time.\n"
	    "# TYPE process_cpu_seconds_total counter\n");
	rs_metrics_line(out, "process_cpu_seconds_total", NULL, cpu);
	return out->err;
}
