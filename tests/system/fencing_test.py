"""A master paused inside a group commit, past its ZooKeeper session, does not
let that batch out (docs/failover.md "Fencing"). The master sends its fencing
read alongside the COMMIT; the answer comes back before the pause ("you are
the master"), so on waking it is older than the fencing lease: the master
must read again, find itself fenced and rejoin, and the new master answers the
writes, each once. Without the lease the old answer would let the stale term
publish and reply.

The stack runs with RIDESHARE_FAULT=stop_after_commit:N:1: the term-1 master
stops itself (SIGSTOP) right after committing the batch holding its N-th
write, before it judges the fencing read; this test sends SIGCONT once the
session has expired. Writes carry an Idempotency-Key and are retried on
502/503/504 as a client would."""
import os
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "consistency"))
from rs_cons import cont, details, log, master, put_user, wait_ready  # noqa: E402

WRITES = 40
PAUSE_S = 3.0  # > the 800 ms session timeout, < the 15 s rejoin grace
LOG = os.path.join(os.environ["RIDESHARE_STACK_DIR"], "logs", "orchestrator.log")


def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def users():
    r = requests.get(os.environ["RIDESHARE_USERS_URL"] + "/api/v1/users", timeout=30)
    return [] if r.status_code == 204 else r.json()


def main():
    wait_ready(slaves=2)
    m = master()
    assert m is not None and details()["epoch"] == 1, details()
    pid = m["pid"]
    log("master %s pid %d, epoch 1" % (m["id"], pid))
    names = ["fence%02d" % i for i in range(WRITES)]
    got = {}

    def write(name):
        s = requests.Session()
        end = time.time() + 90
        while True:
            try:
                r = put_user(s, name, key="key-" + name)
                if r.status_code not in (502, 503, 504) or time.time() > end:
                    got[name] = r.status_code
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)

    threads = []
    for n in names:
        t = threading.Thread(target=write, args=(n,))
        t.start()
        threads.append(t)
        time.sleep(0.02)
    end = time.time() + 60
    while state(pid) != "T":
        assert time.time() < end, "the master never stopped (fault hook)"
        time.sleep(0.02)
    log("master stopped itself after a commit; pausing %.1f s" % PAUSE_S)
    time.sleep(PAUSE_S)
    cont(pid)
    for t in threads:
        t.join()
    bad = {n: c for n, c in got.items() if c != 201}
    assert not bad and len(got) == WRITES, ("writes not created", bad, len(got))
    listed = users()
    for n in names:
        assert listed.count(n) == 1, (n, listed.count(n))
    log("all %d writes answered 201, each user once" % WRITES)

    # The stopped master read /rideshare/master again after waking and
    # found itself fenced: nothing of the stalled batch left it.
    with open(LOG, errors="replace") as f:
        lines = f.read().splitlines()
    at = [i for i, l in enumerate(lines)
          if "event=fault_stop_after_commit" in l and "pid=%d" % pid in l]
    assert at, "no event=fault_stop_after_commit in " + LOG
    after = lines[at[0]:]
    again = [l for l in after if "event=fence_read_again" in l and "pid=%d" % pid in l]
    # fenced: another master named, or the session found expired
    fenced = [l for l in after if "event=fenced" in l
              or ("event=rejoining" in l and "role=master" in l)]
    assert again, "the paused master did not read /rideshare/master again"
    assert fenced, "the paused master was not fenced"
    first = after.index(again[0])
    assert not any("event=sync_republished" in l for l in after[:first]), \
        "the paused master published before it read again"
    # Its replies would reach the orchestrator as stale (epoch 1 < 2).
    stale = [l for l in after if "event=stale_reply" in l]
    assert not stale, ("the paused master answered in its old term", stale[:3])
    log(again[0])
    log(fenced[0])
    end = time.time() + 30
    while master() is None or details()["epoch"] < 2:
        assert time.time() < end, ("no master of a later term", details())
        time.sleep(0.2)
    log("new master %s, epoch %d" % (master()["id"], details()["epoch"]))


if __name__ == "__main__":
    main()
    log("fencing: ok")
