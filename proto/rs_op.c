#include "rs_op.h"

#include "rs_id.h"

bool
rs_op_is_write(Rideshare__DbRequest__OpCase op)
{
	switch (op) {
	case RIDESHARE__DB_REQUEST__OP_ADD_USER:
	case RIDESHARE__DB_REQUEST__OP_REMOVE_USER:
	case RIDESHARE__DB_REQUEST__OP_CREATE_RIDE:
	case RIDESHARE__DB_REQUEST__OP_JOIN_RIDE:
	case RIDESHARE__DB_REQUEST__OP_DELETE_RIDE:
	case RIDESHARE__DB_REQUEST__OP_CLEAR: return true;
	default: return false;
	}
}

bool
rs_op_is_known(Rideshare__DbRequest__OpCase op)
{
	return rs_op_name(op)[0] != '?'
	    && op != RIDESHARE__DB_REQUEST__OP__NOT_SET;
}

const char *
rs_op_name(Rideshare__DbRequest__OpCase op)
{
	switch (op) {
	case RIDESHARE__DB_REQUEST__OP__NOT_SET: return "none";
	case RIDESHARE__DB_REQUEST__OP_ADD_USER: return "add_user";
	case RIDESHARE__DB_REQUEST__OP_REMOVE_USER: return "remove_user";
	case RIDESHARE__DB_REQUEST__OP_LIST_USERS: return "list_users";
	case RIDESHARE__DB_REQUEST__OP_GET_USER: return "get_user";
	case RIDESHARE__DB_REQUEST__OP_CREATE_RIDE: return "create_ride";
	case RIDESHARE__DB_REQUEST__OP_LIST_RIDES: return "list_rides";
	case RIDESHARE__DB_REQUEST__OP_GET_RIDE: return "get_ride";
	case RIDESHARE__DB_REQUEST__OP_JOIN_RIDE: return "join_ride";
	case RIDESHARE__DB_REQUEST__OP_DELETE_RIDE: return "delete_ride";
	case RIDESHARE__DB_REQUEST__OP_COUNT_RIDES: return "count_rides";
	case RIDESHARE__DB_REQUEST__OP_CLEAR: return "clear";
	default: return "?";
	}
}

const char *
rs_status_name(Rideshare__Status st)
{
	switch (st) {
	case RIDESHARE__STATUS__OK: return "OK";
	case RIDESHARE__STATUS__NOT_FOUND: return "NOT_FOUND";
	case RIDESHARE__STATUS__ALREADY_EXISTS: return "ALREADY_EXISTS";
	case RIDESHARE__STATUS__INVALID: return "INVALID";
	case RIDESHARE__STATUS__UNAVAILABLE: return "UNAVAILABLE";
	case RIDESHARE__STATUS__INTERNAL: return "INTERNAL";
	case RIDESHARE__STATUS__MISMATCH: return "MISMATCH";
	default: return "UNKNOWN";
	}
}

const char *
rs_op_request_problem(const Rideshare__DbRequest *req)
{
	if (req == NULL)
		return "undecodable";
	if (req->request_id == NULL || req->request_id[0] == '\0')
		return "no_request_id";
	if (!rs_id_valid(req->request_id))
		return "bad_request_id";
	if (!rs_op_is_known(req->op_case))
		return "no_op";
	return NULL;
}

const char *
rs_op_sync_event_problem(const Rideshare__SyncEvent *ev)
{
	const char *why;

	if (ev == NULL)
		return "undecodable";
	if (ev->request == NULL || ev->result == NULL)
		return "incomplete";
	if (ev->seq == 0)
		return "no_seq";
	if ((why = rs_op_request_problem(ev->request)) != NULL)
		return why;
	if (!rs_op_is_write(ev->request->op_case))
		return "not_a_write";
	return NULL;
}
