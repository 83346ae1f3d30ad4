/* Unit tests of the gateway's status mapping and of the RPC client's
 * behaviour without a broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rs_err.h"
#include "rs_contract.h"
#include "rs_gw_rpc.h"
#include "rs_gw_sha256.h"
#include "rs_log.h"

static void
test_db_status_to_http(void **state)
{
	assert_int_equal(rs_gw_status_http(RIDESHARE__STATUS__OK), 200);
	assert_int_equal(rs_gw_status_http(RIDESHARE__STATUS__NOT_FOUND), 404);
	assert_int_equal(
	    rs_gw_status_http(RIDESHARE__STATUS__ALREADY_EXISTS), 400);
	assert_int_equal(rs_gw_status_http(RIDESHARE__STATUS__INVALID), 400);
	assert_int_equal(
	    rs_gw_status_http(RIDESHARE__STATUS__UNAVAILABLE), 503);
	assert_int_equal(rs_gw_status_http(RIDESHARE__STATUS__INTERNAL), 500);
	assert_int_equal(rs_gw_status_http(99), 500);
}

static void
test_transport_errors_to_http(void **state)
{
	assert_int_equal(rs_gw_rpc_err_http(RS_ETIMEDOUT), 504);
	assert_int_equal(rs_gw_rpc_err_http(RS_ECONN), 503);
	assert_int_equal(rs_gw_rpc_err_http(RS_EMQ), 503);
	assert_int_equal(rs_gw_rpc_err_http(RS_EPROTO), 502);
}

static void
test_unreachable_broker_fails_fast(void **state)
{
	Rideshare__DbRequest req = RIDESHARE__DB_REQUEST__INIT;
	Rideshare__ListUsers op = RIDESHARE__LIST_USERS__INIT;
	Rideshare__DbResponse *resp = NULL;
	int rc;

	/* Nothing listens on port 1. */
	rs_gw_rpc_init(
	    "amqp://guest:guest@127.0.0.1:1", RS_Q_ORCHESTRATOR, 300);
	req.op_case = RIDESHARE__DB_REQUEST__OP_LIST_USERS;
	req.list_users = &op;
	rc = rs_gw_rpc_call(&req, "test", &resp);
	assert_int_not_equal(rc, RS_OK);
	assert_null(resp);
	assert_int_equal(rs_gw_rpc_err_http(rc) / 100, 5);
	/* the fresh id does not leak out */
	assert_string_equal(req.request_id, "");
	rs_gw_rpc_fini();
}

/* FIPS 180-4 test vectors, one of them spanning two blocks. */
static void
test_sha256_vectors(void **state)
{
	char out[65];

	(void) state;
	rs_gw_sha256_hex("abc", 3, out);
	assert_string_equal(out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"
	    "d");
	rs_gw_sha256_hex("", 0, out);
	assert_string_equal(out,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"
	    "5");
	const char *two
	    = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	rs_gw_sha256_hex(two, strlen(two), out);
	assert_string_equal(out,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c"
	    "1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_status_to_http),
		cmocka_unit_test(test_transport_errors_to_http),
		cmocka_unit_test(test_unreachable_broker_fails_fast),
		cmocka_unit_test(test_sha256_vectors),
	};
	rs_log_set_level(RS_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
