/* Route handlers that tests of rs_http share (rs_test_http.h). */
#include "rs_test_http.h"

#include "rs_err.h"

#include <string.h>

void
rs_test_echo(rs_http_req *req, void *arg)
{
	size_t n, bl;
	const char *name = rs_http_param(req, "name", &n);
	const char *q = NULL;
	json_t *o = json_object();

	(void) arg;
	(void) rs_http_body(req, &bl);
	json_object_set_new(o, "name", json_stringn(name, n));
	json_object_set_new(o, "body_len", json_integer((json_int_t) bl));
	if (rs_http_query(req, "q", &q, NULL) == RS_OK)
		json_object_set_new(o, "q", json_string(q));
	rs_http_reply_json(req, 200, o);
}

rs_http_cfg
rs_test_http_cfg(const char *name)
{
	rs_http_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = name;
	cfg.addr = "127.0.0.1";
	cfg.port = 0;
	cfg.threads = 4;
	cfg.body_limit = 1000;
	return cfg;
}
