"""Shared pieces of the hostile-client system tests (tests/hostile, ctest
`hostile`, docs/security.md): the stack's endpoints from the environment
tests/with-stack.sh provides, raw-socket helpers (nothing here trusts a
client library to send what a hostile client sends), and a snapshot of
the data that a rejected request must leave alone.

Every loop is bounded and every socket has a timeout; only 127.0.0.1."""
import hashlib
import json
import os
import socket
import time
import urllib.parse

import pytest
import requests

EDGE = os.environ.get("RIDESHARE_EDGE_URL", "http://127.0.0.1:8080").rstrip("/")
USERS = os.environ.get("RIDESHARE_USERS_URL", "http://127.0.0.1:8081").rstrip("/")
RIDES = os.environ.get("RIDESHARE_RIDES_URL", "http://127.0.0.1:8082").rstrip("/")
ADMIN = os.environ.get("RIDESHARE_ADMIN_URL", "http://127.0.0.1:8090").rstrip("/")
TOKEN = os.environ.get("RIDESHARE_ADMIN_TOKEN", "")
TIMEOUT = 30
PASSWORD = hashlib.sha1(b"secret").hexdigest()


def port_of(url):
    return urllib.parse.urlsplit(url).port


def auth():
    return {"Authorization": "Bearer " + TOKEN} if TOKEN else {}


def connect(url, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port_of(url)), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_until(s, data, done):
    """data and what s sends after it, until done(data), the peer closes
    or s times out (its timeout is the caller's)."""
    try:
        while not done(data):
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def read_response(s, deadline_s=TIMEOUT):
    """Reads one response (status line, headers, Content-Length body) from
    s. Returns (status, headers dict with lower-case names, body bytes);
    status None when the server closed without answering (a "silent
    close"), or when nothing came within deadline_s."""
    s.settimeout(deadline_s)
    data = recv_until(s, b"", lambda d: b"\r\n\r\n" in d)
    if b"\r\n\r\n" not in data:
        return None, {}, data
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    return status, hdrs, recv_until(s, body, lambda d: len(d) >= n)


def exchange(url, raw, deadline_s=TIMEOUT):
    """Sends raw bytes on a new connection and reads one answer."""
    s = connect(url)
    try:
        s.sendall(raw)
        return read_response(s, deadline_s)
    finally:
        s.close()


def is_json_error(body):
    try:
        o = json.loads(body)
    except ValueError:
        return False
    return isinstance(o, dict) and set(o) == {"error"} and isinstance(o["error"], str) \
        and o["error"] != ""


def healthy(url):
    r = requests.get(url + "/healthz", timeout=5)
    return r.status_code == 200


def admin_read(op):
    """POST /api/v1/db/read on the admin API with the token (if any)."""
    r = requests.post(ADMIN + "/api/v1/db/read", json=op, headers=auth(), timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def ride_ids():
    r = requests.get(EDGE + "/api/v1/rides?source=1&destination=2", timeout=TIMEOUT)
    return sorted(x["rideId"] for x in r.json()) if r.status_code == 200 else []


def snapshot():
    """The data a rejected request must not change: the user list, the ride
    count and every ride's details, read through the edge."""
    u = requests.get(EDGE + "/api/v1/users", timeout=TIMEOUT)
    c = requests.get(EDGE + "/api/v1/rides/count", timeout=TIMEOUT)
    rides = [requests.get(EDGE + "/api/v1/rides/%d" % i, timeout=TIMEOUT).text
             for i in ride_ids()]
    return (u.status_code, u.text, c.status_code, c.text, rides)


@pytest.fixture(scope="module")
def world():
    """Two users and one ride (clearing first)."""
    r = requests.post(USERS + "/api/v1/db/clear", timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:300]
    for name in ("alice", "bob"):
        r = requests.put(EDGE + "/api/v1/users",
                         json={"username": name, "password": PASSWORD}, timeout=TIMEOUT)
        assert r.status_code == 201, r.text[:300]
    r = requests.post(EDGE + "/api/v1/rides", json={
        "created_by": "alice", "timestamp": "01-01-2040:00-00-12", "source": 1,
        "destination": 2}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text[:300]
    return snapshot()


def timed(fn, *a, **kw):
    t = time.monotonic()
    v = fn(*a, **kw)
    return v, time.monotonic() - t
