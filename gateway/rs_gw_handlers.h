/* The shape most REST handlers share: send one DbRequest and answer from
 * a small table of DbResponse status -> HTTP reply, plus the JSON arrays
 * the services answer with. The services keep their routes and rules. */
#ifndef RS_GW_HANDLERS_H
#define RS_GW_HANDLERS_H

#include "rideshare.pb-c.h"
#include "rs_http.h"

#include <jansson.h>
#include <stdbool.h>

/* One row of a handler's answer table. error NULL: a 204 has no body,
 * any other status {}. error set: {"error": error}, or the DbResponse's
 * own error text instead when db_text is set and that text is not empty.
 * A table ends with a row whose http is 0. */
typedef struct {
	Rideshare__Status status;
	int http;
	const char *error;
	bool db_text;
} rs_gw_answer;

/* Sends dr (rs_gw_call: transport failures answered 502/503/504) and
 * answers req from the first row of answers with the response's status;
 * a status not in the table gets rs_gw_reply_db_error. */
void rs_gw_call_answer(
    rs_http_req *req, Rideshare__DbRequest *dr, const rs_gw_answer *answers);

/* Sends dr like rs_gw_call and keeps only a success: RS_OK with *resp a
 * response of status OK (caller frees it with
 * rideshare__db_response__free_unpacked); any other result is answered
 * here (transport 502/503/504, a failed status rs_gw_reply_db_error) and
 * returns that error, with nothing left to free. */
int rs_gw_call_ok(
    rs_http_req *req, Rideshare__DbRequest *dr, Rideshare__DbResponse **resp);

/* A new JSON array of the n strings v (caller owns the reference). */
json_t *rs_gw_json_strings(char *const *v, size_t n);

/* Answers 200 [n], the shape of every count the API returns. */
void rs_gw_reply_count(rs_http_req *req, json_int_t n);

#endif
