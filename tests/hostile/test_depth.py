"""Bounded work per request: JSON nested 1,000 / 20,000 / 200,000 levels on
every JSON endpoint gets a 4xx with a JSON error before the parser
recurses (RIDESHARE_JSON_MAX_DEPTH, default 64); the process stays alive
(its /healthz answers) and no data changes. Before the bound, depth 1,000
overflowed a CivetWeb thread stack (SIGSEGV)."""
import pytest
import requests

from conftest import (ADMIN, EDGE, PASSWORD, RIDES, TIMEOUT, USERS, auth, healthy,
                      is_json_error, ride_ids, snapshot)

DEPTHS = [1000, 20000, 200000]


def nest(depth, open_="[", close="]"):
    return open_ * depth + close * depth


def bodies(depth):
    """(name, base URL for health, method, URL, body) per JSON endpoint."""
    n = nest(depth)
    obj = '{"a":' * depth + "1" + "}" * depth
    return [
        ("users PUT via edge", USERS, "PUT", EDGE + "/api/v1/users",
         '{"username": %s, "password": "%s"}' % (n, PASSWORD)),
        ("users PUT direct", USERS, "PUT", USERS + "/api/v1/users", obj),
        ("rides POST via edge", RIDES, "POST", EDGE + "/api/v1/rides",
         '{"created_by": "alice", "timestamp": %s, "source": 1, "destination": 2}' % n),
        ("rides POST direct", RIDES, "POST", RIDES + "/api/v1/rides", n),
        ("ride join via edge", RIDES, "POST", EDGE + "/api/v1/rides/{rid}",
         '{"username": %s}' % n),
        ("ride join direct", RIDES, "POST", RIDES + "/api/v1/rides/{rid}", obj),
        ("users db/clear direct", USERS, "POST", USERS + "/api/v1/db/clear", n),
        ("admin db/read", ADMIN, "POST", ADMIN + "/api/v1/db/read",
         '{"listUsers": %s}' % ('{"x":' * depth + "{}" + "}" * depth)),
        ("admin db/write", ADMIN, "POST", ADMIN + "/api/v1/db/write",
         '{"addUser": {"username": %s, "password": "%s"}}' % (n, PASSWORD)),
    ]


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_json_is_refused_and_changes_nothing(world, depth):
    rid = ride_ids()[0]
    before = snapshot()
    for name, svc, method, url, body in bodies(depth):
        r = requests.request(method, url.format(rid=rid), data=body.encode(),
                             headers=dict(auth(), **{"Content-Type": "application/json"}),
                             timeout=TIMEOUT)
        print("depth %d %s: %d %s" % (depth, name, r.status_code, r.text[:100]))
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:200])
        assert is_json_error(r.content), (name, r.text[:200])
        assert healthy(svc), name
    assert snapshot() == before


def test_depth_at_the_limit_is_parsed(world):
    """64 levels in all still parse (and then fail validation as usual)."""
    body = '{"username": %s, "password": "%s"}' % (nest(63), PASSWORD)
    r = requests.put(USERS + "/api/v1/users", data=body,
                     headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 400 and "nested deeper" not in r.text, r.text[:200]
    body = '{"username": %s, "password": "%s"}' % (nest(64), PASSWORD)
    r = requests.put(USERS + "/api/v1/users", data=body,
                     headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 400 and "nested deeper than 64" in r.text, r.text[:200]
