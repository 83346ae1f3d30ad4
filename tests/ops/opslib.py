"""Helpers of the operations tests (tests/ops): admin API calls with the
stack's admin token, polling. Run through tests/with-stack.sh, which exports
RIDESHARE_ADMIN_URL (and RIDESHARE_ADMIN_TOKEN when the stack has one)."""
import json
import os
import time
import urllib.error
import urllib.request

ADMIN = os.environ["RIDESHARE_ADMIN_URL"].rstrip("/")


def token():
    tok = os.environ.get("RIDESHARE_ADMIN_TOKEN", "")
    path = os.environ.get("RIDESHARE_ADMIN_TOKEN_FILE", "")
    if not tok and path and os.path.exists(path):
        with open(path) as f:
            tok = f.read().strip()
    return tok


def http(method, path, body=None, timeout=15, base=None):
    """(status, parsed JSON or text) of base + path (base: the admin API
    unless given; "" when path is a whole URL); status 0 when unreachable.
    The admin token goes only to the admin API."""
    url = (ADMIN if base is None else base) + path
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"}
    if token() and url.startswith(ADMIN):
        hdrs["Authorization"] = "Bearer " + token()
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read().decode(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read().decode(), e.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def status():
    st, body = http("GET", "/api/v1/status")
    assert st == 200, (st, body)
    return body


def pids():
    st, body = http("GET", "/api/v1/worker/list")
    assert st == 200, (st, body)
    return [int(p) for p in body]


def wait_for(what, fn, timeout=60, every=0.25):
    """Polls fn() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(every)


def serving(role):
    """Pids of running, registered workers with this role."""
    return sorted(w["pid"] for w in status()["workers"]
                  if w["role"] == role and w["state"] == "running"
                  and w["registered"])


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("ok:", msg, flush=True)
