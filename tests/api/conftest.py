"""Shared fixtures of the public API system tests (tests/api).

The endpoints come from the environment that tests/with-stack.sh (or
`./rideshare up`) provides: RIDESHARE_EDGE_URL (what clients use),
RIDESHARE_USERS_URL and RIDESHARE_RIDES_URL (each service directly, for
`_count` and `db/clear` as the original specification does). Every test
starts from an empty database (POST /api/v1/db/clear).
"""
import datetime
import hashlib
import http.client
import json
import os
import urllib.parse

import pytest
import requests

EDGE = os.environ.get("RIDESHARE_EDGE_URL", "http://127.0.0.1:8080").rstrip("/")
USERS = os.environ.get("RIDESHARE_USERS_URL", "http://127.0.0.1:8081").rstrip("/")
RIDES = os.environ.get("RIDESHARE_RIDES_URL", "http://127.0.0.1:8082").rstrip("/")
TIMEOUT = float(os.environ.get("RIDESHARE_API_TEST_TIMEOUT_S", "30"))
TS_FORMAT = "%d-%m-%Y:%S-%M-%H"


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


PASSWORD = sha1("secret")


def ts(delta=datetime.timedelta(days=30)):
    """A DD-MM-YYYY:SS-MM-HH timestamp `delta` from now (server TZ: UTC by
    default; deltas of days make the zone irrelevant)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return (now + delta).strftime(TS_FORMAT)


FUTURE = datetime.timedelta(days=30)
PAST = datetime.timedelta(days=-30)


def seg(name):
    """A username as one percent-encoded path segment ("." and ".." too,
    which would otherwise be dot-segments)."""
    if name in (".", ".."):
        return "%2E" * len(name)
    return urllib.parse.quote(name, safe="")


class Api:
    """Thin client: one kept-alive session, JSON helpers, raw requests."""

    def __init__(self):
        self.s = requests.Session()

    def req(self, method, url, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return self.s.request(method, url, **kw)

    def get(self, path, base=EDGE, **kw):
        return self.req("GET", base + path, **kw)

    def put(self, path, base=EDGE, **kw):
        return self.req("PUT", base + path, **kw)

    def post(self, path, base=EDGE, **kw):
        return self.req("POST", base + path, **kw)

    def delete(self, path, base=EDGE, **kw):
        return self.req("DELETE", base + path, **kw)

    def raw(self, method, path, body=None, headers=None, base=EDGE):
        """Sends path and body exactly as given (no client-side quoting or
        encoding); returns (status, headers, body bytes)."""
        u = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        try:
            hdrs = {"Content-Type": "application/json"}
            hdrs.update(headers or {})
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None:
                conn.send(body)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    # --- domain helpers -------------------------------------------------
    def add_user(self, name, password=PASSWORD):
        r = self.put("/api/v1/users", json={"username": name, "password": password})
        assert r.status_code == 201, (r.status_code, r.text[:300])
        return name

    def add_ride(self, by, when=None, source=1, destination=2):
        body = {"created_by": by, "timestamp": when or ts(FUTURE),
                "source": source, "destination": destination}
        r = self.post("/api/v1/rides", json=body)
        assert r.status_code == 201, (r.status_code, r.text[:300])
        assert r.json() == {}

    def users(self):
        r = self.get("/api/v1/users")
        if r.status_code == 204:
            return []
        assert r.status_code == 200, r.text[:300]
        return r.json()

    def ride_count(self):
        r = self.get("/api/v1/rides/count")
        assert r.status_code == 200, r.text[:300]
        return r.json()[0]

    def ride(self, ride_id):
        r = self.get("/api/v1/rides/%d" % ride_id)
        if r.status_code == 204:
            return None
        assert r.status_code == 200, r.text[:300]
        return r.json()

    def snapshot(self, ride_ids=range(1, 6)):
        """Everything a bad request must leave alone."""
        return (self.users(), self.ride_count(),
                [self.ride(i) for i in ride_ids])

    def count(self, base):
        r = self.get("/api/v1/_count", base=base)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        assert isinstance(body, list) and len(body) == 1
        return body[0]

    def reset_count(self, base):
        r = self.delete("/api/v1/_count", base=base)
        assert r.status_code == 200 and r.json() == {}


def assert_json_error(r, status=None):
    """A 4xx (or the given status) whose body is {"error": "<non-empty>"}."""
    code = r.status_code if hasattr(r, "status_code") else r[0]
    text = r.content if hasattr(r, "content") else r[2]
    if status is None:
        assert 400 <= code < 500, (code, text[:300])
    else:
        assert code == status, (code, text[:300])
    body = json.loads(text)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"], body


def assert_no_body(r, status=204):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.content == b""


@pytest.fixture
def api():
    a = Api()
    r = a.post("/api/v1/db/clear", base=USERS)
    assert r.status_code == 200 and r.json() == {}, r.text[:300]
    yield a
    a.s.close()


@pytest.fixture
def two_users(api):
    return api.add_user("alice"), api.add_user("bob")
