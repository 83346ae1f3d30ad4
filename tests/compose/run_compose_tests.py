#!/usr/bin/env python3
"""Compose system tests: RideShare-C deployed with compose/docker-compose.yml.

Run by `compose/compose.sh test` (= `./rideshare compose test`) after the
deployment is up and healthy; standard library only (no pytest needed).

    tests/compose/run_compose_tests.py [-k SUBSTRING] [--list]

Environment (exported by compose.sh test):
  RIDESHARE_EDGE_URL, RIDESHARE_USERS_URL, RIDESHARE_RIDES_URL,
  RIDESHARE_ADMIN_URL          published endpoints (127.0.0.1:8880/8881/8882/8890)
  RIDESHARE_COMPOSE_PROJECT    compose project (rideshare)
  RIDESHARE_COMPOSE_NETWORK    compose network (rideshare_net)
  RIDESHARE_COMPOSE_FAILOVER_ROUNDS   master kills under write load (default 3)
  RIDESHARE_COMPOSE_SLAVE_ROUNDS      slave kills under read load (default 3)

Tests
  public_api          the public API through the compose edge (users, rides, _count)
  worker_pids         /api/v1/worker/list == State.Pid of the running worker containers
  master_kill         `docker kill` of the master container while 4 clients write:
                      every acknowledged write is present exactly once afterwards (in
                      what the edge returns and in every live worker's database),
                      writes succeed again, the orchestrator starts a replacement;
                      prints the failover time (kill -> first successful write)
  slave_kill          `docker kill` of a slave container while clients read: a
                      replacement container is running and serving; reads keep working
  master_network_cut  `docker network disconnect` of the master: a new master is
                      elected, writes go on, and after reconnecting there is exactly one
                      master and no acknowledged write is lost
"""
import http.client
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

EDGE = os.environ.get("RIDESHARE_EDGE_URL", "http://127.0.0.1:8880")
USERS = os.environ.get("RIDESHARE_USERS_URL", "http://127.0.0.1:8881")
RIDES = os.environ.get("RIDESHARE_RIDES_URL", "http://127.0.0.1:8882")
ADMIN = os.environ.get("RIDESHARE_ADMIN_URL", "http://127.0.0.1:8890")
PROJECT = os.environ.get("RIDESHARE_COMPOSE_PROJECT", "rideshare")
NETWORK = os.environ.get("RIDESHARE_COMPOSE_NETWORK", PROJECT + "_net")
WORKER_LABEL = "org.rideshare.worker-id"
PROJECT_LABEL = "org.rideshare.project=rideshare-c"
PASSWORD = "3d725109c7e7c0bfb9d709836735b56d943d263f"


def log(msg):
    print("  " + msg, flush=True)


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ------------------------------------------------------------------ HTTP
def parse_body(raw):
    """An HTTP answer's body: the JSON value, else the text; None when empty."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class Http:
    """One keep-alive connection to one base URL (one per thread)."""

    def __init__(self, base, timeout=10):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, parse_body(raw)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # a stale keep-alive connection: retry once on a fresh one
                self.close()
                if attempt == 1:
                    raise
            except Exception:
                self.close()
                raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def call(base, method, path, body=None, timeout=10):
    h = Http(base, timeout)
    try:
        return h.request(method, path, body)
    finally:
        h.close()


# ------------------------------------------------------------------ docker
def docker(*args, check_rc=True):
    p = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        raise Fail("docker %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout.strip()


def worker_containers():
    """{worker id: (container name, State.Pid)} of running worker containers."""
    ids = docker("ps", "-q", "--filter", "label=" + WORKER_LABEL,
                 "--filter", "label=" + PROJECT_LABEL).split()
    out = {}
    if not ids:
        return out
    fmt = '{{index .Config.Labels "%s"}} {{.Name}} {{.State.Pid}} {{.State.Running}}' % WORKER_LABEL
    for line in docker("inspect", "-f", fmt, *ids).splitlines():
        wid, name, pid, running = line.split()
        if running == "true":
            out[wid] = (name.lstrip("/"), int(pid))
    return out


def container_ip(service):
    name = "%s_%s_1" % (PROJECT, service)
    fmt = '{{with index .NetworkSettings.Networks "%s"}}{{.IPAddress}}{{end}}' % NETWORK
    ip = docker("inspect", "-f", fmt, name)
    check(ip, "no IP for %s on %s" % (name, NETWORK))
    return ip


# ------------------------------------------------------------------ ZooKeeper
class Zk:
    """Just enough of the ZooKeeper client protocol to read znodes."""

    def __init__(self, host, port=2181):
        self.s = socket.create_connection((host, port), timeout=5)
        self.xid = 0
        self._send(struct.pack(">iqiq", 0, 0, 4000, 0) + struct.pack(">i", 16) + b"\0" * 16)
        self._recv()
        # The deployment's ZooKeeper digest (compose.sh: zk_auth): nodes
        # carry creator-only ACLs, so reading them needs the same identity.
        path = os.path.join(os.environ.get("RIDESHARE_COMPOSE_SECRETS", ""), "zk_auth")
        if os.path.exists(path):
            auth = open(path, "rb").read().strip()
            scheme = b"digest"
            self._send(struct.pack(">ii", -4, 100) + struct.pack(">i", 0)
                       + struct.pack(">i", len(scheme)) + scheme + struct.pack(">i", len(auth)) + auth)
            r = self._recv()
            xid, _zxid, err = struct.unpack(">iqi", r[:16])
            check(err == 0, "zk addauth digest: error %d" % err)

    def _send(self, payload):
        self.s.sendall(struct.pack(">i", len(payload)) + payload)

    def _recv(self):
        n = struct.unpack(">i", self._exact(4))[0]
        return self._exact(n)

    def _exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise Fail("zookeeper closed the connection")
            b += chunk
        return b

    def _op(self, op, path):
        self.xid += 1
        p = path.encode()
        self._send(struct.pack(">ii", self.xid, op) + struct.pack(">i", len(p)) + p + b"\0")
        while True:
            r = self._recv()
            xid, _zxid, err = struct.unpack(">iqi", r[:16])
            if xid == self.xid:
                return err, r[16:]

    def get(self, path):
        """Data of path, or None if it does not exist."""
        err, body = self._op(4, path)
        if err == -101:
            return None
        check(err == 0, "zk get %s: error %d" % (path, err))
        n = struct.unpack(">i", body[:4])[0]
        return b"" if n < 0 else body[4:4 + n]

    def children(self, path):
        err, body = self._op(8, path)
        if err == -101:
            return []
        check(err == 0, "zk children %s: error %d" % (path, err))
        count = struct.unpack(">i", body[:4])[0]
        out, off = [], 4
        for _ in range(count):
            n = struct.unpack(">i", body[off:off + 4])[0]
            out.append(body[off + 4:off + 4 + n].decode())
            off += 4 + n
        return out

    def close(self):
        try:
            self._send(struct.pack(">ii", 0, -11))
        except OSError:
            pass
        self.s.close()


def worker_info(data):
    """Decodes WorkerInfo {1 id, 2 pid, 3 role} (protobuf wire format)."""
    out, i = {"id": "", "pid": 0, "role": 0, "pg_conninfo": ""}, 0

    def varint():
        nonlocal i
        v, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while i < len(data):
        key = varint()
        field, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
            if field == 2:
                out["pid"] = v
            elif field == 3:
                out["role"] = v
        elif wt == 2:
            n = varint()
            if field == 1:
                out["id"] = data[i:i + n].decode()
            elif field == 4:
                out["pg_conninfo"] = data[i:i + n].decode()
            i += n
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            break
    return out


def zk_view():
    """(master id or None, {worker id: WorkerInfo dict})."""
    zk = Zk(container_ip("zookeeper"))
    try:
        m = zk.get("/rideshare/master")
        workers = {}
        for c in zk.children("/rideshare/workers"):
            d = zk.get("/rideshare/workers/" + c)
            if d is not None:
                workers[c] = worker_info(d)
        return (m.decode() if m else None), workers
    finally:
        zk.close()


# ------------------------------------------------------------------ helpers
def wait_for(what, fn, timeout=60, every=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (Fail, OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(every)
    raise Fail("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def worker_list():
    st, body = call(ADMIN, "GET", "/api/v1/worker/list")
    check(st == 200 and isinstance(body, list), "worker/list: %s %r" % (st, body))
    return [int(p) for p in body]


EXPECT_WORKERS = 1 + int(os.environ.get("RIDESHARE_MIN_SLAVES") or "1")


def steady(n_workers=EXPECT_WORKERS, timeout=90):
    """Waits until worker/list has n_workers pids, equal to the running worker
    containers' State.Pid, and a master is elected; returns (master id, containers)."""
    def ok():
        pids = worker_list()
        boxes = worker_containers()
        master, _ = zk_view()
        if len(pids) == n_workers and sorted(p for _, p in boxes.values()) == pids and master in boxes:
            return master, boxes
        return None
    return wait_for("%d workers listed = worker containers, master elected" % n_workers, ok, timeout)


def clear_all():
    st, body = call(EDGE, "POST", "/api/v1/db/clear", {})
    check(st == 200, "db/clear: %s %r" % (st, body))


def all_users(reads=6):
    """Lists users `reads` times (reads go round-robin over the slaves) and
    checks they agree and have no duplicates; returns the list."""
    first = None
    for _ in range(reads):
        st, body = call(EDGE, "GET", "/api/v1/users", timeout=15)
        check(st in (200, 204), "GET /api/v1/users: %s %r" % (st, body))
        users = body if st == 200 else []
        check(len(users) == len(set(users)), "duplicate usernames in the list (%d vs %d distinct)"
              % (len(users), len(set(users))))
        if first is None:
            first = users
        else:
            check(sorted(users) == sorted(first), "two reads disagree: %d vs %d users" % (len(users), len(first)))
    return first


class Writers:
    """n threads adding users as fast as they can; records what was acknowledged."""

    def __init__(self, tag, n=4):
        self.tag, self.n = tag, n
        self.acked, self.failed, self.ok_times = [], 0, []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]

    def _run(self, i):
        h = Http(EDGE, timeout=15)
        k = 0
        while not self.stop.is_set():
            name = "%s-%d-%d" % (self.tag, i, k)
            k += 1
            start = time.time()
            try:
                st, _ = h.request("PUT", "/api/v1/users", {"username": name, "password": PASSWORD})
            except Exception:
                st = None
            with self.lock:
                if st == 201:
                    self.acked.append(name)
                    self.ok_times.append((start, time.time()))
                else:
                    self.failed += 1
            if st != 201:
                time.sleep(0.05)
        h.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def first_ok_after(self, t0):
        """End time of the first successful write sent after t0."""
        with self.lock:
            later = [end for start, end in self.ok_times if start > t0]
        return min(later) if later else None

    def wait_ok_after(self, t0, timeout=30):
        return wait_for("a successful write after t=%.1f" % t0, lambda: self.first_ok_after(t0), timeout, 0.05)


def worker_usernames(conninfo, prefix):
    """Usernames starting with prefix in a worker's own database (psql in the
    postgres container)."""
    db = dict(kv.split("=", 1) for kv in conninfo.split() if "=" in kv).get("dbname", "").strip("'")
    check(db, "no dbname in WorkerInfo.pg_conninfo %r" % conninfo)
    out = docker("exec", "%s_postgres_1" % PROJECT, "psql", "-h", "127.0.0.1", "-U", "postgres",
                 "-d", db, "-tAc", "SELECT username FROM users WHERE username LIKE '%s%%'" % prefix)
    return out.split()


def verify_acked(acked, prefix):
    """Every acknowledged write is present exactly once: in what the edge
    answers, and in the database of every live worker (slaves may still be
    applying the tail of the sync stream: waits up to 20 s for them)."""
    users = set(all_users())
    missing = [u for u in acked if u not in users]
    check(not missing, "%d acknowledged writes lost (edge), e.g. %s" % (len(missing), missing[:5]))
    _, workers = zk_view()
    want = set(acked)
    for wid, info in sorted(workers.items()):
        def caught_up():
            rows = worker_usernames(info["pg_conninfo"], prefix)
            check(len(rows) == len(set(rows)), "worker %s: duplicate usernames" % wid)
            return rows if want <= set(rows) else None
        rows = wait_for("worker %s to hold every acknowledged write" % wid, caught_up, 20, 0.5)
        log("worker %s: all %d acknowledged writes present exactly once (%d rows)" % (wid, len(want), len(rows)))


# ------------------------------------------------------------------ tests
def test_public_api():
    clear_all()
    st, _ = call(EDGE, "PUT", "/api/v1/users", {"username": "alice", "password": PASSWORD})
    check(st == 201, "PUT alice: %s" % st)
    st, _ = call(EDGE, "PUT", "/api/v1/users", {"username": "bob", "password": PASSWORD.upper()})
    check(st == 201, "PUT bob: %s" % st)
    st, _ = call(EDGE, "PUT", "/api/v1/users", {"username": "bob", "password": PASSWORD})
    check(st == 400, "PUT bob twice: %s" % st)
    st, body = call(EDGE, "GET", "/api/v1/users")
    check(st == 200 and body == ["alice", "bob"], "GET users: %s %r" % (st, body))
    st, body = call(EDGE, "GET", "/api/v1/users/alice")
    check(st == 200 and body == {"username": "alice"}, "GET users/alice: %s %r" % (st, body))
    st, _ = call(EDGE, "GET", "/api/v1/usersX")
    check(st == 404, "/api/v1/usersX must reach rides and be unknown: %s" % st)

    ride = {"created_by": "alice", "timestamp": "01-01-2099:00-00-12", "source": 1, "destination": "2"}
    st, body = call(EDGE, "POST", "/api/v1/rides", ride)
    check(st == 201, "POST ride: %s %r" % (st, body))
    st, body = call(EDGE, "POST", "/api/v1/rides", dict(ride, created_by="nobody"))
    check(st == 400, "POST ride by unknown user (rides asks users through the edge): %s %r" % (st, body))
    st, body = call(EDGE, "GET", "/api/v1/rides?source=1&destination=2")
    check(st == 200 and len(body) == 1 and body[0]["username"] == "alice", "GET rides: %s %r" % (st, body))
    rid = body[0]["rideId"]
    st, _ = call(EDGE, "POST", "/api/v1/rides/%d" % rid, {"username": "bob"})
    check(st == 200, "join: %s" % st)
    st, body = call(EDGE, "GET", "/api/v1/rides/%d" % rid)
    check(st == 200 and body["users"] == ["bob"] and body["Created_by"] == "alice",
          "ride details: %s %r" % (st, body))
    st, body = call(EDGE, "GET", "/api/v1/rides/count")
    check(st == 200 and body == [1], "count: %s %r" % (st, body))
    st, _ = call(EDGE, "DELETE", "/api/v1/rides/%d" % rid)
    check(st == 200, "delete ride: %s" % st)
    st, _ = call(EDGE, "DELETE", "/api/v1/users/bob")
    check(st == 200, "delete bob: %s" % st)

    for base, name in ((USERS, "users"), (RIDES, "rides")):
        st, body = call(base, "GET", "/api/v1/_count")
        check(st == 200 and isinstance(body, list) and body[0] > 0, "%s _count: %s %r" % (name, st, body))
        st, _ = call(base, "DELETE", "/api/v1/_count")
        check(st == 200, "%s DELETE _count: %s" % (name, st))
        st, body = call(base, "GET", "/api/v1/_count")
        check(st == 200 and body == [0], "%s _count after reset: %s %r" % (name, st, body))
    clear_all()
    st, _ = call(EDGE, "GET", "/api/v1/users")
    check(st == 204, "no users after db/clear: %s" % st)


def test_worker_pids():
    master, boxes = steady()
    pids = worker_list()
    log("worker/list %s = State.Pid of %s; master %s" % (
        pids, ", ".join("%s:%d" % (n, p) for n, p in sorted(boxes.values())), master))


def test_master_kill():
    rounds = int(os.environ.get("RIDESHARE_COMPOSE_FAILOVER_ROUNDS", "3"))
    clear_all()
    times = []
    with Writers("mk") as w:
        for r in range(rounds):
            master, boxes = steady()
            old_pids = set(p for _, p in boxes.values())
            w.wait_ok_after(time.time())
            name, pid = boxes[master]
            docker("kill", name)
            t0 = time.time()   # SIGKILL delivered: the master is gone
            t_ok = w.wait_ok_after(t0)
            times.append(t_ok - t0)
            new_master, new_boxes = steady()
            t_full = time.time() - t0
            check(new_master != master, "master %s still master after its container was killed" % master)
            new_pids = set(p for _, p in new_boxes.values())
            check(pid not in new_pids, "killed pid %d still listed" % pid)
            log("round %d: killed master %s (pid %d); first write ok after %.2f s; new master %s; "
                "replacement listed after %.2f s; workers %s -> %s" % (
                    r + 1, name, pid, t_ok - t0, new_master, t_full, sorted(old_pids), sorted(new_pids)))
        time.sleep(0.5)
    log("writes: %d acknowledged, %d failed/retried" % (len(w.acked), w.failed))
    log("failover times: %s; median %.2f s" % (", ".join("%.2f" % t for t in times), statistics.median(times)))
    verify_acked(w.acked, "mk-")


def test_slave_kill():
    rounds = int(os.environ.get("RIDESHARE_COMPOSE_SLAVE_ROUNDS", "3"))
    clear_all()
    for i in range(20):
        st, _ = call(EDGE, "PUT", "/api/v1/users", {"username": "reader-%d" % i, "password": PASSWORD})
        check(st == 201, "PUT reader-%d: %s" % (i, st))
    expect = sorted("reader-%d" % i for i in range(20))
    errors, reads, stop = [], [0], threading.Event()

    def reader():
        h = Http(EDGE, timeout=15)
        while not stop.is_set():
            try:
                st, body = h.request("GET", "/api/v1/users")
                if st != 200 or sorted(body) != expect:
                    errors.append((st, body if st != 200 else len(body)))
            except Exception as e:
                errors.append(repr(e))
            reads[0] += 1
        h.close()

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for r in range(rounds):
            master, boxes = steady()
            slaves = [wid for wid in boxes if wid != master]
            check(slaves, "no slave container")
            name, pid = boxes[slaves[0]]
            docker("kill", name)
            t0 = time.time()
            _, new_boxes = steady()
            log("round %d: killed slave %s (pid %d); replacement running and listed after %.2f s" % (
                r + 1, name, pid, time.time() - t0))
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    log("%d reads, %d errors %s" % (reads[0], len(errors), errors[:3]))
    check(not errors, "reads failed or were wrong while slaves were killed: %r" % errors[:5])


def test_master_network_cut():
    clear_all()
    with Writers("nc") as w:
        master, boxes = steady()
        name, pid = boxes[master]
        w.wait_ok_after(time.time())
        docker("network", "disconnect", "-f", NETWORK, name)
        t0 = time.time()
        try:
            new_master = wait_for("a new master", lambda: (lambda m: m if m and m != master else None)(zk_view()[0]), 60)
            t_ok = w.wait_ok_after(time.time(), 60)
            log("cut master %s off the network: new master %s; first write ok %.2f s after the cut"
                % (name, new_master, t_ok - t0))
        finally:
            docker("network", "connect", NETWORK, name, check_rc=False)
        time.sleep(3)   # the old master is back: it must not act as master again

        def one_master():
            m, workers = zk_view()
            masters = [wid for wid, info in workers.items() if info["role"] == 1]
            return (m, workers) if m and masters == [m] else None
        m, workers = wait_for("exactly one worker with role MASTER (the elected one)", one_master, 60)
        check(m != master, "the cut-off master %s is master again" % master)
        log("after reconnect: master %s; workers %s" % (
            m, {k: ("MASTER" if v["role"] == 1 else "SLAVE" if v["role"] == 2 else "CANDIDATE") for k, v in workers.items()}))
        time.sleep(0.5)
    steady()
    log("writes: %d acknowledged, %d failed/retried" % (len(w.acked), w.failed))
    verify_acked(w.acked, "nc-")


TESTS = [
    ("public_api", test_public_api),
    ("worker_pids", test_worker_pids),
    ("master_kill", test_master_kill),
    ("slave_kill", test_slave_kill),
    ("master_network_cut", test_master_network_cut),
]


def main(argv):
    sel = None
    if "--list" in argv:
        for name, _ in TESTS:
            print(name)
        return 0
    if "-k" in argv:
        sel = argv[argv.index("-k") + 1]
    failed = []
    t_all = time.time()
    for name, fn in TESTS:
        if sel and sel not in name:
            continue
        print("compose test %s ..." % name, flush=True)
        t0 = time.time()
        try:
            fn()
            print("compose test %s: PASS (%.1f s)" % (name, time.time() - t0), flush=True)
        except Exception as e:  # Fail or anything unexpected
            failed.append(name)
            print("compose test %s: FAIL (%.1f s): %s" % (name, time.time() - t0, e), flush=True)
    print("compose tests: %d failed%s (%.1f s)" % (
        len(failed), (": " + ", ".join(failed)) if failed else "", time.time() - t_all), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
