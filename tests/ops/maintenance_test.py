#!/usr/bin/env python3
"""Maintenance mode (docs/operations.md "Maintenance mode").

With two slaves wanted: pause; /readyz, /metrics and the status say so; a
crashed slave is not replaced and a drained one stops for good; the master
killed while paused is not replaced by an election; resume: a master is
elected and the slaves come back.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opslib import check, http, pids, serving, status, wait_for  # noqa: E402


def metric(name):
    st, body = http("GET", "/metrics")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def main():
    wait_for("a master and 2 slaves",
             lambda: serving("master") and len(serving("slave")) >= 2, timeout=90)
    st, body = http("POST", "/api/v1/pause", {"reason": "ops test"})
    check(st == 200 and body["paused"] and body["zookeeper"], "paused: %s" % body)
    st, body = http("GET", "/readyz")
    check("ops test" in body.get("pause_reason", ""), "/readyz gives the reason: %s" % body)
    check(metric("rideshare_orch_paused") == 1, "/metrics rideshare_orch_paused 1")
    check(any(b["kind"] == "paused" for b in status()["banners"]), "status banner")

    before = pids()
    st, body = http("POST", "/api/v1/crash/slave")
    victim = int(body[0])
    wait_for("the victim gone", lambda: victim not in pids())
    time.sleep(6)  # several supervisor ticks and a start timeout's worth
    check(set(pids()) == set(before) - {victim},
          "crashed slave %d not replaced while paused: %s" % (victim, pids()))

    other = serving("slave")[0]
    st, body = http("POST", "/api/v1/workers/%d/drain" % other)
    check(st == 202 and body["replaced"] is False, "drain %d: %s" % (other, body))
    wait_for("the drained slave gone", lambda: other not in pids(), timeout=30)
    st, body = http("POST", "/api/v1/workers/%d/drain" % serving("master")[0])
    check(st == 409, "draining the master is refused: %s" % body)
    time.sleep(4)
    check(serving("slave") == [], "drained slave not replaced while paused")

    master = serving("master")[0]
    http("POST", "/api/v1/crash/master")
    wait_for("the master gone", lambda: master not in pids())
    time.sleep(5)
    check(serving("master") == [] and status()["master"] is None,
          "no automatic failover (and no bootstrap) while paused")

    st, body = http("POST", "/api/v1/resume")
    check(st == 200 and not body["paused"], "resumed")
    check(metric("rideshare_orch_paused") == 0, "/metrics rideshare_orch_paused 0")
    t0 = time.monotonic()
    wait_for("a master and 2 slaves after resume",
             lambda: serving("master") and len(serving("slave")) >= 2, timeout=120)
    print("healed %.1f s after resume: master %s slaves %s" % (
        time.monotonic() - t0, serving("master"), serving("slave")))
    kinds = [e["kind"] for e in status()["events"]]
    check("pause" in kinds and "resume" in kinds and "drain" in kinds,
          "pause, drain and resume are in the event list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
