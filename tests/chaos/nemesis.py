#!/usr/bin/python3
"""Nemesis test, local stack (issue 11): one fault at a time, each on a FRESH
local stack, under 4 writers (PUT /api/v1/users) and 2 readers, recovery left
to the product (no manual repair). After each fault:
  - writes answer again within --recovery-timeout s of the fault's end, and
    reads too (the time from the fault to the first successful write sent
    after the fault ended is printed: "recovery s");
  - every acknowledged write (and every ambiguous one a retry proved present)
    is listed exactly once by GET /api/v1/users through the edge,
  - and is present exactly once in EVERY live worker's database
    (rideshare_<worker id> on the stack's PostgreSQL), and those databases
    are identical (the digest of tests/system/orch_sys.c);
  - a fresh write and a read of it succeed.
Then a table: fault | writes acknowledged | lost | duplicated | recovery s |
max gap (longest time without a 201 after the fault) | PASS/FAIL.

    tests/chaos/nemesis.py [--fault NAME]... [--base PORT] [--list]

Faults (run in this order; --fault selects, repeatable):
  zk_pause_1500   kill -STOP ZooKeeper's java, 1.5 s, kill -CONT
  zk_pause_6000   the same, 6 s
  zk_kill         kill -9 ZooKeeper
  orch_kill       kill -9 the orchestrator
  pg_kill         kill -9 the PostgreSQL postmaster
  rabbit_kill     kill -9 RabbitMQ (beam.smp)
  users_kill      kill -9 the users service
  down_up         ./rideshare down, then ./rideshare up --detach (no purge)

Fault i gets the port block base + 100*i .. +99 (default --base 33000): its
stack runs on the first of block, +25, +50, +75 whose ports are free (ports
above 32767 may be held by other clients' connections), in the stack dir
<stack root>/nemesis-<that base>. The stack is started with
`./rideshare up --detach` and removed with `./rideshare down --purge`; the
logs of a failed fault are kept in <stack root>/nemesis-logs/<fault>/.

Environment: RIDESHARE_BUILD_DIR (default <repo>/build),
RIDESHARE_TEST_STACK_ROOT (default the build dir), RIDESHARE_NEMESIS_* to
override the phase lengths (BEFORE_S 3, AFTER_S 3, RECOVERY_S 40).
Exit status 0 when every fault passed, 1 otherwise.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nemesis_lib as nl  # noqa: E402

ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
RIDESHARE = os.path.join(ROOT, "rideshare")
FAULTS = ["zk_pause_1500", "zk_pause_6000", "zk_kill", "orch_kill", "pg_kill",
          "rabbit_kill", "users_kill", "down_up"]


RECOVERY_S = nl.env_float("RIDESHARE_NEMESIS_RECOVERY_S", 40.0)


def read_first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return None


def proc_read(pid, what):
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            return f.read()
    except OSError:
        return None


class LocalStack:
    """A local stack of our own: ./rideshare up/down with its own stack dir
    and port base. Knows where each component's pid is recorded."""

    def __init__(self, base, build_dir, stack_root):
        self.base = base
        self.dir = os.path.join(stack_root, "nemesis-%d" % base)
        self.env = dict(os.environ)
        for k in list(self.env):
            # BASE decides every port (as in tests/with-stack.sh).
            if k.startswith("RIDESHARE_") and k.endswith("_PORT"):
                del self.env[k]
        self.env.update({
            "RIDESHARE_STACK_DIR": self.dir,
            "RIDESHARE_PORT_BASE": str(base),
            "RIDESHARE_BUILD_DIR": build_dir,
            "RIDESHARE_NO_BUILD": "1",
            "RIDESHARE_NO_DEPS": "1",
            # No autoscaling in the middle of a fault: 1 master + 1 slave.
            "RIDESHARE_SCALE_WINDOW_S": self.env.get("RIDESHARE_SCALE_WINDOW_S", "3600"),
        })
        self.edge = "http://127.0.0.1:%d" % base
        self.admin = "http://127.0.0.1:%d" % (base + 10)
        self.pg_port = base + 20
        self.amqp_port = base + 21
        self.zk_port = base + 24
        self.marker = ("RIDESHARE_STACK_MEMBER=%s" % self.dir).encode()

    def rideshare(self, *args, timeout=180):
        return nl.run_logged("./rideshare", [RIDESHARE, *args], self.env, timeout)

    def up(self):
        if os.path.isdir(self.dir):
            nl.log("clearing a stack left in %s" % self.dir)
            self.rideshare("down", "--purge")
        return self.rideshare("up", "--detach")

    def down(self, purge, keep_logs_to=None):
        ok = self.rideshare("down", *(["--purge"] if purge and not keep_logs_to else []))
        if keep_logs_to:
            shutil.rmtree(keep_logs_to, ignore_errors=True)
            try:
                shutil.copytree(os.path.join(self.dir, "logs"), keep_logs_to)
                nl.log("logs kept in %s" % keep_logs_to)
            except OSError as e:
                nl.log("could not keep the logs: %s" % e)
            if purge and ok:
                ok = self.rideshare("down", "--purge")
        return ok

    # -- pids: only processes of THIS stack are ever signalled
    def member(self, pid):
        env = proc_read(pid, "environ") or b""
        return self.marker + b"\0" in env + b"\0"

    def pid_of(self, name, comm):
        pid = read_first_line(os.path.join(self.dir, "pids", name + ".pid"))
        if not pid or not pid.isdigit():
            raise RuntimeError("no pid recorded for %s" % name)
        pid = int(pid)
        c = (proc_read(pid, "comm") or b"").decode().strip()
        if c != comm or not self.member(pid):
            raise RuntimeError("%s: pid %d is %r, not our %s" % (name, pid, c, comm))
        return pid

    def postmaster_pid(self):
        pid = read_first_line(os.path.join(self.dir, "pg", "postmaster.pid"))
        if not pid or not pid.isdigit():
            raise RuntimeError("no postmaster.pid")
        pid = int(pid)
        c = (proc_read(pid, "comm") or b"").decode().strip()
        cmd = (proc_read(pid, "cmdline") or b"").split(b"\0")
        if c != "postgres" or b"-p" not in cmd or cmd[cmd.index(b"-p") + 1] != str(self.pg_port).encode():
            raise RuntimeError("postmaster pid %d is not our PostgreSQL (%r)" % (pid, c))
        return pid

    def beam_pid(self):
        f = os.path.join(self.dir, "rabbitmq", "mnesia", "rideshare-%d@localhost.pid" % self.amqp_port)
        pid = read_first_line(f)
        if not pid or not pid.isdigit():
            raise RuntimeError("no RabbitMQ pid file %s" % f)
        pid = int(pid)
        c = (proc_read(pid, "comm") or b"").decode().strip()
        if c != "beam.smp" or not self.member(pid):
            raise RuntimeError("RabbitMQ pid %d is %r, not our beam.smp" % (pid, c))
        return pid

    def worker_processes(self):
        """{worker id: pid} of the live worker processes of this stack."""
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            pid = int(d)
            if not (proc_read(pid, "comm") or b"").startswith(b"rideshare-worke"):
                continue
            env = proc_read(pid, "environ") or b""
            if self.marker + b"\0" not in env + b"\0":
                continue
            for kv in env.split(b"\0"):
                if kv.startswith(b"RIDESHARE_WORKER_ID="):
                    out[kv.split(b"=", 1)[1].decode()] = pid
        return out

    def secret(self, name):
        """First line of <stack>/secrets/NAME (the stack's generated
        credentials), or None (a stack without them)."""
        return read_first_line(os.path.join(self.dir, "secrets", name))

    # -- databases
    def psql(self, db, sql):
        env = dict(os.environ)
        pgpass = os.path.join(self.dir, "secrets", "pgpass")
        if os.path.exists(pgpass):
            env["PGPASSFILE"] = pgpass
        p = subprocess.run(
            ["psql", "host=127.0.0.1 port=%d user=postgres dbname=%s connect_timeout=5"
             % (self.pg_port, db), "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=30, env=env)
        return p.stdout.strip() if p.returncode == 0 else None

    def all_dbs(self):
        return nl.all_worker_dbs(self.psql)

    def live_dbs(self):
        """{worker id: dbname} of every live worker: a running worker process
        of this stack that ZooKeeper lists as MASTER or SLAVE (when ZooKeeper
        answers; without it, every running worker process)."""
        procs = self.worker_processes()
        try:
            zk = nl.zk_connect("127.0.0.1", self.zk_port, self.secret("zk_auth"))
            try:
                infos = {c: nl.rct.worker_info(zk.get("/rideshare/workers/" + c) or b"")
                         for c in zk.children("/rideshare/workers")}
            finally:
                zk.close()
        except Exception as e:  # noqa: BLE001 - ZooKeeper down is a fault we inject
            nl.log("ZooKeeper unreadable (%r): every running worker process counts as live" % e)
            infos = None
        return nl.live_worker_dbs(procs, infos)


PORT_OFFSETS = (0, 1, 2, 10, 20, 21, 22, 23, 24)   # docs/conventions.md


def ports_free(base):
    """True when no socket holds a port of the stack on `base`. Binds as the
    servers do (SO_REUSEADDR): TIME_WAIT left by the previous stack is no
    obstacle, a listener or another client's live connection is."""
    for off in PORT_OFFSETS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", base + off))
        except OSError:
            return False
        finally:
            s.close()
    return True


def start_stack(res, fault, block, build_dir, stack_root, wait_s=90):
    """A fresh stack on the first base of block, block+25, +50, +75 whose
    ports are free; a base that fails to start is given up for the next one.
    Bases above 32767 lie in Linux's ephemeral port range, where any client's
    connection (or its TIME_WAIT) may hold one of our ports (seen: nginx,
    rides, ZooKeeper and RabbitMQ's dist port failing to bind): while every
    base is busy, waits (TIME_WAIT ends after 60 s), up to wait_s. None on
    failure."""
    tried, failed = [], set()
    deadline = time.time() + wait_s
    while True:
        for base in (block, block + 25, block + 50, block + 75):
            if base in failed:
                continue
            if not ports_free(base):
                tried.append("%d busy" % base)
                continue
            stack = LocalStack(base, build_dir, stack_root)
            if stack.up():
                if tried:
                    res.notes.append("stack on base %d; before: %s" % (base, ", ".join(tried[:8])))
                return stack
            failed.add(base)
            tried.append("%d did not start" % base)
            stack.down(purge=True, keep_logs_to=os.path.join(stack_root, "nemesis-logs",
                                                             "%s-start-%d" % (fault, base)))
        if len(failed) == 4 or time.time() >= deadline:
            res.fail("no fresh stack started: " + ", ".join(tried[-8:]))
            return None
        time.sleep(2)


# ------------------------------------------------------------------ faults
def sig(stack, pid, s, what):
    nl.log("fault: kill -%s %s (pid %d)" % (signal.Signals(s).name[3:], what, pid))
    os.kill(pid, s)


def zk_pause(stack, ms):
    pid = stack.pid_of("zookeeper", "java")
    sig(stack, pid, signal.SIGSTOP, "ZooKeeper")
    try:
        time.sleep(ms / 1000.0)
    finally:
        sig(stack, pid, signal.SIGCONT, "ZooKeeper")


def do_fault(stack, fault):
    """Injects the fault; returns when it has ended (CONT sent, `up` back)."""
    if fault == "zk_pause_1500":
        zk_pause(stack, 1500)
    elif fault == "zk_pause_6000":
        zk_pause(stack, 6000)
    elif fault == "zk_kill":
        sig(stack, stack.pid_of("zookeeper", "java"), signal.SIGKILL, "ZooKeeper")
    elif fault == "orch_kill":
        sig(stack, stack.pid_of("orchestrator", "rideshare-orche"), signal.SIGKILL, "the orchestrator")
    elif fault == "pg_kill":
        sig(stack, stack.postmaster_pid(), signal.SIGKILL, "the PostgreSQL postmaster")
    elif fault == "rabbit_kill":
        sig(stack, stack.beam_pid(), signal.SIGKILL, "RabbitMQ beam.smp")
    elif fault == "users_kill":
        sig(stack, stack.pid_of("users", "rideshare-users"), signal.SIGKILL, "the users service")
    elif fault == "down_up":
        nl.log("fault: ./rideshare down (no purge), then ./rideshare up --detach")
        stack.rideshare("down")
        if not stack.rideshare("up", "--detach"):
            raise RuntimeError("./rideshare up after down failed")
    else:
        raise ValueError(fault)


# ------------------------------------------------------------------ one run
def run_fault(fault, base, build_dir, stack_root):
    res = nl.Result(fault)
    t_begin = time.time()
    nl.log("==== %s: fresh stack in the port block %d..%d" % (fault, base, base + 99))
    stack = start_stack(res, fault, base, build_dir, stack_root)
    if stack is None:
        res.elapsed = time.time() - t_begin
        return res

    def body():
        tag = "nm" + uuid.uuid4().hex[:6]
        if not nl.wait_writable(stack.edge, tag, 30):
            res.fail("the fresh stack never took a write")
            return
        nl.fault_under_load(res, stack, tag, lambda: do_fault(stack, fault), RECOVERY_S)
        orphans = set(stack.all_dbs() or []) - set(stack.live_dbs().values())
        if orphans:
            res.notes.append("%d rideshare_* databases of no live worker: %s"
                             % (len(orphans), ", ".join(sorted(orphans))))

    def cleanup():
        keep = None if res.passed else os.path.join(stack_root, "nemesis-logs", fault)
        if not stack.down(purge=True, keep_logs_to=keep):
            res.notes.append("the stack did not stop cleanly")

    return nl.guarded_run(res, fault, t_begin, body, cleanup)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fault", action="append", choices=FAULTS + ["all"],
                    help="fault to run (repeatable; default all)")
    ap.add_argument("--base", type=int, default=33000,
                    help="port base of the first fault's stack (fault i: base + 100*i)")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    if a.list:
        print("\n".join(FAULTS))
        return 0
    sel = FAULTS if not a.fault or "all" in a.fault else [f for f in FAULTS if f in a.fault]
    build_dir = os.path.realpath(os.environ.get("RIDESHARE_BUILD_DIR", os.path.join(ROOT, "build")))
    stack_root = os.path.realpath(os.environ.get("RIDESHARE_TEST_STACK_ROOT", build_dir))
    t0 = time.time()
    results = []
    for f in sel:
        results.append(run_fault(f, a.base + 100 * FAULTS.index(f), build_dir, stack_root))
    nl.print_table(results, time.time() - t0)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
