#!/usr/bin/env python3
"""Full-cluster recovery against a real local stack (docs/failover.md).

Run by ctest through tests/with-stack.sh, which exports the RIDESHARE_*
endpoints and RIDESHARE_STACK_DIR. Three scenarios, in order, on one stack:

1. every worker killed at once while the orchestrator is frozen: the new
   workers start with empty databases, and the first master must recover
   from the most advanced surviving copy (no acknowledged write lost);
2. every worker killed AND every worker database dropped: the recovery must
   refuse writes (503 with a JSON error, /readyz says why, rsctl recover
   prints it) until `rsctl recover --accept-loss`; then writes and reads
   work again (commit_seq follows the new head down);
3. the copies orphaned by scenario 1 are retired once a serving copy holds
   as much, and the dead workers' sync queues are deleted.

Usage: recovery_test.py RSCTL_BINARY
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

EDGE = os.environ["RIDESHARE_EDGE_URL"]
ADMIN = os.environ["RIDESHARE_ADMIN_URL"]
STACK = os.environ["RIDESHARE_STACK_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RSCTL = sys.argv[1]
PW = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
sys.path.insert(0, os.path.join(ROOT, "tests", "ops"))
import opslib  # noqa: E402  (http)


def http(method, url, body=None, timeout=10):
    """(status, parsed JSON or text) of one request; status 0 on a timeout."""
    return opslib.http(method, url, body, timeout, base="")


def put_user(name):
    return http("PUT", EDGE + "/api/v1/users", {"username": name, "password": PW})


def users():
    status, body = http("GET", EDGE + "/api/v1/users")
    if status == 204:
        return []
    assert status == 200, (status, body)
    return body


def wait_for(what, fn, timeout_s=60):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        v = fn()
        if v:
            return v, time.time() - t0
        time.sleep(0.2)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout_s, what))


def metric(name):
    status, text = http("GET", ADMIN + "/metrics")
    assert status == 200
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else 0


def psql(sql):
    out = subprocess.run([os.path.join(ROOT, "rideshare"), "psql", "-Atc", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def worker_pids():
    status, pids = http("GET", ADMIN + "/api/v1/worker/list")
    assert status == 200
    return pids


def orchestrator_pid():
    with open(os.path.join(STACK, "pids", "orchestrator.pid")) as f:
        return int(f.read().split()[0])


def kill_all_workers(then=None):
    """SIGKILLs every worker while the orchestrator is frozen (so it cannot
    replace them one by one), runs then(), thaws the orchestrator."""
    orch = orchestrator_pid()
    pids = worker_pids()
    assert len(pids) >= 2, pids
    os.kill(orch, signal.SIGSTOP)
    try:
        for p in pids:
            os.kill(p, signal.SIGKILL)
        time.sleep(0.5)
        if then is not None:
            then()
    finally:
        os.kill(orch, signal.SIGCONT)
    return pids


def write_until_ok(prefix):
    n = [0]

    def attempt():
        n[0] += 1
        status, _ = put_user("%s%d" % (prefix, n[0]))
        return status == 201 and "%s%d" % (prefix, n[0])
    return wait_for("a successful write", attempt)


def scenario_all_workers_killed():
    acked = []
    for i in range(30):
        status, body = put_user("before%d" % i)
        assert status == 201, (status, body)
        acked.append("before%d" % i)
    killed = kill_all_workers()
    t0 = time.time()
    first, _ = write_until_ok("after_kill")
    print("recovery: all %d workers killed -> first write after %.2f s"
          % (len(killed), time.time() - t0))
    have = users()
    lost = [u for u in acked if u not in have]
    assert not lost, "acknowledged writes lost: %s" % lost[:5]
    assert len(have) == len(set(have)), "duplicates in %s" % have
    assert first in have
    return acked


def scenario_copies_missing():
    drops = []

    def drop_all():
        for db in psql("SELECT datname FROM pg_database WHERE datname LIKE 'rideshare\\_%'"):
            psql('DROP DATABASE "%s" WITH (FORCE)' % db)
            drops.append(db)
    kill_all_workers(drop_all)
    assert drops, "no worker database found to drop"

    def refused():
        status, body = http("GET", ADMIN + "/readyz")
        return status == 503 and "acknowledged_writes_missing" in json.dumps(body) and body
    body, waited = wait_for("/readyz to report the refused recovery", refused)
    print("recovery: copies missing -> refusal on /readyz after %.2f s: %s"
          % (waited, body["error"][:120]))
    status, body = put_user("refused")
    assert status == 503, (status, body)
    assert "writes refused" in body["error"], body
    assert metric("rideshare_orch_recovery_blocked") == 1
    r = subprocess.run([RSCTL, "recover"], capture_output=True, text=True)
    assert r.returncode == 1 and "acknowledged_writes_missing" in r.stdout, r
    r = subprocess.run([RSCTL, "recover", "--accept-loss"], capture_output=True, text=True)
    assert r.returncode == 0 and "loss accepted" in r.stdout, r
    t0 = time.time()
    first, _ = write_until_ok("after_loss")
    print("recovery: loss accepted -> first write after %.2f s" % (time.time() - t0))
    wait_for("/readyz 200", lambda: http("GET", ADMIN + "/readyz")[0] == 200)

    # Reads answer again once commit_seq has followed the new head down
    # (2 s after the new term's first status, docs/failover.md); a read
    # stamped before that waits for a lost seq and gets 503 after the park
    # bound (3 s). Without the reset no read would ever answer.
    def answered():
        status, body = http("GET", EDGE + "/api/v1/users")
        return status in (200, 204) and (body if status == 200 else [None])
    have, waited = wait_for("reads to answer after the accepted loss", answered,
                            timeout_s=15)
    print("recovery: loss accepted -> reads answer %.2f s after /readyz 200" % waited)
    assert first in have and "refused" not in have, have
    assert not any(u.startswith("before") for u in have), have
    assert metric("rideshare_orch_recovery_blocked") == 0
    # the new term's head stayed below the old commit_seq: lowered once
    assert metric("rideshare_orch_commit_seq_resets_total") >= 1
    r = subprocess.run([RSCTL, "recover", "--accept-loss"], capture_output=True, text=True)
    assert r.returncode == 1, r  # nothing to accept any more (409)


def scenario_orphans_retired():
    def retired():
        return metric("rideshare_orch_retired_copies_total") >= 1
    _, waited = wait_for("an orphan copy to be retired", retired, timeout_s=90)
    assert metric("rideshare_orch_sync_queues_deleted_total") >= 1
    print("recovery: orphan copies retired %.1f s later, orphans left %d"
          % (waited, metric("rideshare_orch_orphan_copies")))


def main():
    wait_for("/readyz 200", lambda: http("GET", ADMIN + "/readyz")[0] == 200)
    scenario_all_workers_killed()
    scenario_orphans_retired()
    scenario_copies_missing()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
