/* rs_orch_retire_plan: which orphan copies may be dropped. */
#include "retire.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rs_test.h"

#define NOW  1000000
#define LONG (NOW - RS_ORCH_RETIRE_AFTER_MS)

/* A copy: its term and seq, live (a running worker's) or not, serving
 * (master or slave) or not, and since when it is an orphan (0: not). */
#define COPY(term, at, is_live, is_serving, orphan_since)            \
	{                                                            \
		.epoch = (term), .seq = (at), .live = (is_live),     \
		.serving = (is_serving), .orphan_ms = (orphan_since) \
	}

/* The copies of one situation and which of them the plan drops. */
typedef struct {
	const char *what;
	rs_orch_copy c[4];
	size_t n;
	bool drop[4];
} retire_case;

static const retire_case cases[] = {
	{ "an orphan behind a serving copy, and one even with it (a tie: the "
	  "serving copy holds as much), are dropped",
	    { COPY(2, 100, true, true, 0), COPY(2, 90, false, false, LONG),
	        COPY(2, 100, false, false, LONG) },
	    3, { false, true, true } },
	{ "the most advanced orphan is kept",
	    { COPY(2, 100, true, true, 0), COPY(2, 101, false, false, LONG) },
	    2, { false, false } },
	/* A fenced master's copy (term 2, seq 105, never acknowledged beyond
	 * 100) loses to the new term's copy at seq 101. */
	{ "a later term beats a longer history; a term later than anything "
	  "serving is kept",
	    { COPY(3, 101, true, true, 0), COPY(2, 105, false, false, LONG),
	        COPY(4, 1, false, false, LONG) },
	    3, { false, true, false } },
	{ "nothing is dropped without a serving copy",
	    { COPY(2, 100, true, false, 0), COPY(1, 1, false, false, LONG) },
	    2, { false, false } },
	{ "live or recent orphans are kept",
	    { COPY(2, 100, true, true, 0), COPY(2, 10, true, false, 0),
	        COPY(2, 10, false, false, NOW - 1),
	        COPY(2, 10, false, false, 0) },
	    4, { false, false, false, false } },
};

static void
test_orphans_are_dropped_only_behind_a_serving_copy(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const retire_case *k = &cases[i];
		bool drop[4];
		size_t want = 0;

		for (size_t j = 0; j < k->n; j++)
			want += k->drop[j];
		if (rs_orch_retire_plan(k->c, k->n, NOW, drop) != want)
			fail_msg("%s: not %zu dropped", k->what, want);
		for (size_t j = 0; j < k->n; j++)
			if (drop[j] != k->drop[j])
				fail_msg("%s: copy %zu", k->what, j);
	}
}

RS_TEST_MAIN(
    cmocka_unit_test(test_orphans_are_dropped_only_behind_a_serving_copy))
