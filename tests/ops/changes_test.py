#!/usr/bin/python3
"""Change feed (issue 15 item 5, docs/operations.md "Change feed"): 1,000
writes through the admin API with the master crashed (POST
/api/v1/crash/master) halfway; a stream opened before the writes follows
them live across the failover, then streams read from seq 0 and from the
middle, and `rsctl watch` from the middle: every seq exactly once, in
order, the same line for a seq in every read, and each acknowledged write
at the seq its reply gave. Also: the admin token, 400 on a bad `since`, 503
beyond RIDESHARE_CHANGES_MAX_STREAMS, the metrics, 410 once the
beginning is pruned (RIDESHARE_CHANGES_KEEP=1000), and SIGTERM to the
orchestrator: the open stream ends for the shutdown, a client resumes.

Run through tests/with-stack.sh (ctest changes_feed); argv[1]: rsctl."""
import http.client as httpclient
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opslib import ADMIN, check, http, serving, token, wait_for  # noqa: E402

RSCTL = sys.argv[1]
PW = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
WRITES = 1000
WRITERS = 8
RUN = "%x" % (int(time.time() * 1000) & 0xffffff)
URL = urllib.parse.urlsplit(ADMIN)


def open_feed(since, auth=True, raw_since=None):
    """(status, response) of GET /api/v1/changes?since=..."""
    conn = httpclient.HTTPConnection(URL.hostname, URL.port, timeout=60)
    hdrs = {}
    if auth and token():
        hdrs["Authorization"] = "Bearer " + token()
    q = raw_since if raw_since is not None else str(since)
    conn.request("GET", "/api/v1/changes?since=" + q, headers=hdrs)
    r = conn.getresponse()
    return r.status, r, conn


class Reader(threading.Thread):
    """Reads a feed from since until seq `until` is seen (set later)."""

    def __init__(self, since):
        super().__init__(daemon=True)
        self.since, self.lines, self.until, self.error = since, [], None, None
        self.status, self.resp, self.conn = open_feed(since)

    def run(self):
        try:
            while True:
                raw = self.resp.readline()
                if not raw:
                    self.error = "stream closed after %d lines" % len(self.lines)
                    return
                raw = raw.strip()
                if raw:
                    j = json.loads(raw)
                    if "seq" not in j:
                        self.error = "error line: %s" % raw
                        return
                    self.lines.append(j)
                # until may be set after its line came: the keep-alives
                # (every second here) wake this thread to look again.
                if (self.until is not None and self.lines
                        and self.lines[-1]["seq"] >= self.until):
                    return
        except Exception as e:  # noqa: BLE001 (reported by the main thread)
            self.error = repr(e)
        finally:
            self.resp.close()  # the socket stays open until both are
            self.conn.close()

    def wait(self, until, timeout=60):
        """Until the thread has seen seq `until` and closed its stream."""
        self.until = until
        self.join(timeout)


def write_user(name):
    """AddUser with a fixed request id, retried until acknowledged (the
    master dedupes a retry that already landed): its seq."""
    body = {"requestId": "cf-" + name,
            "addUser": {"username": name, "password": PW}}
    while True:
        st, resp = http("POST", "/api/v1/db/write", body, timeout=30)
        if st == 200 and isinstance(resp, dict) and resp.get("status", "OK") == "OK":
            return int(resp["seq"])
        time.sleep(0.05)


def commit_seq():
    st, body = http("GET", "/api/v1/status")
    return int(body["commit_seq"])


def check_run(lines, first, last, what):
    seqs = [j["seq"] for j in lines]
    check(seqs == list(range(first, last + 1)),
          "%s: seqs %d..%d exactly once, in order (%d lines)"
          % (what, first, last, len(seqs)))


def main():
    wait_for("a master and a slave",
             lambda: serving("master") and serving("slave"), timeout=90)
    s0 = commit_seq()

    # Refusals before any stream: token, bad since, since in the future.
    if token():
        st, r, c = open_feed(s0, auth=False)
        c.close()
        check(st == 401, "no admin token: 401 (got %d)" % st)
    for bad in ("abc", "-1", "1.5", "", "99999999999999999999"):
        st, r, c = open_feed(0, raw_since=urllib.parse.quote(bad))
        body = json.loads(r.read() or b"{}")
        c.close()
        check(st == 400 and "error" in body, "since=%r: 400 %s" % (bad, body))
    st, r, c = open_feed(s0 + 1000000)
    body = json.loads(r.read() or b"{}")
    c.close()
    check(st == 400 and "beyond" in body.get("error", ""),
          "since ahead of the head: 400 %s" % body)

    live = Reader(s0)
    check(live.status == 200, "live stream from %d opened" % s0)
    live.start()

    # 1,000 writes by 8 writers; the master is killed after 500 acks.
    acked = {}  # seq -> name
    lock = threading.Lock()
    names = ["cf%s_%d" % (RUN, i) for i in range(WRITES)]
    half = threading.Event()

    def writer(k):
        for name in names[k::WRITERS]:
            seq = write_user(name)
            with lock:
                acked[seq] = name
                if len(acked) >= WRITES // 2:
                    half.set()

    ts = [threading.Thread(target=writer, args=(k,), daemon=True)
          for k in range(WRITERS)]
    old_master = serving("master")[0]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    half.wait(120)
    st, body = http("POST", "/api/v1/crash/master", {})
    check(st == 200, "master %d crashed mid-run (%s)" % (old_master, body))
    for t in ts:
        t.join(180)
    check(len(acked) == WRITES, "%d writes acknowledged in %.1f s"
          % (len(acked), time.monotonic() - t0))
    wait_for("a new master", lambda: serving("master")
             and serving("master")[0] != old_master, timeout=60)
    last = max(acked)

    live.wait(last)
    check(live.error is None or live.lines[-1]["seq"] >= last,
          "live stream reached seq %d (%s)" % (last, live.error))
    check_run(live.lines, s0 + 1, last, "live across the failover")
    by_seq = {j["seq"]: j for j in live.lines}
    epochs = sorted({j["epoch"] for j in live.lines})
    check(len(epochs) >= 2, "the lines carry both terms: epochs %s" % epochs)
    mism = [s for s, n in acked.items()
            if by_seq[s]["op"] != "add_user"
            or by_seq[s]["request"].get("username") != n
            or by_seq[s]["status"] != "OK"]
    check(not mism, "every acknowledged write is the line at its seq "
          "(mismatches: %s)" % mism[:5])

    for since in (0, s0 + WRITES // 2):
        r = Reader(since)
        check(r.status == 200, "stream from %d opened" % since)
        r.start()
        r.wait(last)
        got = [j for j in r.lines if j["seq"] <= last]
        check_run(got, since + 1, last, "read from %d" % since)
        same = all(by_seq[j["seq"]] == j for j in got if j["seq"] in by_seq)
        check(same, "read from %d: the same lines as the live stream" % since)

    mid = s0 + WRITES // 2
    out = subprocess.run([RSCTL, "watch", "--since", str(mid), "--until",
                          str(last)], capture_output=True, text=True,
                         timeout=60)
    wl = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    check(out.returncode == 0, "rsctl watch exit 0 (%s)" % out.stderr.strip())
    check_run(wl, mid + 1, last, "rsctl watch --since %d" % mid)

    # A stream whose client left ends at its next write (a line or the
    # keep-alive, every RIDESHARE_CHANGES_HEARTBEAT_MS = 1 s here).
    wait_for("the finished readers' streams to end",
             lambda: "rideshare_changes_streams_open 0"
             in http("GET", "/metrics")[1], timeout=30)
    # At most RIDESHARE_CHANGES_MAX_STREAMS (4 here) at once.
    held = [open_feed(last) for _ in range(4)]
    check(all(h[0] == 200 for h in held), "4 streams open")
    st, r, c = open_feed(last)
    body = r.read()
    c.close()
    check(st == 503 and r.getheader("Retry-After"),
          "a 5th stream: 503 with Retry-After (%s)" % body)
    st, metrics = http("GET", "/metrics")
    check("rideshare_changes_streams_open 4" in metrics,
          "metrics: 4 streams open")
    lines_total = [x for x in metrics.splitlines()
                   if x.startswith("rideshare_changes_lines_total ")]
    check(lines_total and float(lines_total[0].split()[1]) >= 3 * WRITES,
          "metrics: %s" % lines_total)
    for h in held:
        h[1].close()
        h[2].close()
    wait_for("streams closed", lambda: "rideshare_changes_streams_open 0"
             in http("GET", "/metrics")[1], timeout=30)

    # Retention: 1,000 more writes cross a prune point; seq 1 is gone.
    more = ["cg%s_%d" % (RUN, i) for i in range(WRITES)]
    ts = [threading.Thread(target=lambda k=k: [write_user(n) for n in more[k::WRITERS]],
                           daemon=True) for k in range(WRITERS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(180)
    st, r, c = open_feed(0)
    body = json.loads(r.read() or b"{}")
    c.close()
    check(st == 410 and body.get("first_held", 0) > 1,
          "since 0 after pruning: 410 %s" % body)
    st, r, c = open_feed(body["first_held"] - 1)
    first = json.loads(r.readline())
    c.close()
    check(st == 200 and first["seq"] == body["first_held"],
          "since first_held - 1: 200, first line seq %d" % first["seq"])

    # SIGTERM to the orchestrator: its open stream ends (the connection
    # closes) with event=changes_stream_closed reason=shutdown; the stack
    # supervisor starts it again and a client resumes where it was.
    stack = os.environ["RIDESHARE_STACK_DIR"]
    head = commit_seq()
    st, r, c = open_feed(head)
    rid = r.getheader("X-Request-Id")
    check(st == 200 and rid, "stream from %d open before SIGTERM" % head)
    with open(os.path.join(stack, "pids", "orchestrator.pid")) as f:
        orch = int(f.read().strip())
    os.kill(orch, signal.SIGTERM)
    rest = r.read()  # returns once the server closes the connection
    c.close()
    check(not rest.strip(), "SIGTERM: the stream ended with no line")

    def closed_for_shutdown():
        with open(os.path.join(stack, "logs", "orchestrator.log")) as f:
            return any(rid in x and "event=changes_stream_closed" in x
                       and "reason=shutdown" in x for x in f)
    wait_for("event=changes_stream_closed reason=shutdown", closed_for_shutdown,
             timeout=30)
    print("ok: log: the stream closed for the shutdown", flush=True)
    def feed_answers():
        try:
            st, r, c = open_feed(head)
        except OSError:  # refused or reset while it restarts
            return False
        r.close()
        c.close()
        return st == 200
    wait_for("the orchestrator back", feed_answers, timeout=90, every=1)
    seq = write_user("ch%s_after" % RUN)
    out = subprocess.run([RSCTL, "watch", "--since", str(head), "--until",
                          str(seq)], capture_output=True, text=True,
                         timeout=60)
    wl = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    check(out.returncode == 0 and [j["seq"] for j in wl]
          == list(range(head + 1, seq + 1)),
          "after the restart: resumed from %d, seqs up to %d" % (head, seq))
    print("PASS")


if __name__ == "__main__":
    main()
