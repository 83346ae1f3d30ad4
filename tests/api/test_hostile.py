"""Hostile input: every case gets a 4xx with a JSON {"error": ...} body and
changes no data (the users, the ride count and every ride's details are
compared before and after). Plus the long and odd values that must work."""
import json
import socket
import urllib.parse

import pytest

from conftest import EDGE, PASSWORD, RIDES, USERS, assert_json_error, seg, ts

P = PASSWORD.encode()
LIMIT = 1 << 20   # RIDESHARE_BODY_LIMIT default


@pytest.fixture
def world(api):
    """Some data for bad requests to (not) change."""
    api.add_user("alice")
    api.add_user("bob")
    api.add_user("carol")
    api.add_ride("alice")
    api.add_ride("bob", source=3, destination=4)
    assert api.post("/api/v1/rides/1", json={"username": "carol"}).status_code == 200
    return api


def check_unchanged(api, method, path, body=None, headers=None, base=EDGE, status=None):
    before = api.snapshot()
    r = api.raw(method, path, body, headers, base=base)
    assert_json_error(r, status)
    assert api.snapshot() == before
    return r


INVALID_JSON = [
    b"{", b"}", b"{\"username\": \"x\", \"password\": ", b"{'username': 'x'}",
    b"{username: \"x\"}", b"{\"username\": \"x\",}", b"{\"a\": NaN}",
    b"{\"a\": undefined}", b"{} {}", b"{\"username\": \"dave\", \"password\": \"" + P + b"\"} x",
    b"", b"   ", b"\x00", b"{\"username\": \"da\\u0000ve\", \"password\": \"" + P + b"\"}",
    b"{\"username\": \"dave\" \"password\": \"" + P + b"\"}",
]
WRONG_TYPES = [
    b"[]", b"[{\"username\": \"dave\", \"password\": \"" + P + b"\"}]", b"42", b"-1",
    b"\"dave\"", b"true", b"null",
    b"{\"username\": {\"username\": \"dave\"}, \"password\": \"" + P + b"\"}",
    b"{\"username\": [\"dave\"], \"password\": \"" + P + b"\"}",
    b"{\"username\": \"dave\", \"password\": {\"sha1\": \"" + P + b"\"}}",
    b"{\"username\": 1e400, \"password\": \"" + P + b"\"}",
    b"{\"username\": \"dave\", \"password\": 18446744073709551616}",
]
MISSING_EXTRA = [
    b"{}", b"{\"username\": \"dave\"}", b"{\"password\": \"" + P + b"\"}",
    b"{\"username\": \"dave\", \"password\": \"" + P + b"\", \"admin\": true}",
    b"{\"username\": \"dave\", \"password\": \"" + P + b"\", \"username\": \"eve\"}",
    b"{\"user\": \"dave\", \"password\": \"" + P + b"\"}",
]
NON_UTF8 = [
    b"{\"username\": \"d\xffve\", \"password\": \"" + P + b"\"}",
    b"{\"username\": \"d\xc3ve\", \"password\": \"" + P + b"\"}",
    b"{\"username\": \"\xc0\xaf\", \"password\": \"" + P + b"\"}",
    b"{\"username\": \"\xed\xa0\x80\", \"password\": \"" + P + b"\"}",
    b"{\"user\xffname\": \"dave\", \"password\": \"" + P + b"\"}",
    ("{\"username\": \"d\u00e9ve\", \"password\": \"%s\"}" % PASSWORD).encode("latin-1"),
    ("{\"username\": \"dave\", \"password\": \"%s\"}" % PASSWORD).encode("utf-16"),
    b"\xef\xbb\xbf\xff{}",
]


@pytest.mark.parametrize("body", INVALID_JSON + WRONG_TYPES + MISSING_EXTRA + NON_UTF8,
                         ids=lambda b: repr(b)[:50])
def test_add_user_hostile_body(world, body):
    check_unchanged(world, "PUT", "/api/v1/users", body, status=400)


RIDE_OK = {"created_by": "alice", "timestamp": "01-01-2040:00-00-12", "source": 1,
           "destination": 2}


def ride_bytes(**over):
    d = dict(RIDE_OK)
    d.update(over)
    return json.dumps(d).encode()


@pytest.mark.parametrize("body", [
    b"{", b"[]", b"[" + ride_bytes() + b"]", b"7", b"null", b"\"ride\"", b"",
    ride_bytes(source=None), ride_bytes(source={"n": 1}), ride_bytes(source=[1, 2]),
    ride_bytes(created_by={"name": "alice"}), ride_bytes(timestamp={"d": 1}),
    ride_bytes(extra="x"), b"{\"created_by\": \"alice\"}",
    ride_bytes(created_by="alice' OR '1'='1"),
    ride_bytes(source="1; DROP TABLE rides"), ride_bytes(source="1 OR 1=1"),
    ride_bytes(timestamp="01-01-2040:00-00-12'; DELETE FROM rides; --"),
    ride_bytes()[:-1] + b", \"source\": 5}",                        # duplicate key
    ride_bytes().replace(b"\"source\": 1", b"\"source\": 18446744073709551616"),
    ride_bytes().replace(b"\"source\": 1", b"\"source\": -18446744073709551617"),
    ride_bytes().replace(b"\"source\": 1", b"\"source\": 1e400"),
    ride_bytes().replace(b"\"source\": 1", b"\"source\": 99999999999999999999999999999"),
    ride_bytes(source="18446744073709551616"), ride_bytes(destination="340282366920938463463374607431768211457"),
    ride_bytes(source=9223372036854775807), ride_bytes(destination=-9223372036854775808),
    ride_bytes().replace(b"alice", b"al\xffice"),
], ids=lambda b: repr(b)[:60])
def test_create_ride_hostile_body(world, body):
    check_unchanged(world, "POST", "/api/v1/rides", body, status=400)


@pytest.mark.parametrize("body", [
    b"{", b"[]", b"[{\"username\": \"bob\"}]", b"3", b"null", b"",
    b"{\"username\": {\"username\": \"bob\"}}", b"{\"username\": [\"bob\"]}",
    b"{\"username\": 18446744073709551616}", b"{\"username\": \"b\xffb\"}",
    b"{\"username\": \"bob\", \"rideId\": 2}", b"{\"username\": \"bob\", \"username\": \"bob\"}",
])
def test_join_ride_hostile_body(world, body):
    check_unchanged(world, "POST", "/api/v1/rides/2", body, status=400)


@pytest.mark.parametrize("base", [EDGE, USERS], ids=["edge", "direct"])
def test_body_over_the_limit_is_413(world, base):
    big = b"{\"username\": \"" + b"a" * LIMIT + b"\", \"password\": \"" + P + b"\"}"
    check_unchanged(world, "PUT", "/api/v1/users", big, base=base, status=413)
    # the service keeps serving after refusing to read the rest
    assert world.users() == ["alice", "bob", "carol"]


def test_chunked_body_over_the_limit_is_413(world):
    def chunks():
        yield b"{\"created_by\": \""
        for _ in range(LIMIT // 65536 + 1):
            yield b"x" * 65536
        yield b"\"}"
    before = world.snapshot()
    r = world.post("/api/v1/rides", base=RIDES, data=chunks())
    assert_json_error(r, 413)
    assert world.snapshot() == before


def test_body_just_under_the_limit_is_read(world):
    name = "n" * (LIMIT - 200)
    r = world.put("/api/v1/users", json={"username": name, "password": PASSWORD})
    assert r.status_code == 201
    assert world.get("/api/v1/users/" + name).json() == {"username": name}


@pytest.mark.parametrize("method,path,status", [
    # path traversal and encoded separators in usernames
    ("GET", "/api/v1/users/..%2F..%2Fetc%2Fpasswd", None),
    ("DELETE", "/api/v1/users/..%2Falice", 400),  # user "../alice"
    ("DELETE", "/api/v1/users/%2E%2E%2Falice", None),
    ("GET", "/api/v1/users/%2E%2E", None),
    ("DELETE", "/api/v1/users/alice%2F..%2F..", 400),
    ("GET", "/api/v1/users/../../../../etc/passwd", None),
    ("DELETE", "/api/v1/users/../../../../alice", None),
    ("GET", "/api/v1/users/%zz", None),
    ("DELETE", "/api/v1/users/alice%", None),
    ("DELETE", "/api/v1/users/%00alice", None),
    ("DELETE", "/api/v1/users/alice%00", None),
    ("GET", "/api/v1/users/%FF%FE", 404),
    ("DELETE", "/api/v1/users/%FF%FE", 400),
    ("DELETE", "/api/v1/users/%C0%AF", 400),
    ("DELETE", "/api/v1/users/ALICE", 400),
    ("DELETE", "/api/v1/users/alice%20", 400),
    ("DELETE", "/api/v1/users/%20alice", 400),
    # SQL-looking values where they can only be wrong
    ("GET", "/api/v1/users/alice'%20OR%20'1'%3D'1", 404),
    ("DELETE", "/api/v1/users/alice'%3B%20DELETE%20FROM%20users%3B--", 400),
    ("DELETE", "/api/v1/users/*", 400),
    ("DELETE", "/api/v1/users/%25", 400),
    ("DELETE", "/api/v1/rides/1%20OR%201%3D1", 400),
    ("DELETE", "/api/v1/rides/1;DROP%20TABLE%20rides", 400),
    ("DELETE", "/api/v1/rides/*", 400),
    ("GET", "/api/v1/rides?source=1%20OR%201%3D1&destination=2", 400),
    ("GET", "/api/v1/rides?source=1'--&destination=2", 400),
    # numbers beyond 64 bits in paths and queries
    ("DELETE", "/api/v1/rides/18446744073709551617", 400),
    ("DELETE", "/api/v1/rides/99999999999999999999999999999999999999", 400),
    ("DELETE", "/api/v1/rides/-1", 400),
    ("DELETE", "/api/v1/rides/0", 400),
    ("DELETE", "/api/v1/rides/1e3", 400),
    ("DELETE", "/api/v1/rides/0x1", 400),
    ("GET", "/api/v1/rides?source=18446744073709551617&destination=2", 400),
    ("GET", "/api/v1/rides?source=1&destination=-18446744073709551617", 400),
    ("GET", "/api/v1/rides?source=1&destination=1e400", 400),
    # a different shape of the same routes
    ("DELETE", "/api/v1/users/alice/", None),
    ("DELETE", "/api/v1//users/alice", None),
    ("DELETE", "/api/v1/rides/1/", None),
    ("DELETE", "/api/v1/rides//1", None),
    ("DELETE", "/API/V1/RIDES/1", None),
])
def test_hostile_paths(world, method, path, status):
    check_unchanged(world, method, path, status=status)


@pytest.mark.parametrize("path", [
    "/api/v1/rides/18446744073709551617", "/api/v1/rides/-1", "/api/v1/rides/1%20OR%201%3D1",
])
def test_hostile_ride_ids_are_no_such_ride_on_get_and_join(world, path):
    before = world.snapshot()
    r = world.raw("GET", path)
    assert r[0] == 204 and r[2] == b""
    r = world.raw("POST", path, b"{\"username\": \"bob\"}")
    assert r[0] == 204 and r[2] == b""
    assert world.snapshot() == before


def raw_socket(request_bytes, base=EDGE):
    u = urllib.parse.urlsplit(base)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(request_bytes)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, head, body


@pytest.mark.parametrize("request_line", [
    b"DELETE /api/v1/users/\xff\xfe HTTP/1.1",
    b"DELETE /api/v1/users/al ice HTTP/1.1",
    b"DELETE /api/v1/users/alice\x00 HTTP/1.1",
    b"BREW /api/v1/users/alice HTTP/1.1",
])
@pytest.mark.parametrize("base", [EDGE, USERS], ids=["edge", "direct"])
def test_raw_malformed_request_lines(world, request_line, base):
    before = world.snapshot()
    status, head, body = raw_socket(request_line + b"\r\nHost: t\r\nConnection: close\r\n\r\n", base)
    assert 400 <= status < 500, head
    assert set(json.loads(body)) == {"error"}
    assert world.snapshot() == before


def test_uri_too_long_is_a_json_4xx(world):
    path = "/api/v1/users/" + "x" * (3 << 20)
    check_unchanged(world, "GET", path)


# --- odd values that must work end to end --------------------------------------

def test_100_kib_username_works_end_to_end(api):
    name = "\u00e9" + "u" * (100 * 1024)
    api.add_user("bob")
    api.add_user(name)
    assert api.get("/api/v1/users/" + seg(name)).json() == {"username": name}
    assert name in api.users()
    api.add_ride(name, source=9, destination=10)
    api.add_ride("bob")
    assert api.post("/api/v1/rides/2", json={"username": name}).status_code == 200
    listing = api.get("/api/v1/rides?source=9&destination=10").json()
    assert listing[0]["username"] == name
    assert api.ride(1)["Created_by"] == name
    assert api.ride(2)["users"] == [name]
    assert_json_error(api.post("/api/v1/rides/2", json={"username": name}), 400)
    r = api.delete("/api/v1/users/" + seg(name))
    assert r.status_code == 200 and r.json() == {}
    assert api.ride(1) is None and api.ride(2)["users"] == []
    assert api.users() == ["bob"]


@pytest.mark.parametrize("name", [
    "a/b", "../../etc/passwd", "..", "x y", "100%", "%2F", "a?b=c&d#e", "+plus+",
    "Robert'); DROP TABLE users;--", "' OR '1'='1", "\\", "\"quoted\"", "\u00e9\u20ac\U0001F697",
    "\t", "line\nbreak", "{}", "null",
])
def test_odd_usernames_are_just_names(api, name):
    api.add_user("bob")
    api.add_user(name)
    assert api.users() == ["bob", name]
    api.add_ride(name)
    assert api.ride(1)["Created_by"] == name
    assert api.post("/api/v1/rides/1", json={"username": "bob"}).status_code == 200
    for base in (USERS, EDGE):
        r = api.get("/api/v1/users/" + seg(name), base=base)
        assert r.status_code == 200 and r.json() == {"username": name}
    r = api.delete("/api/v1/users/" + seg(name))
    assert r.status_code == 200
    assert api.users() == ["bob"]
    assert api.ride_count() == 0


@pytest.mark.parametrize("name", ["a/b", "x y", "100%", "a?b=c&d#e", "' OR '1'='1",
                                  "\u00e9\u20ac\U0001F697"])
def test_odd_usernames_through_the_edge(api, name):
    api.add_user(name)
    r = api.get("/api/v1/users/" + seg(name))
    assert r.status_code == 200 and r.json() == {"username": name}
    api.add_user("bob")
    api.add_ride("bob")
    assert api.post("/api/v1/rides/1", json={"username": name}).status_code == 200
    assert api.delete("/api/v1/users/" + seg(name)).status_code == 200


def test_request_id_is_echoed(api):
    r = api.get("/api/v1/users", headers={"X-Request-Id": "test-rid-123"})
    assert r.headers["X-Request-Id"] == "test-rid-123"
    r = api.get("/api/v1/users", base=USERS, headers={"X-Request-Id": "test-rid-456"})
    assert r.headers["X-Request-Id"] == "test-rid-456"
    r = api.get("/api/v1/users", base=USERS)
    assert len(r.headers["X-Request-Id"]) >= 16


@pytest.mark.parametrize("base", [USERS, RIDES], ids=["users", "rides"])
def test_health_and_metrics(api, base):
    r = api.get("/healthz", base=base)
    assert r.status_code == 200
    r = api.get("/metrics", base=base)
    assert r.status_code == 200
    assert "rideshare_http_requests_total" in r.text
    assert "rideshare_http_request_duration_seconds_count" in r.text
