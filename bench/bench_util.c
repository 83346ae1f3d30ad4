#include "bench_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
bench_lat_add(bench_lat *l, double ms)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		double *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ms;
}

void
bench_lat_merge(bench_lat *dst, const bench_lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		bench_lat_add(dst, src->v[i]);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

double
bench_lat_pct(bench_lat *l, double p)
{
	size_t k;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_d);
	k = (size_t) ceil(p / 100.0 * (double) l->n);
	if (k > 0)
		k--;
	if (k >= l->n)
		k = l->n - 1;
	return l->v[k];
}

void
bench_lat_free(bench_lat *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

long
bench_arg_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr,
		    "%s: expected an integer in [%ld, %ld], got \"%s\"\n", opt,
		    lo, hi, s);
		exit(2);
	}
	return v;
}

/* opts' entry named name, or NULL. */
static const bench_opt *
find_opt(const bench_opt *opts, const char *name)
{
	for (; opts->name != NULL; opts++) {
		if (strcmp(opts->name, name) == 0)
			return opts;
	}
	return NULL;
}

int
bench_args(int argc, char **argv, const bench_opt *opts, const char *prog,
    const char *usage, const char *required)
{
	bool have_required = required == NULL;

	for (int i = 1; i < argc; i++) {
		const bench_opt *o = find_opt(opts, argv[i]);
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (o == NULL || (o->kind != BENCH_FLAG && v == NULL))
			goto usage;
		if (o->kind != BENCH_FLAG)
			i++;
		switch (o->kind) {
		case BENCH_STR: *(const char **) o->to = v; break;
		case BENCH_INT:
			*(int *) o->to
			    = (int) bench_arg_long(o->name, v, o->lo, o->hi);
			break;
		case BENCH_LONG:
			*(long *) o->to
			    = bench_arg_long(o->name, v, o->lo, o->hi);
			break;
		case BENCH_FLAG: *(int *) o->to = 1; break;
		case BENCH_FN:
			if (!o->fn(o->name, v, o->to))
				goto usage;
			break;
		}
		if (required != NULL && strcmp(o->name, required) == 0)
			have_required = true;
	}
	if (!have_required) {
		fprintf(stderr, "%s: %s is required\n", prog, required);
		return 2;
	}
	return 0;
usage:
	fprintf(stderr, "usage: %s %s\n", prog, usage);
	return 2;
}
