/* Sample DbRequest ops the protocol tests share (rs_pbjson_test, rs_op_test,
 * the orchestrator's changes_test): one message of every op, with values
 * that exercise the codec (quotes, UTF-8, int64 extremes, negatives), and
 * a way to make any of them a request's op. Header only: include it in
 * tests that link rs_proto. */
#ifndef RS_TEST_OPS_H
#define RS_TEST_OPS_H

#include "rideshare.pb-c.h"

#include <stdint.h>
#include <string.h>

/* A request op and its message. */
typedef struct rs_test_op {
	Rideshare__DbRequest__OpCase op;
	ProtobufCMessage *m;
} rs_test_op;

#define RS_TEST_N_OPS 11

/* One message of every op; each[] lists them with their op case. */
typedef struct rs_test_ops {
	Rideshare__AddUser au;
	Rideshare__RemoveUser ru;
	Rideshare__ListUsers lu;
	Rideshare__GetUser gu;
	Rideshare__CreateRide cr;
	Rideshare__ListRides lr;
	Rideshare__GetRide gr;
	Rideshare__JoinRide jr;
	Rideshare__DeleteRide dr;
	Rideshare__CountRides cn;
	Rideshare__Clear cl;
	rs_test_op each[RS_TEST_N_OPS];
} rs_test_ops;

/* Fills o with the samples (o must not move afterwards: each[] points into
 * it). */
static inline void
rs_test_ops_init(rs_test_ops *o)
{
	rideshare__add_user__init(&o->au);
	rideshare__remove_user__init(&o->ru);
	rideshare__list_users__init(&o->lu);
	rideshare__get_user__init(&o->gu);
	rideshare__create_ride__init(&o->cr);
	rideshare__list_rides__init(&o->lr);
	rideshare__get_ride__init(&o->gr);
	rideshare__join_ride__init(&o->jr);
	rideshare__delete_ride__init(&o->dr);
	rideshare__count_rides__init(&o->cn);
	rideshare__clear__init(&o->cl);
	o->au.username = "alice";
	o->au.password = "3d725109c7e7c0bfb9d709836735b56d943d263f";
	o->ru.username = "bob";
	o->gu.username = "carol \"quoted\" \xc3\xa9";
	o->cr.created_by = "alice";
	o->cr.timestamp = 1801000000;
	o->cr.source = 3;
	o->cr.destination = 198;
	o->lr.source = 1;
	o->lr.destination = 2;
	o->lr.after = -5;
	o->gr.ride_id = INT64_MAX;
	o->jr.ride_id = 42;
	o->jr.username = "dave";
	o->dr.ride_id = 7;

	const rs_test_op each[RS_TEST_N_OPS] = {
		{ RIDESHARE__DB_REQUEST__OP_ADD_USER, &o->au.base },
		{ RIDESHARE__DB_REQUEST__OP_REMOVE_USER, &o->ru.base },
		{ RIDESHARE__DB_REQUEST__OP_LIST_USERS, &o->lu.base },
		{ RIDESHARE__DB_REQUEST__OP_GET_USER, &o->gu.base },
		{ RIDESHARE__DB_REQUEST__OP_CREATE_RIDE, &o->cr.base },
		{ RIDESHARE__DB_REQUEST__OP_LIST_RIDES, &o->lr.base },
		{ RIDESHARE__DB_REQUEST__OP_GET_RIDE, &o->gr.base },
		{ RIDESHARE__DB_REQUEST__OP_JOIN_RIDE, &o->jr.base },
		{ RIDESHARE__DB_REQUEST__OP_DELETE_RIDE, &o->dr.base },
		{ RIDESHARE__DB_REQUEST__OP_COUNT_RIDES, &o->cn.base },
		{ RIDESHARE__DB_REQUEST__OP_CLEAR, &o->cl.base },
	};
	memcpy(o->each, each, sizeof(each));
}

/* Makes m r's op: protobuf-c numbers the cases of a oneof by their field
 * numbers and keeps each member pointer at its field's offset. Fails the
 * test if m is not the message of op. */
static inline void
rs_test_set_op(Rideshare__DbRequest *r, Rideshare__DbRequest__OpCase op,
    ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f
	    = protobuf_c_message_descriptor_get_field(
	        &rideshare__db_request__descriptor, (unsigned) op);

	assert_non_null(f);
	assert_ptr_equal(f->descriptor, m->descriptor);
	r->op_case = op;
	memcpy((char *) r + f->offset, &m, sizeof(m));
}

#endif
