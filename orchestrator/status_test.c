/* The status document and the event ring (status.c, events.c). */
#include "events.h"
#include "orch_test.h"
#include "status.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "rs_test.h"

static rs_orch_worker
mk(int64_t pid, int role, uint64_t applied)
{
	rs_orch_worker w = orch_test_worker(pid, role, RS_ORCH_RUNNING);

	w.applied_seq = applied;
	w.spawned_ms = 1000;
	return w;
}

static void
base(rs_orch_status_in *in, rs_orch_worker *t, size_t n, const char *master)
{
	static const char *const q[] = { "writeQ" };
	static const uint32_t m[] = { 7 }, c[] = { 1 };
	static const bool ok[] = { true };

	memset(in, 0, sizeof(*in));
	in->w = t;
	in->n = n;
	in->master_id = master;
	in->head_seq = 100;
	in->now_ms = 61000;
	in->queues = q;
	in->messages = m;
	in->consumers = c;
	in->ok = ok;
	in->nqueues = 1;
}

static void
test_status_has_lag_master_and_queues(void **state)
{
	rs_orch_worker t[3] = { mk(10, RS_ORCH_ROLE_MASTER, 100),
		mk(11, RS_ORCH_ROLE_SLAVE, 90),
		mk(12, RS_ORCH_ROLE_SLAVE, 100) };
	rs_orch_status_in in;
	json_t *j, *w;

	(void) state;
	t[2].state = RS_ORCH_DEAD; /* not listed */
	base(&in, t, 3, "w10");
	j = rs_orch_status_json(&in);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(j, "master"), "pid")),
	    10);
	w = json_object_get(j, "workers");
	assert_int_equal(json_array_size(w), 2);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(w, 0), "lag_seqs")),
	    0);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(w, 1), "lag_seqs")),
	    10);
	assert_true(
	    json_real_value(json_object_get(json_array_get(w, 1), "uptime_s"))
	    == 60.0);
	assert_int_equal(
	    json_integer_value(json_object_get(
	        json_object_get(json_object_get(j, "queues"), "writeQ"),
	        "messages")),
	    7);
	assert_int_equal(json_array_size(json_object_get(j, "banners")), 0);
	json_decref(j);
}

static void
test_paused_and_masterless_show_banners(void **state)
{
	rs_orch_worker t[1] = { mk(11, RS_ORCH_ROLE_SLAVE, 5) };
	rs_orch_status_in in;
	json_t *j, *b;

	(void) state;
	base(&in, t, 1, "");
	in.paused = true;
	in.pause_reason = "kernel upgrade";
	j = rs_orch_status_json(&in);
	assert_true(json_is_null(json_object_get(j, "master")));
	b = json_object_get(j, "banners");
	assert_int_equal(json_array_size(b), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(b, 0), "kind")),
	    "paused");
	assert_non_null(strstr(
	    json_string_value(json_object_get(json_array_get(b, 0), "text")),
	    "kernel upgrade"));
	json_decref(j);
}

static void
test_event_ring_keeps_the_newest_first(void **state)
{
	json_t *j;

	(void) state;
	rs_orch_events_clear();
	for (int i = 0; i < RS_ORCH_EVENTS_MAX + 5; i++)
		rs_orch_event("spawn", "n=%d", i);
	j = rs_orch_events_json(1000);
	assert_int_equal(json_array_size(j), RS_ORCH_EVENTS_MAX);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(j, 0), "text")),
	    "n=132");
	json_decref(j);
	j = rs_orch_events_json(2);
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);
}

static void
test_page_is_self_contained(void **state)
{
	(void) state;
	assert_non_null(strstr(rs_orch_status_page, "api/v1/status"));
	assert_null(strstr(rs_orch_status_page, "http://"));
	assert_null(strstr(rs_orch_status_page, "https://"));
	assert_null(strstr(rs_orch_status_page, "src="));
}

RS_TEST_MAIN(cmocka_unit_test(test_status_has_lag_master_and_queues),
    cmocka_unit_test(test_paused_and_masterless_show_banners),
    cmocka_unit_test(test_event_ring_keeps_the_newest_first),
    cmocka_unit_test(test_page_is_self_contained))
