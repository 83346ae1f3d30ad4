"""HTTP/1.1 as clients expect it, on every CivetWeb port (users, rides,
admin) and, where nginx answers itself, the edge: "Expect: 100-continue"
gets "100 Continue" before the body is sent, another expectation 417, a
Content-Length over the limit 413 at once (without waiting for the body);
absolute-form targets for the server's own port are served like
origin-form, others 421; "OPTIONS *" is answered 204 with Allow, other
methods with "*" 400; never a silent close."""
import time

import pytest

from conftest import (ADMIN, EDGE, RIDES, USERS, auth, connect, exchange, is_json_error,
                      port_of, read_response)

LIMIT = 1 << 20
# (base, a POST/PUT path with a JSON body, a body it accepts or rejects
# with a 4xx after reading it, a GET path answered 200)
SERVICES = {
    "users": (USERS, "PUT", "/api/v1/users", b'{"username": "", "password": ""}',
              "/api/v1/_count"),
    "rides": (RIDES, "POST", "/api/v1/rides", b'{"created_by": ""}', "/api/v1/_count"),
    "admin": (ADMIN, "POST", "/api/v1/db/read", b'{"listUsers": {}}', "/api/v1/worker/list"),
}


def head(method, path, extra=b"", length=None):
    h = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" % (
        method.encode(), path.encode())
    for k, v in auth().items():
        h += b"%s: %s\r\n" % (k.encode(), v.encode())
    if length is not None:
        h += b"Content-Length: %d\r\n" % length
    return h + extra + b"\r\n"


@pytest.mark.parametrize("name", list(SERVICES))
def test_expect_100_continue_is_answered_before_the_body(name):
    url, method, path, body, _ = SERVICES[name]
    s = connect(url)
    try:
        t = time.monotonic()
        s.sendall(head(method, path, b"Expect: 100-continue\r\n", len(body)))
        status, _, _ = read_response(s, 3)
        waited = time.monotonic() - t
        assert status == 100, (name, status)
        assert waited < 1.0
        s.sendall(body)
        status, hdrs, rbody = read_response(s, 10)
        print("%s: Expect: 100-continue -> 100 in %.3f s, then %s" % (name, waited, status))
        assert status is not None and status != 100
        assert status == 200 or (400 <= status < 500 and is_json_error(rbody)), (status, rbody)
        # the connection goes on
        s.sendall(head("GET", SERVICES[name][4]))
        status, _, _ = read_response(s, 5)
        assert status == 200
    finally:
        s.close()


@pytest.mark.parametrize("name", list(SERVICES))
def test_other_expectations_get_417_at_once(name):
    url, method, path, body, _ = SERVICES[name]
    (status, hdrs, rbody), took = timed_exchange(
        url, head(method, path, b"Expect: foo\r\n", len(body)))
    print("%s: Expect: foo -> %s in %.3f s" % (name, status, took))
    assert status == 417 and is_json_error(rbody), (status, rbody)
    assert took < 1.0


@pytest.mark.parametrize("name", list(SERVICES))
@pytest.mark.parametrize("expect", [b"", b"Expect: 100-continue\r\n"])
def test_oversize_content_length_gets_413_without_waiting_for_the_body(name, expect):
    url, method, path, _, _ = SERVICES[name]
    (status, hdrs, rbody), took = timed_exchange(
        url, head(method, path, expect, 50 * LIMIT))
    print("%s: Content-Length 50 MiB %r -> %s in %.3f s" % (name, expect, status, took))
    assert status == 413 and is_json_error(rbody), (status, rbody)
    assert took < 1.0


def timed_exchange(url, raw):
    t = time.monotonic()
    r = exchange(url, raw, 5)
    return r, time.monotonic() - t


@pytest.mark.parametrize("name", list(SERVICES))
def test_absolute_form_target_is_served_like_origin_form(name):
    url, _, _, _, get_path = SERVICES[name]
    port = port_of(url)
    for host in (b"127.0.0.1", b"localhost"):
        status, _, body = exchange(url, b"GET http://%s:%d%s HTTP/1.1\r\nHost: x\r\n\r\n" % (
            host, port, get_path.encode()), 5)
        print("%s: GET http://%s:%d%s -> %s" % (name, host.decode(), port, get_path, status))
        assert status == 200, (status, body)
    # another server's port: an answer, not a silent close
    status, _, body = exchange(url, b"GET http://127.0.0.1:1%s HTTP/1.1\r\nHost: x\r\n\r\n" % (
        get_path.encode()), 5)
    print("%s: GET http://127.0.0.1:1%s -> %s" % (name, get_path, status))
    assert status == 421 and is_json_error(body), (status, body)


@pytest.mark.parametrize("name", list(SERVICES))
def test_options_star_is_answered(name):
    url = SERVICES[name][0]
    status, hdrs, body = exchange(url, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 5)
    print("%s: OPTIONS * -> %s Allow: %s" % (name, status, hdrs.get("allow")))
    assert status == 204 and "GET" in hdrs.get("allow", ""), (status, hdrs)
    status, hdrs, body = exchange(url, b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 5)
    print("%s: GET * -> %s" % (name, status))
    assert status == 400 and is_json_error(body), (status, body)


def test_the_edge_answers_them_too():
    for raw in (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET http://127.0.0.1:%d/api/v1/_count HTTP/1.1\r\nHost: x\r\n\r\n"
                % port_of(EDGE),
                b"PUT /api/v1/users HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n"
                b"Content-Length: 2\r\n\r\n{}",
                b"PUT /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                % (50 * LIMIT)):
        status, _, body = exchange(EDGE, raw, 5)
        print("edge: %r -> %s" % (raw.split(b"\r\n")[0], status))
        assert status is not None, raw
