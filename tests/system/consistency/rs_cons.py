"""Helpers of the consistency system tests (issue 14): endpoints from the
environment tests/with-stack.sh provides, the admin API's worker table,
SIGSTOP/SIGCONT of a worker. Every wait is bounded; only 127.0.0.1."""
import hashlib
import os
import signal
import sys
import time

import requests

USERS = os.environ.get("RIDESHARE_USERS_URL", "http://127.0.0.1:8081").rstrip("/")
RIDES = os.environ.get("RIDESHARE_RIDES_URL", "http://127.0.0.1:8082").rstrip("/")
ADMIN = os.environ.get("RIDESHARE_ADMIN_URL", "http://127.0.0.1:8090").rstrip("/")
TOKEN = os.environ.get("RIDESHARE_ADMIN_TOKEN", "")
PASSWORD = hashlib.sha1(b"secret").hexdigest()
FUTURE = "01-01-2031:00-00-00"
T = 30


def log(*a):
    print(*a, flush=True)
    sys.stdout.flush()


def auth():
    return {"Authorization": "Bearer " + TOKEN} if TOKEN else {}


def details():
    return requests.get(ADMIN + "/api/v1/worker/details", timeout=T).json()


def serving_slaves():
    return [w for w in details()["workers"]
            if w["role"] == "slave" and w["state"] == "running" and w["registered"]]


def master():
    for w in details()["workers"]:
        if w["role"] == "master" and w["state"] == "running":
            return w
    return None


def wait_ready(slaves=3, limit_s=120):
    """Waits until /readyz is 200 and `slaves` slaves serve."""
    end = time.time() + limit_s
    while time.time() < end:
        try:
            if (requests.get(ADMIN + "/readyz", timeout=5).status_code == 200
                    and len(serving_slaves()) >= slaves):
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit("stack not ready within %d s: %s" % (limit_s, details()))


def seq_of(r):
    v = r.headers.get("X-RideShare-Seq")
    assert v is not None, "no X-RideShare-Seq on %s %s" % (r.status_code, r.text)
    return int(v)


def put_user(sess, name, key=None, password=PASSWORD, timeout=T):
    h = {"Idempotency-Key": key} if key else {}
    return sess.put(USERS + "/api/v1/users", json={"username": name, "password": password},
                    headers=h, timeout=timeout)


def stop(pid):
    os.kill(pid, signal.SIGSTOP)


def cont(pid):
    """SIGCONT; a worker paused past its ZooKeeper session may have been
    replaced (and killed) meanwhile: that is fine."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        log("pid %d was replaced while paused" % pid)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100.0))]
