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

int
rs_metrics_help(
    rs_buf *out, const char *name, const char *type, const char *help)
{
	return rs_buf_printf(
	    out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
rs_metrics_one(rs_buf *out, const char *name, const char *type,
    const char *help, double value)
{
	rs_metrics_help(out, name, type, help);
	return rs_metrics_line(out, name, NULL, value);
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
			rs_metrics_help(out, m->name, m->type, m->help);
		last = m->name;
		rs_metrics_line(
		    out, m->name, m->labels, (double) rs_metric_get(m));
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	    + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	rs_metrics_one(out, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", (double) resident_bytes());
	rs_metrics_one(out, "process_max_resident_memory_bytes", "gauge",
	    "Peak resident memory in bytes.", (double) ru.ru_maxrss * 1024.0);
	rs_metrics_one(out, "process_cpu_seconds_total", "counter",
	    "User and system CPU time.", cpu);
	return out->err;
}
