"""docs/openapi.yaml matches the code: every documented path + method
answers something other than 404/405 through the edge."""
import os
import re

import pytest

from conftest import EDGE, PASSWORD, USERS, ts

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.yaml")
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def load_paths():
    """{path: [methods]} of the spec (PyYAML when installed, else a reader
    for the block style the file uses)."""
    text = open(SPEC, encoding="utf-8").read()
    try:
        import yaml
        spec = yaml.safe_load(text)
        return {p: sorted(m for m in ops if m in METHODS)
                for p, ops in spec["paths"].items()}
    except ImportError:
        pass
    paths, current, in_paths = {}, None, False
    for line in text.splitlines():
        if re.match(r"^paths:\s*$", line):
            in_paths = True
            continue
        if in_paths and re.match(r"^\S", line):
            break
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            current = m.group(1)
            paths[current] = []
            continue
        m = re.match(r"^    ([a-z]+):", line)
        if m and current and m.group(1) in METHODS:
            paths[current].append(m.group(1))
    return {p: sorted(ms) for p, ms in paths.items()}


PATHS = load_paths()
CASES = [(p, m) for p, ms in PATHS.items() for m in ms]


def test_spec_documents_the_public_api():
    assert {"/api/v1/users", "/api/v1/users/{username}", "/api/v1/rides",
            "/api/v1/rides/count", "/api/v1/rides/{rideId}", "/api/v1/db/clear",
            "/api/v1/_count"} <= set(PATHS)
    assert len(CASES) >= 13


@pytest.mark.parametrize("path,method", CASES, ids=["%s %s" % (m.upper(), p) for p, m in CASES])
def test_documented_operation_is_routed(api, path, method):
    api.add_user("alice")
    api.add_user("bob")
    api.add_ride("alice", when=ts())
    concrete = (path.replace("{username}", "bob").replace("{rideId}", "1"))
    bodies = {
        ("put", "/api/v1/users"): {"username": "carol", "password": PASSWORD},
        ("post", "/api/v1/rides"): {"created_by": "alice", "timestamp": ts(),
                                    "source": 1, "destination": 2},
        ("post", "/api/v1/rides/{rideId}"): {"username": "bob"},
    }
    params = {"source": 1, "destination": 2} if path == "/api/v1/rides" else None
    kw = {"params": params}
    if (method, path) in bodies:
        kw["json"] = bodies[(method, path)]
    r = api.req(method.upper(), EDGE + concrete, **kw)
    assert r.status_code not in (404, 405), (r.status_code, r.text[:200])
    assert r.status_code < 500, (r.status_code, r.text[:200])
