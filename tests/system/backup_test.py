#!/usr/bin/env python3
"""Backup under write load, restored into a fresh stack (issue 15 item 4,
docs/operations.md "Backup and restore").

Run by ctest through tests/with-stack.sh (the SOURCE stack). Steps:

1. GET /api/v1/backup without the admin token is refused (401).
2. Writers add users, create rides and join them through the admin API
   (POST /api/v1/db/write), recording the seq of every reply; meanwhile
   `rsctl backup FILE` takes a backup. Writes are acknowledged both below
   and above the backup's seq S (it was taken under load), and every write
   acknowledged before the request has a seq <= S.
3. `rsctl restore` (and `--check`) refuses a truncated copy and a copy
   with one flipped byte; `--check` accepts the file; `rsctl restore FILE`
   into this source stack (it holds data) is refused: exit 1, HTTP 409,
   "restore only into an empty cluster".
4. The source's tables AT SEQ S are digested: the load only inserts, so
   the state at S is the rows whose seq is <= S (users.created,
   ride_members.seq, applied_requests.seq) and the rides whose CreateRide
   reply had seq <= S.
5. Scheduled backups (RIDESHARE_BACKUP_DIR, every 2 s, keep 2): exactly
   the newest 2 files are there, each a good backup, no ".part" left.
6. A fresh stack (its own PORT_BASE, a clean environment) is started with
   RIDESHARE_RESTORE_FROM=FILE: its master's AND its slave's tables digest
   exactly like the source at S (no row more, none less), meta says seq S,
   and the next write there gets seq S + 1.
7. Another fresh stack, started normally (empty), gets the file by
   `rsctl restore FILE` (POST /api/v1/restore): a damaged body is refused
   first (400, the master unchanged); a second call while an upload is in
   progress gets 409, the cut upload 400 (master unchanged); then the same checks as 6, the
   copy's epoch is the new master's term (docs/failover.md), and a second
   `rsctl restore` into the now non-empty cluster is refused (exit 1, 409)
   and changes nothing (same master, same rows, the next write S + 2).

Usage: backup_test.py RSCTL_BINARY RESTORED_PORT_BASE [RSCTL_PORT_BASE]
"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ADMIN = os.environ["RIDESHARE_ADMIN_URL"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RSCTL = sys.argv[1]
RESTORED_BASE = sys.argv[2]
TOKEN = os.environ["RIDESHARE_ADMIN_TOKEN"]
PW = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"


def http(method, url, body=None, token=True, timeout=15):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + TOKEN
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def write(op, may_fail=False):
    """(seq, reply) of one write. may_fail: a business failure (joining a
    ride twice) is a normal reply; it takes a seq too."""
    status, body = http("POST", ADMIN + "/api/v1/db/write", op)
    assert status == 200 and (may_fail or body.get("status", "OK") == "OK"), (op, status, body)
    return int(body["seq"]), body


def master_dbname(admin):
    status, d = http("GET", admin + "/api/v1/worker/details")
    assert status == 200, (status, d)
    return dbname(d["master"]), d


def dbname(worker_id):
    """rs_db_worker_dbname (common/rs_db.c)."""
    return "rideshare_" + re.sub(r"[^a-z0-9]", "_", worker_id.lower())


def psql(env, db, sql):
    out = subprocess.run([os.path.join(ROOT, "rideshare"), "psql", "-d", db, "-Atc", sql],
                         check=True, capture_output=True, text=True, env=env).stdout
    return out.strip()


# Digest of one table as rows in a fixed order (the where clause picks the
# state at the backup's seq on the source; nothing on the restored copy).
TABLES = {
    "users": ("username || ',' || password || ',' || created", "created", "created <= {s}"),
    "rides": ("ride_id || ',' || created_by || ',' || ts || ',' || source || ',' || destination",
              "ride_id", "ride_id = any('{{{rides}}}'::bigint[])"),
    "ride_members": ("ride_id || ',' || username || ',' || seq", "ride_id, seq", "seq <= {s}"),
    "applied_requests": ("request_id || ',' || seq || ',' || encode(response, 'hex')",
                         "request_id", "seq <= {s}"),
}


def digests(env, db, where=None):
    out = {}
    for t, (expr, order, cond) in TABLES.items():
        w = " where " + cond.format(**where) if where is not None else ""
        out[t] = psql(env, db, "select count(*) || ' ' || md5(coalesce(string_agg(%s, E'\\n' order by %s), ''))"
                               " from %s%s" % (expr, order, t, w))
    out["meta"] = psql(env, db, "select applied_seq || ' ' || next_ride_id from meta")
    return out


class Load:
    """Writers inserting users, rides and joins until stopped."""

    def __init__(self, nthreads=4):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seqs = []
        self.rides = []  # (seq of its CreateRide, ride id)
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(nthreads)]

    def run(self, k):
        rnd = random.Random(k)
        mine_users, mine_rides, n = [], [], 0
        try:
            while not self.stop.is_set():
                n += 1
                choice = rnd.random()
                if not mine_users or choice < 0.4:
                    name = "bk%d_%d" % (k, n)
                    seq, _ = write({"addUser": {"username": name, "password": PW}})
                    mine_users.append(name)
                elif not mine_rides or choice < 0.7:
                    seq, body = write({"createRide": {"createdBy": rnd.choice(mine_users),
                                                      "timestamp": 1800000000 + n,
                                                      "source": 1 + n % 198, "destination": 2}})
                    rid = int(body["ride"]["rideId"])
                    mine_rides.append(rid)
                    with self.lock:
                        self.rides.append((seq, rid))
                else:
                    seq, _ = write({"joinRide": {"rideId": rnd.choice(mine_rides),
                                                 "username": rnd.choice(mine_users)}},
                                   may_fail=True)
                with self.lock:
                    self.seqs.append(seq)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def metric(name, labels):
    status, text = http("GET", ADMIN + "/metrics")
    assert status == 200
    text = text.decode() if isinstance(text, bytes) else text
    m = re.search(r"^%s\{%s\} ([0-9.e+]+)" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0


def rsctl(*args, env=None):
    return subprocess.run([RSCTL, *args], capture_output=True, text=True, env=env)


def wait_for(what, fn, timeout_s=60, errors=None):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        assert not errors, errors
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout_s, what))


def post_file(url, data):
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/octet-stream", "Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def rsctl_restore_phase(expected_path, backup, bad):
    """Runs inside an EMPTY stack started normally (third with-stack):
    rsctl restore FILE, then the checks of restored_phase, then a second
    restore is refused."""
    env = dict(os.environ)
    db0, d0 = master_dbname(ADMIN)
    status, body = post_file(ADMIN + "/api/v1/restore", open(bad, "rb").read())
    assert status == 400 and "not a good backup file" in body["error"], (status, body)
    db1, d1 = master_dbname(ADMIN)
    assert db1 == db0 and d1["epoch"] == d0["epoch"], (d0, d1)
    assert psql(env, db0, "select applied_seq from meta") == "0"
    # One restore at a time: while an upload is in progress (half the
    # file sent), a second call gets 409; the cut upload then gets nothing
    # changed (the orchestrator saw a short body).
    data = open(backup, "rb").read()
    host, port = re.match(r"https?://([^:/]+):(\d+)", ADMIN).groups()
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(("POST /api/v1/restore HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                  "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                  % (host, TOKEN, len(data))).encode() + data[: len(data) // 2])
    # The probe is the bad file: if it comes before the cut upload holds
    # the restore it is refused as a bad file and changes nothing (a good
    # file would be restored, and the cluster would then hold data).
    time.sleep(0.3)
    busy = None
    for _ in range(50):  # until the first call holds the restore
        status, body = post_file(ADMIN + "/api/v1/restore", open(bad, "rb").read())
        if status == 409:
            busy = body
            break
        assert status == 400 and "not a good backup file" in body["error"], (status, body)
        time.sleep(0.1)
    assert busy is not None and "already running" in busy["error"], (status, body)
    sock.shutdown(socket.SHUT_WR)
    reply = sock.recv(65536).decode(errors="replace")
    sock.close()
    assert reply.startswith("HTTP/1.1 400") and "did not arrive whole" in reply, reply
    db1, d1 = master_dbname(ADMIN)
    assert db1 == db0 and d1["epoch"] == d0["epoch"], (d0, d1)
    t0 = time.time()
    r = rsctl("restore", backup)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    out = json.loads(r.stdout)
    print("rsctl restore into the empty stack: %s (%.1f s)" % (out, time.time() - t0))
    with open(expected_path) as f:
        s = json.load(f)["seq"]
    assert out["seq"] == s, out
    db, details = master_dbname(ADMIN)
    assert db != db0, "the data tier was not restarted"
    # Seq and epoch rule: the copy stands at (the new master's term, S).
    assert out["epoch"] == details["epoch"] and out["epoch"] > d0["epoch"], (out, details, d0)
    assert psql(env, db, "select epoch from meta") == str(out["epoch"])
    # Reads right away, before any write (commit_seq reseeded at S: a
    # slave must not hold them for a write that never comes).
    t0 = time.time()
    for _ in range(4):
        status, body = http("POST", ADMIN + "/api/v1/db/read", {"listUsers": {}})
        assert status == 200 and len(body["users"]["usernames"]) == out["rows"]["users"], (
            status, body)
    assert time.time() - t0 < 5, "reads after the restore were held %.1f s" % (time.time() - t0)
    restored_phase(expected_path)
    # Now it holds data: refused, and nothing changes.
    before = digests(env, db)
    r = rsctl("restore", backup)
    assert r.returncode == 1 and "HTTP 409" in r.stderr and \
        "restore only into an empty cluster" in r.stderr, (r.returncode, r.stderr)
    db2, _ = master_dbname(ADMIN)
    assert db2 == db and digests(env, db) == before, "a refused restore changed the data"
    seq, _ = write({"addUser": {"username": "after_refusal", "password": PW}})
    assert seq == s + 2, (seq, s)
    print("second rsctl restore refused: %s" % r.stderr.strip())
    _, text = http("GET", ADMIN + "/metrics")
    text = text.decode() if isinstance(text, bytes) else text
    got = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(rideshare_orch_restores(?:_refused)?_total) ([0-9.e+]+)$", text, re.M)}
    assert got == {"rideshare_orch_restores_total": 1,
                   "rideshare_orch_restores_refused_total": 4}, got


def restored_phase(expected_path):
    """Runs inside the restored stack (second with-stack)."""
    with open(expected_path) as f:
        exp = json.load(f)
    env = dict(os.environ)
    s = exp["seq"]
    db, details = master_dbname(ADMIN)
    assert details["epoch"] >= 1, details
    got = digests(env, db)
    print("restored master %s: %s" % (db, got))
    assert got == exp["digests"], "restored master differs from the source at seq %d:\n%s\n%s" % (
        s, got, exp["digests"])

    def serving_slave():
        _, d = http("GET", ADMIN + "/api/v1/workers")
        return [w for w in d["workers"] if w["role"] == "slave" and w["applied_seq"] >= s]
    slave = wait_for("a slave at seq %d" % s, serving_slave)[0]
    got = digests(env, dbname(slave["id"]))
    assert got == exp["digests"], "restored slave differs: %s" % got
    # The data goes on from the backup's seq.
    seq, _ = write({"addUser": {"username": "after_restore", "password": PW}})
    assert seq == s + 1, "first write after the restore got seq %d, want %d" % (seq, s + 1)
    status, body = http("POST", ADMIN + "/api/v1/db/read", {"listUsers": {}})
    assert status == 200 and "after_restore" in body["users"]["usernames"], body
    print("restored stack: master and slave match the source at seq %d; next write seq %d" % (s, seq))


def main():
    if len(sys.argv) > 3 and sys.argv[3] == "--restored":
        restored_phase(sys.argv[4])
        return
    if len(sys.argv) > 3 and sys.argv[3] == "--rsctl-restore":
        rsctl_restore_phase(sys.argv[4], sys.argv[5], sys.argv[6])
        return
    status, body = http("GET", ADMIN + "/api/v1/backup", token=False)
    assert status == 401 and "error" in body, (status, body)

    work = tempfile.mkdtemp(prefix="rs-backup-test.")
    path = os.path.join(work, "b.rsbackup")
    with Load() as load:
        wait_for("writes before the backup", lambda: len(load.seqs) >= 100, 60, load.errors)
        with load.lock:
            acked_before = max(load.seqs)
        r = rsctl("backup", path)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        n_at_backup = len(load.seqs)
        wait_for("writes after the backup", lambda: len(load.seqs) >= n_at_backup + 100, 60,
                 load.errors)
    assert not load.errors, load.errors
    info = json.loads(r.stdout)
    s = info["seq"]
    print("backup: seq %d from %s, %d bytes, rows %s; acknowledged seqs %d..%d, %d before the request" % (
        s, info["source"], info["bytes"], info["rows"], min(load.seqs), max(load.seqs), acked_before))
    assert s >= acked_before, "a write acknowledged before the backup request is missing"
    assert s < max(load.seqs), "backup not taken under load"
    assert sum(1 for q in load.seqs if q > s) >= 50, "too few writes after the backup's seq"

    # A damaged copy is refused with its reason; the file itself is good.
    with open(path, "rb") as f:
        data = f.read()
    bad = os.path.join(work, "bad.rsbackup")
    with open(bad, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    r2 = rsctl("restore", bad)
    assert r2.returncode == 1 and "truncated" in r2.stderr, (r2.returncode, r2.stderr)
    r2 = rsctl("restore", "--check", bad)
    assert r2.returncode == 1 and "truncated" in r2.stderr, (r2.returncode, r2.stderr)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    with open(bad, "wb") as f:
        f.write(flipped)
    r2 = rsctl("restore", bad)
    assert r2.returncode == 1 and "SHA-256 mismatch" in r2.stderr, (r2.returncode, r2.stderr)
    r2 = rsctl("restore", "--check", path)
    assert r2.returncode == 0 and json.loads(r2.stdout)["seq"] == s, (r2.returncode, r2.stderr)
    # Into this stack, which holds data: refused, nothing deleted.
    r2 = rsctl("restore", path)
    assert r2.returncode == 1 and "HTTP 409" in r2.stderr and \
        "restore only into an empty cluster" in r2.stderr, (r2.returncode, r2.stderr)

    # The source at seq S.
    rides = sorted(rid for q, rid in load.rides if q <= s)
    db, _ = master_dbname(ADMIN)
    src = digests(dict(os.environ), db, {"s": s, "rides": ",".join(map(str, rides)) or ""})
    assert src["meta"].split()[0] != str(s), "the source did not move on"
    src["meta"] = "%d %d" % (s, info["next_ride_id"])
    assert info["next_ride_id"] == (max(rides) + 1 if rides else 1), (info, rides[-3:])
    assert int(src["users"].split()[0]) == info["rows"]["users"], (src, info)
    assert int(src["applied_requests"].split()[0]) == info["rows"]["applied_requests"], (src, info)
    print("source at seq %d: %s" % (s, src))
    expected = os.path.join(work, "expected.json")
    with open(expected, "w") as f:
        json.dump({"seq": s, "digests": src}, f)

    sched = os.environ["RIDESHARE_BACKUP_DIR"]
    seen = wait_for("3 scheduled backups",
                    lambda: metric("rideshare_orch_backups_total", 'result="ok"') >= 4 and
                    metric("rideshare_orch_backups_total", 'result="ok"'), 30)
    names = sorted(os.listdir(sched))
    files = [n for n in names if n.startswith("rideshare-") and n.endswith(".rsbackup")]
    assert len(files) == 2 and len(names) <= 3, names  # a .part may be in the making
    for n in files:
        r2 = rsctl("restore", "--check", os.path.join(sched, n))
        assert r2.returncode == 0, (n, r2.stderr)
        assert oct(os.stat(os.path.join(sched, n)).st_mode & 0o777) == "0o600", n
    print("scheduled backups: %s (after %d taken)" % (files, seen))

    # A fresh stack with that data: a clean environment, so nothing of the
    # source stack (its endpoints, its database) leaks into it.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RIDESHARE_") or k in (
               "RIDESHARE_BUILD_DIR", "RIDESHARE_NO_BUILD", "RIDESHARE_NO_DEPS",
               "RIDESHARE_TEST_STACK_ROOT", "RIDESHARE_THROWAWAY", "RIDESHARE_ADMIN_TOKEN")}
    env["RIDESHARE_RESTORE_FROM"] = path
    t0 = time.time()
    r3 = subprocess.run([os.path.join(ROOT, "tests", "with-stack.sh"), RESTORED_BASE, "--",
                         sys.executable, os.path.abspath(__file__), RSCTL, RESTORED_BASE,
                         "--restored", expected], env=env, text=True)
    assert r3.returncode == 0, "restored stack check failed (%d)" % r3.returncode
    print("restored stack checked in %.1f s" % (time.time() - t0))

    # An empty stack started normally, restored by rsctl.
    if len(sys.argv) > 3:
        del env["RIDESHARE_RESTORE_FROM"]
        t0 = time.time()
        r3 = subprocess.run([os.path.join(ROOT, "tests", "with-stack.sh"), sys.argv[3], "--",
                             sys.executable, os.path.abspath(__file__), RSCTL, sys.argv[3],
                             "--rsctl-restore", expected, path, bad], env=env, text=True)
        assert r3.returncode == 0, "rsctl restore check failed (%d)" % r3.returncode
        print("rsctl restore stack checked in %.1f s" % (time.time() - t0))
    subprocess.run(["rm", "-rf", work], check=False)
    print("backup test: OK")


if __name__ == "__main__":
    main()
