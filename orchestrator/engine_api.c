#include "engine_api.h"

#include "rs_buf.h"
#include "rs_err.h"
#include "rs_log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	if (rs_buf_append(arg, data, size * nmemb) != 0)
		return 0;
	return size * nmemb;
}

int
rs_orch_engine_call(const char *socket, const char *api, const char *method,
    const char *path, const char *body, int conflict, json_t **reply)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	rs_buf out = RS_BUF_INIT;
	char url[2048];
	long status = 0;
	CURLcode cc;
	int rv = RS_OK;

	if (reply != NULL)
		*reply = NULL;
	if (c == NULL)
		return RS_ENOMEM;
	snprintf(url, sizeof(url), "http://localhost/%s%s", api, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(
	    c, CURLOPT_TIMEOUT_MS, (long) RS_ORCH_ENGINE_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (body != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rs_warn(NULL,
		    "event=docker_unreachable socket=\"%s\" call=\"%s %s\" "
		    "err=\"%s\"",
		    socket, method, path, curl_easy_strerror(cc));
		rv = (cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR
		         || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING)
		    ? RS_ECONN
		    : RS_EIO;
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if ((status >= 200 && status < 300) || status == 304) {
		if (reply != NULL && out.len > 0)
			*reply = json_loadb(out.data, out.len, 0, NULL);
	} else {
		json_t *j
		    = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
		const char *msg
		    = json_string_value(json_object_get(j, "message"));

		if (status != 404)
			rs_warn(NULL,
			    "event=docker_error call=\"%s %s\" status=%ld "
			    "msg=\"%s\"",
			    method, path, status, msg ? msg : "");
		json_decref(j);
		rv = status == 404  ? RS_ENOTFOUND
		    : status == 409 ? conflict
		                    : RS_EIO;
	}
done:
	rs_buf_fini(&out);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return rv;
}
