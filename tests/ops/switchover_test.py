#!/usr/bin/env python3
"""Planned switchover under write load (docs/operations.md "Switchover").

Four writers create users through the edge as fast as they can; meanwhile
the master role is moved twice (POST /api/v1/switchover, once to the
default candidate, once to a named one). Every write a writer saw
acknowledged (201, or "already exists" when it retried one whose answer it
did not get) must be in the final user list: 0 acknowledged writes lost.
The write pause each switchover reports is printed (target < 500 ms), and
so is the longest write latency a client saw around it.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opslib import check, http, serving, status, wait_for  # noqa: E402

EDGE = os.environ["RIDESHARE_EDGE_URL"].rstrip("/")
PW = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
WRITERS = 4
RUN = "%x" % (int(time.time() * 1000) & 0xffffff)  # unique names per run


def edge(method, path, body=None, timeout=30):
    return http(method, path, body, timeout, base=EDGE)


class Writer(threading.Thread):
    def __init__(self, no, stop):
        super().__init__(daemon=True)
        self.no, self.stop, self.acked, self.retries = no, stop, [], 0
        self.max_ms = 0.0
        self.failures = {}  # status -> count of unacknowledged tries

    def run(self):
        i = 0
        while not self.stop.is_set():
            name = "sw%s_%d_%d" % (RUN, self.no, i)
            t0, first = time.monotonic(), True
            while True:
                st, body = edge("PUT", "/api/v1/users",
                                {"username": name, "password": PW})
                if st == 201 or (st == 400 and not first
                                 and "taken" in str(body)):
                    break
                self.failures[st] = self.failures.get(st, 0) + 1
                # Not acknowledged: retry the same write (a client that
                # retries loses nothing: the first try may have landed).
                first = False
                self.retries += 1
                time.sleep(0.05)
            self.max_ms = max(self.max_ms, (time.monotonic() - t0) * 1000)
            self.acked.append(name)
            i += 1


def main():
    wait_for("a master and 2 slaves",
             lambda: serving("master") and len(serving("slave")) >= 2, timeout=90)
    stop = threading.Event()
    writers = [Writer(k, stop) for k in range(WRITERS)]
    for w in writers:
        w.start()
    time.sleep(3)
    pauses = []
    for cand in (None, "highest"):
        before = serving("master")[0]
        body = None
        if cand == "highest":
            body = {"candidate": max(serving("slave"))}
        st, ans = http("POST", "/api/v1/switchover", body, timeout=60)
        check(st == 200, "switchover answered %s %s" % (st, ans))
        check(ans["previous"]["pid"] == before and ans["master"]["pid"] != before,
              "master moved from %d to %d, epoch %d" % (
                  before, ans["master"]["pid"], ans["epoch"]))
        if body:
            check(ans["master"]["pid"] == body["candidate"],
                  "the named candidate took over")
        pauses.append(ans["write_pause_ms"])
        print("switchover: write_pause_ms=%d total_ms=%d" % (
            ans["write_pause_ms"], ans["total_ms"]), flush=True)
        wait_for("2 slaves again", lambda: len(serving("slave")) >= 2, timeout=90)
        time.sleep(3)
    stop.set()
    for w in writers:
        w.join(timeout=120)
    acked = [n for w in writers for n in w.acked]
    st, users = edge("GET", "/api/v1/users")
    check(st == 200, "user list")
    have = set(users)
    lost = [n for n in acked if n not in have]
    fails = {}
    for w in writers:
        for k, v in w.failures.items():
            fails[k] = fails.get(k, 0) + v
    print("writes acknowledged=%d lost=%d retries=%d (statuses %s) "
          "max_client_latency_ms=%.0f write_pause_ms=%s" % (
              len(acked), len(lost), sum(w.retries for w in writers), fails,
              max(w.max_ms for w in writers), pauses), flush=True)
    check(not lost, "0 acknowledged writes lost (of %d)" % len(acked))
    check(all(p < 500 for p in pauses), "write pause < 500 ms: %s" % pauses)
    kinds = [e["kind"] for e in status()["events"]]
    check(kinds.count("switchover") >= 2, "switchovers are in the event list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
