"""Idempotent writes (issue 14, docs/gateway.md "Idempotent writes"): the
same Idempotency-Key sent twice (one after the other, and concurrently),
after a forced 504 (the master paused with SIGSTOP past the gateways' RPC
timeout) and after a master kill: one effect, the same answer (status and
X-RideShare-Seq); the same key with a different body: 422. Run with
RIDESHARE_RPC_TIMEOUT_MS=1500 so that the 504 comes quickly."""
import threading
import time

import requests

from rs_cons import (ADMIN, FUTURE, PASSWORD, RIDES, USERS, auth, cont, log, master,
                     put_user, seq_of, stop, wait_ready)


def users_named(name):
    r = requests.get(USERS + "/api/v1/users", timeout=30)
    return [] if r.status_code == 204 else [u for u in r.json() if u == name]


def rides_on(src, dst):
    r = requests.get(RIDES + "/api/v1/rides", params={"source": src, "destination": dst},
                     timeout=30)
    return [] if r.status_code == 204 else r.json()


def retry_until_answered(fn, limit_s=60):
    """Calls fn until it gets something other than 502/503/504."""
    end = time.time() + limit_s
    while True:
        r = fn()
        if r.status_code not in (502, 503, 504) or time.time() > end:
            return r
        time.sleep(0.3)


def sequential():
    s = requests.Session()
    a = put_user(s, "seq1", key="key-seq1")
    b = put_user(s, "seq1", key="key-seq1")
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert seq_of(a) == seq_of(b), (seq_of(a), seq_of(b))
    assert users_named("seq1") == ["seq1"]
    # without a key the retry is a new write: "username already taken"
    c = put_user(s, "seq1")
    assert c.status_code == 400, c.text
    # same key, another body
    d = put_user(s, "seq1", key="key-seq1", password="b" * 40)
    assert d.status_code == 422, (d.status_code, d.text)
    e = put_user(s, "other", key="key-seq1")
    assert e.status_code == 422, (e.status_code, e.text)
    assert users_named("other") == []
    log("sequential: same answer (seq %d), other body 422" % seq_of(a))


def concurrent():
    put_user(requests.Session(), "conc")
    body = {"created_by": "conc", "timestamp": FUTURE, "source": 7, "destination": 9}
    out = []

    def one():
        r = requests.post(RIDES + "/api/v1/rides", json=body,
                          headers={"Idempotency-Key": "key-conc"}, timeout=30)
        out.append((r.status_code, r.headers.get("X-RideShare-Seq")))

    th = [threading.Thread(target=one) for _ in range(8)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert len(set(out)) == 1 and out[0][0] == 201, out
    n = len(rides_on(7, 9))
    assert n == 1, ("rides created", n)
    log("concurrent: 8 sends, one ride, one answer", out[0])


def after_504():
    s = requests.Session()
    m = master()
    stop(m["pid"])
    try:
        r = put_user(s, "late", key="key-late")
        log("master paused: %d %s" % (r.status_code, r.text.strip()))
        assert r.status_code == 504, r.text
    finally:
        cont(m["pid"])
    r2 = retry_until_answered(lambda: put_user(s, "late", key="key-late"))
    r3 = put_user(s, "late", key="key-late")
    assert r2.status_code == r3.status_code == 201, (r2.text, r3.text)
    assert seq_of(r2) == seq_of(r3)
    assert users_named("late") == ["late"]
    log("after a 504: one effect, retries answer 201 seq %d" % seq_of(r2))


def crash_master():
    old = master()
    r = requests.post(ADMIN + "/api/v1/crash/master", headers=auth(), timeout=30)
    assert r.status_code == 200, r.text
    end = time.time() + 60
    while time.time() < end:
        m = master()
        if m and m["id"] != old["id"]:
            return
        time.sleep(0.3)
    raise SystemExit("no new master")


def after_master_kill():
    s = requests.Session()
    a = put_user(s, "survivor", key="key-survivor")
    assert a.status_code == 201, a.text
    # a write stuck in a paused master, which is then killed
    m = master()
    stop(m["pid"])
    r = put_user(s, "orphan", key="key-orphan")
    assert r.status_code == 504, r.text
    crash_master()
    wait_ready(1)
    b = retry_until_answered(lambda: put_user(s, "survivor", key="key-survivor"))
    assert b.status_code == 201 and seq_of(b) == seq_of(a), (b.status_code, b.text)
    c = retry_until_answered(lambda: put_user(s, "orphan", key="key-orphan"))
    d = put_user(s, "orphan", key="key-orphan")
    assert c.status_code == d.status_code == 201 and seq_of(c) == seq_of(d), (c.text, d.text)
    assert users_named("survivor") == ["survivor"] and users_named("orphan") == ["orphan"]
    e = put_user(s, "survivor", key="key-survivor", password="c" * 40)
    assert e.status_code == 422, e.text
    log("after a master kill: same answers (seq %d, %d), one effect each, 422 still"
        % (seq_of(b), seq_of(c)))


def main():
    wait_ready(2)
    requests.post(USERS + "/api/v1/db/clear", timeout=30)
    sequential()
    concurrent()
    after_504()
    after_master_kill()
    log("idempotency: PASS")


if __name__ == "__main__":
    main()
