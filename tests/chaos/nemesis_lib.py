"""Shared parts of the nemesis tests (tests/chaos/nemesis.py for the local
stack, tests/chaos/nemesis_compose.py for the compose deployment): the client
load (4 writers, 2 readers) with a precise record of what was acknowledged,
the checks that follow a fault, and the result table.

Standard library only (Debian's /usr/bin/python3). The ZooKeeper client and
the WorkerInfo decoder come from tests/compose/run_compose_tests.py.

What a writer records, per username (every name is unique to its run):
  acked      PUT answered 201: acknowledged; must survive exactly once.
  confirmed  an attempt had no definite answer (timeout, reset, 5xx), and a
             later retry of the SAME name got 400 "taken": the system says the
             write exists, so it must survive exactly once too.
  ambiguous  no definite answer ever (the run ended first): may be present or
             absent, but at most once.
A 400 "taken" on the FIRST attempt of a fresh name is a phantom write (a bug).
A writer never moves on from a name without a definite answer: it retries the
same name (never a blind retry under a new name, which could hide a loss).
"""
import http.client
import json
import os
import random
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compose"))
import run_compose_tests as rct  # noqa: E402  (Zk, worker_info, parse_body)

PASSWORD = "3d725109c7e7c0bfb9d709836735b56d943d263f"
WRITE_TIMEOUT_S = 8.0   # above the gateways' RPC timeout (5 s): their 504 wins
READ_TIMEOUT_S = 8.0

# tests/system/digest.sql (equal digests = equal data), then the applied
# seq and the number of users.
with open(os.path.join(HERE, "..", "system", "digest.sql")) as _f:
    DIGEST_SQL = ("SELECT (%s) || ' ' || (SELECT applied_seq FROM meta)"
                  " || ' ' || (SELECT count(*) FROM users)" % _f.read())



def zk_connect(host, port, auth=None):
    """rct.Zk (run_compose_tests' minimal client), plus `addauth digest
    user:password` when auth is given (the local stack's nodes carry
    creator-only digest ACLs: <stack>/secrets/zk_auth)."""
    zk = rct.Zk(host, port)
    if auth:
        scheme, a = b"digest", auth.encode()
        zk._send(struct.pack(">ii", -4, 100) + struct.pack(">i", 0)
                 + struct.pack(">i", len(scheme)) + scheme + struct.pack(">i", len(a)) + a)
        while True:
            xid, _zxid, err = struct.unpack(">iqi", zk._recv()[:16])
            if xid == -4:
                break
        if err != 0:
            zk.close()
            raise rct.Fail("zookeeper addauth digest: error %d" % err)
    return zk


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run_logged(name, argv, env, timeout):
    """Runs argv (a script of the tree, called name in the log) with env:
    one log line with its exit status and time; its last output lines on
    stdout when it failed. True when it exited 0."""
    t0 = time.time()
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    log("%s %s -> %d (%.1f s)" % (name, " ".join(argv[1:]), p.returncode, time.time() - t0))
    if p.returncode != 0:
        sys.stdout.write((p.stdout + p.stderr)[-3000:])
    return p.returncode == 0


# ------------------------------------------------------------------ HTTP
class Conn:
    """One keep-alive HTTP connection, NO automatic retry: an error is
    reported to the caller as (None, repr), the connection dropped."""

    def __init__(self, base, timeout):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.c = None

    def request(self, method, path, body=None):
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.c.request(method, path, body=data, headers=hdrs)
            r = self.c.getresponse()
            raw = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, rct.parse_body(raw)
        except Exception as e:  # timeout, reset, refused: outcome unknown
            self.close()
            return None, repr(e)

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except Exception:
                pass
            self.c = None


def call(base, method, path, body=None, timeout=READ_TIMEOUT_S):
    c = Conn(base, timeout)
    try:
        return c.request(method, path, body)
    finally:
        c.close()


def is_taken(status, body):
    return status == 400 and "taken" in json.dumps(body)


# ------------------------------------------------------------------ load
class Load:
    """4 writer threads (PUT /api/v1/users, unique names) and 2 reader
    threads (GET /api/v1/users and GET /api/v1/users/{acked name})."""

    def __init__(self, edge, tag, writers=4, readers=2):
        self.edge, self.tag = edge, tag
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.acked = {}          # name -> (t_start, t_end) of the 201
        self.confirmed = set()   # ambiguous first, then "taken" on a retry
        self.ambiguous = set()   # no definite answer (yet)
        self.phantoms = []       # "taken" on the first attempt of a fresh name
        self.other_4xx = []      # should never happen: harness or API bug
        self.attempts = 0
        self.write_fail = 0
        self.ok_writes = []      # (t_start, t_end) of every 201
        self.reads = 0
        self.read_fail = 0
        self.ok_reads = []       # t_end of every successful read
        self.stale_reads = []    # acked user answered 404 (after its 201)
        self.dup_reads = 0       # a list with a name twice
        self.threads = [threading.Thread(target=self._writer, args=(i,), daemon=True)
                        for i in range(writers)]
        self.threads += [threading.Thread(target=self._reader, args=(i,), daemon=True)
                         for i in range(readers)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(WRITE_TIMEOUT_S + 5)

    def _writer(self, i):
        c = Conn(self.edge, WRITE_TIMEOUT_S)
        k = 0
        pending = None   # a name whose last attempt had no definite answer
        while not self.stop_ev.is_set():
            if pending is None:
                name, retry = "%s-%d-%d" % (self.tag, i, k), False
                k += 1
            else:
                name, retry = pending, True
            t0 = time.time()
            st, body = c.request("PUT", "/api/v1/users", {"username": name, "password": PASSWORD})
            t1 = time.time()
            with self.lock:
                self.attempts += 1
                if st == 201:
                    self.acked[name] = (t0, t1)
                    self.ok_writes.append((t0, t1))
                    self.ambiguous.discard(name)
                    pending = None
                elif is_taken(st, body):
                    if retry:
                        self.confirmed.add(name)
                        self.ambiguous.discard(name)
                    else:
                        self.phantoms.append(name)
                    pending = None
                elif st is not None and 400 <= st < 500:
                    self.other_4xx.append((name, st, body))
                    pending = None
                else:
                    self.write_fail += 1
                    self.ambiguous.add(name)
                    pending = name
            if pending is not None:
                self.stop_ev.wait(0.1)
        c.close()

    def _reader(self, i):
        c = Conn(self.edge, READ_TIMEOUT_S)
        rnd = random.Random(i)
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            t0 = time.time()
            if n % 2:
                st, body = c.request("GET", "/api/v1/users")
                ok = st in (200, 204)
                if st == 200 and isinstance(body, list) and len(body) != len(set(body)):
                    with self.lock:
                        self.dup_reads += 1
            else:
                with self.lock:
                    done = [u for u, (_, e) in self.acked.items() if e < t0] if self.acked else []
                if not done:
                    continue
                u = rnd.choice(done)
                st, body = c.request("GET", "/api/v1/users/" + urllib.parse.quote(u, safe=""))
                ok = st == 200
                if st == 404:
                    with self.lock:
                        self.stale_reads.append(u)
            with self.lock:
                self.reads += 1
                if ok:
                    self.ok_reads.append(time.time())
                else:
                    self.read_fail += 1
            if not ok:
                self.stop_ev.wait(0.1)
        c.close()

    # -- queries over the record
    def must_exist(self):
        with self.lock:
            return set(self.acked) | self.confirmed

    def first_ok_write_after(self, t):
        """End of the first 201 whose request was sent at or after t."""
        with self.lock:
            ends = [e for s, e in self.ok_writes if s >= t]
        return min(ends) if ends else None

    def first_ok_read_after(self, t):
        with self.lock:
            ends = [e for e in self.ok_reads if e >= t]
        return min(ends) if ends else None

    def max_write_gap(self, t_from, t_to):
        """Longest time in [t_from, t_to] without a 201 completing."""
        with self.lock:
            ends = sorted(e for _, e in self.ok_writes if t_from <= e <= t_to)
        pts = [t_from] + ends + [t_to]
        return max(b - a for a, b in zip(pts, pts[1:]))

    def summary(self):
        with self.lock:
            return ("writes: %d attempts, %d acked (201), %d confirmed by 'taken' on a retry, "
                    "%d still ambiguous, %d failed attempts, %d phantom 'taken', %d other 4xx; "
                    "reads: %d, %d failed, %d stale (acked user 404), %d lists with duplicates"
                    % (self.attempts, len(self.acked), len(self.confirmed), len(self.ambiguous),
                       self.write_fail, len(self.phantoms), len(self.other_4xx), self.reads,
                       self.read_fail, len(self.stale_reads), self.dup_reads))


def wait_until(fn, timeout, every=0.2):
    """fn() until truthy or timeout; returns the last value."""
    deadline = time.time() + timeout
    v = None
    while True:
        try:
            v = fn()
        except Exception:  # a probe that fails is "not yet"
            v = None
        if v or time.time() >= deadline:
            return v
        time.sleep(every)


class Settle:
    """same(v): true once v has not changed for `secs` seconds: a check that
    waits for replicas to catch up stops early when nothing moves any more."""

    def __init__(self, secs=3.0):
        self.secs, self.v, self.since = secs, object(), time.time()

    def same(self, v):
        if v != self.v:
            self.v, self.since = v, time.time()
            return False
        return time.time() - self.since >= self.secs


def wait_writable(edge, tag, timeout):
    """A fresh probe user written (201) within timeout: returns its name."""
    k = [0]

    def probe():
        k[0] += 1
        name = "%s-probe-%d" % (tag, k[0])
        st, _ = call(edge, "PUT", "/api/v1/users", {"username": name, "password": PASSWORD},
                     timeout=WRITE_TIMEOUT_S)
        return name if st == 201 else None
    return wait_until(probe, timeout, 0.3)


# ------------------------------------------------------------------ checks
class Result:
    def __init__(self, fault):
        self.fault = fault
        self.acked = 0
        self.lost = None         # None: could not be determined
        self.dups = 0
        self.recovery = None     # s from the fault to the first 201 sent after it ended
        self.max_gap = None
        self.problems = []
        self.notes = []
        self.elapsed = 0.0

    def fail(self, msg):
        log("FAIL: " + msg)
        self.problems.append(msg)

    @property
    def passed(self):
        return not self.problems and self.lost == 0


def api_list(edge):
    st, body = call(edge, "GET", "/api/v1/users")
    if st == 204:
        return []
    if st == 200 and isinstance(body, list):
        return body
    return None


def check_api(res, edge, must, ambiguous, tag, timeout=20):
    """Every name of `must` exactly once in GET /api/v1/users (read 4 times:
    reads go round-robin over the slaves). Returns the set of lost names, or
    None when the API never answered a list."""
    lists = []
    settled = Settle()

    def good():
        lst = api_list(edge)
        if lst is None:
            return None
        lists.append(lst)
        return must <= set(lst) or settled.same(len(lst))

    # Slaves may still be applying the tail: wait for a complete answer, or
    # for the answer to stop changing.
    wait_until(good, timeout, 0.5)
    for _ in range(3 if lists else 0):
        lst = api_list(edge)
        if lst is not None:
            lists.append(lst)
    if not lists:
        res.fail("GET /api/v1/users never answered a list in %d s" % timeout)
        return None
    lost = set()
    for lst in lists[-4:]:
        lost |= must - set(lst)
        ours = [u for u in lst if u.startswith(tag + "-")]
        dups = len(ours) - len(set(ours))
        if dups:
            res.dups = max(res.dups, dups)
        phantom = set(ours) - must - ambiguous - {u for u in ours if "-probe-" in u}
        if phantom:
            res.fail("API lists %d names never written, e.g. %s" % (len(phantom), sorted(phantom)[:3]))
            break
    if lost:
        res.fail("API: %d of %d must-exist writes missing, e.g. %s"
                 % (len(lost), len(must), sorted(lost)[:3]))
    if res.dups:
        res.fail("API: %d names listed more than once" % res.dups)
    log("API: %d lists read, last has %d names; missing %d" % (len(lists), len(lists[-1]), len(lost)))
    return lost


def check_dbs(res, dbs_fn, psql, must, tag, timeout=20):
    """In every live worker's database: every name of `must` exactly once,
    and all the live databases identical (digest). dbs_fn() -> {worker id:
    dbname} of the live workers; psql(dbname, sql) -> stdout or None.
    Returns the set of names missing from at least one live database, or
    None when there is no live worker database to look at."""
    like = tag.replace("_", "\\_") + "-%"
    state = {}
    settled = Settle()

    def look():
        live = dbs_fn()
        state.clear()
        for wid, db in sorted(live.items()):
            out = psql(db, "SELECT username FROM users WHERE username LIKE '%s'" % like)
            dig = psql(db, DIGEST_SQL)
            if out is None or dig is None:
                state[wid] = (db, None, None)
                continue
            state[wid] = (db, out.split("\n") if out else [], dig.strip())
        if not state:
            return settled.same(None)
        digests = {s[2] for s in state.values()}
        complete = all(s[1] is not None and must <= set(s[1]) for s in state.values())
        if complete and len(digests) == 1 and None not in digests:
            return "converged"
        return settled.same(tuple(sorted((w, s[2]) for w, s in state.items())))

    converged = wait_until(look, timeout, 0.5) == "converged"
    if not state:
        res.fail("no live worker database to check")
        return None
    if all(s[1] is None for s in state.values()):
        res.fail("no live worker database readable (%s)" % ", ".join(sorted(state)))
        return None
    lost = set()
    for wid, (db, rows, dig) in sorted(state.items()):
        if rows is None:
            res.fail("worker %s: database %s unreadable" % (wid, db))
            continue
        missing = must - set(rows)
        dups = len(rows) - len(set(rows))
        lost |= missing
        res.dups = max(res.dups, dups)
        log("db %s (worker %s): %d of our rows, %d must-exist missing, %d duplicated, digest %s"
            % (db, wid, len(rows), len(missing), dups, dig))
        if missing:
            res.fail("worker %s (%s): %d of %d must-exist writes missing, e.g. %s"
                     % (wid, db, len(missing), len(must), sorted(missing)[:3]))
        if dups:
            res.fail("worker %s (%s): %d duplicated rows" % (wid, db, dups))
    if not converged and len({s[2] for s in state.values()}) > 1:
        res.fail("live worker databases differ after %d s: %s"
                 % (timeout, ", ".join("%s=%s" % (w, s[2]) for w, s in sorted(state.items()))))
    return lost


def check_surviving(res, all_dbs_fn, psql, must, tag):
    """When neither the API nor a live worker's database can be read: which
    writes are in NO rideshare_* database on the server (gone for good, as
    far as any recovery could tell)? None when PostgreSQL does not answer."""
    like = tag.replace("_", "\\_") + "-%"
    dbs = all_dbs_fn()
    if dbs is None:
        res.notes.append("PostgreSQL does not answer: how many writes survive is unknown")
        log(res.notes[-1])
        return None
    seen = set()
    for db in dbs:
        out = psql(db, "SELECT username FROM users WHERE username LIKE '%s'" % like)
        if out:
            seen |= set(out.split("\n"))
    gone = must - seen
    res.notes.append("no API, no live worker database: %d of %d must-exist writes are in none "
                     "of the %d rideshare_* databases left on the server"
                     % (len(gone), len(must), len(dbs)))
    log(res.notes[-1])
    return gone


def verify(res, load, edge, dbs_fn, psql, all_dbs_fn, tag, api_ok=True):
    """The checks after the load has stopped; fills res.lost."""
    must = load.must_exist()
    res.acked = len(must)
    if load.phantoms:
        res.fail("%d phantom writes ('taken' on a fresh name), e.g. %s"
                 % (len(load.phantoms), load.phantoms[:3]))
    if load.other_4xx:
        res.fail("%d unexpected 4xx answers, e.g. %s" % (len(load.other_4xx), load.other_4xx[:2]))
    lost_api = check_api(res, edge, must, load.ambiguous, tag, 20 if api_ok else 5)
    lost_db = check_dbs(res, dbs_fn, psql, must, tag, 20 if api_ok else 5)
    if lost_api is None and lost_db is None:
        # Nothing serves the data any more: count what is provably gone
        # (in no database at all); unknown ("?") without PostgreSQL.
        gone = check_surviving(res, all_dbs_fn, psql, must, tag)
        res.lost = None if gone is None else len(gone)
    else:
        res.lost = len((lost_api or set()) | (lost_db or set()))
    if load.dup_reads:
        res.fail("%d list reads showed a name twice" % load.dup_reads)
    if load.stale_reads:
        res.notes.append("%d reads of an acked user answered 404" % len(load.stale_reads))


def all_worker_dbs(psql):
    """Every rideshare_* database of the deployment's PostgreSQL (psql(db,
    sql) -> output text, None when PostgreSQL does not answer), or None."""
    out = psql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'rideshare\\_%'")
    if out is None:
        return None
    return out.split("\n") if out else []


def live_worker_dbs(worker_ids, infos):
    """{worker id: dbname} of the running workers worker_ids (any iterable of
    ids) that ZooKeeper lists as MASTER or SLAVE (infos: {id: WorkerInfo
    dict}); all of them when infos is None (ZooKeeper did not answer). The
    database is the one the worker registered, else the name
    rs_db_worker_dbname gives it."""
    out = {}
    for wid in worker_ids:
        db = "rideshare_" + "".join(ch if ch.isascii() and ch.isalnum() else "_"
                                    for ch in wid.lower())
        if infos is not None:
            i = infos.get(wid)
            if i is None or i["role"] not in (1, 2):
                continue
            for kv in i["pg_conninfo"].split():
                if kv.startswith("dbname="):
                    db = kv.split("=", 1)[1].strip("'")
        out[wid] = db
    return out


def env_float(name, default):
    v = os.environ.get(name)
    return float(v) if v else default


# Load before the fault, and after the first write that succeeds again.
BEFORE_S = env_float("RIDESHARE_NEMESIS_BEFORE_S", 3.0)
AFTER_S = env_float("RIDESHARE_NEMESIS_AFTER_S", 3.0)


def fault_under_load(res, target, tag, inject, recovery_s):
    """One fault under load, the run both nemeses share. target: a healthy
    deployment that took a write (attributes edge, live_dbs, psql,
    all_dbs); inject(): the fault, raises when it could not be injected.
    The load runs BEFORE_S, then the fault; writes must answer again
    within recovery_s of its end, then the load runs AFTER_S more, reads
    must answer, a fresh write must succeed and read back, and verify()
    checks every acknowledged write. Fills res; returns nothing."""
    load = Load(target.edge, tag).start()
    try:
        time.sleep(BEFORE_S)
        log("before the fault: " + load.summary())
        t_fault = time.time()
        try:
            inject()
        except Exception as e:  # noqa: BLE001 - reported as a failure
            res.fail("injecting the fault: %s" % e)
        t_end = time.time()
        ok = wait_until(lambda: load.first_ok_write_after(t_end), recovery_s, 0.05)
        if ok:
            res.recovery = ok - t_fault
            log("first successful write %.2f s after the fault (%.2f s after it ended)"
                % (ok - t_fault, ok - t_end))
            time.sleep(AFTER_S)
        else:
            res.fail("writes did not answer again within %.0f s of the fault's end" % recovery_s)
    finally:
        load.stop()
    res.max_gap = load.max_write_gap(t_fault, time.time())
    log("load stopped: " + load.summary())
    if ok:
        # Reads answer again (a reader may still sit in a timeout that
        # began before the recovery: ask once more, bounded).
        if load.first_ok_read_after(ok) is None and not \
                wait_until(lambda: api_list(target.edge) is not None, 10, 0.5):
            res.fail("reads (GET /api/v1/users) did not answer after writes came back")
        # A fresh write and a read of it, after the load.
        name = wait_writable(target.edge, tag + "-final", 10)
        if not name:
            res.fail("a fresh write after the load did not succeed in 10 s")
        else:
            with load.lock:
                load.acked[name] = (time.time(), time.time())
            st, _ = call(target.edge, "GET", "/api/v1/users/" + name)
            if st != 200:
                res.fail("GET of the fresh user answered %s" % st)
    verify(res, load, target.edge, target.live_dbs, target.psql, target.all_dbs, tag,
           api_ok=bool(ok))


def guarded_run(res, label, t_begin, body, cleanup):
    """The frame both nemeses run one fault in: body() (fills res; may
    return early after res.fail), then cleanup() always. An exception of
    body is a harness error: it fails the fault, loudly, before cleanup
    runs (cleanup may look at res.passed, e.g. to keep logs). Then
    res.elapsed is the time since t_begin and the verdict is logged as
    "==== <label>: PASS|FAIL in <s> s". Returns res."""
    try:
        body()
    except Exception as e:  # noqa: BLE001 - a harness error fails the fault, loudly
        res.fail("harness error: %r" % e)
    finally:
        cleanup()
        res.elapsed = time.time() - t_begin
        log("==== %s: %s in %.1f s" % (label, "PASS" if res.passed else "FAIL", res.elapsed))
    return res

def print_table(results, total_s=None):
    hdr = "%-20s | %8s | %6s | %5s | %10s | %9s | %s" % (
        "fault", "acked", "lost", "dup", "recovery s", "max gap s", "result")
    print("", flush=True)
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        print("%-20s | %8d | %6s | %5d | %10s | %9s | %s" % (
            r.fault, r.acked, "?" if r.lost is None else r.lost, r.dups,
            "never" if r.recovery is None else "%.2f" % r.recovery,
            "-" if r.max_gap is None else "%.2f" % r.max_gap,
            "PASS" if r.passed else "FAIL"))
    for r in results:
        for p in r.problems:
            print("  %s: %s" % (r.fault, p))
        for n in r.notes:
            print("  %s: (note) %s" % (r.fault, n))
    if total_s is not None:
        print("total %.1f s" % total_s)
    sys.stdout.flush()
