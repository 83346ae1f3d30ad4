#!/usr/bin/python3
"""Nemesis test, compose deployment (issue 11): the same load and checks as
tests/chaos/nemesis.py, one container fault at a time, each on a FRESH
deployment (compose project `rsnemesis` by default, its own ports and
volumes, so it never touches the `rideshare` project of the compose suite):

  orch_restart   docker restart of the orchestrator container
  pg_kill        docker kill of the postgres container
  rabbit_kill    docker kill of the rabbitmq container
  zk_kill        docker kill of the zookeeper container
  stop_start     docker-compose stop, then docker-compose start (whole deployment)
  pg_crash, rabbit_crash, zk_crash
                 kill -9 (from the host) of that container's main process, the
                 child of its docker-init: a crash. Docker (20.10) counts
                 `docker kill` as a manual stop, which no restart policy undoes;
                 a crash is what `restart:` covers.

    tests/chaos/nemesis_compose.py [--fault NAME]... [--base PORT] [--list]

Uses the images the compose suite builds (ctest fixture docker_images,
`./rideshare compose images`); it does not build them. Exits 77 (ctest:
skipped) when no Docker daemon answers or an image is missing. The
deployment is started with `compose/compose.sh dc up -d` (compose.sh's
docker-compose wrapper, so the same file and project handling) and removed
with `compose/compose.sh down --volumes` (containers, worker containers,
volumes, the admin token).

Environment: RIDESHARE_NEMESIS_PROJECT (default rsnemesis), --base: edge
base+0, users +1, rides +2, admin +10 (default 33900); RIDESHARE_NEMESIS_*
phase lengths as in nemesis.py; RIDESHARE_NEMESIS_UP_S (default 240).
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import uuid

PROJECT = os.environ.get("RIDESHARE_NEMESIS_PROJECT", "rsnemesis")
# run_compose_tests (imported by nemesis_lib) reads these at import time.
os.environ["RIDESHARE_COMPOSE_PROJECT"] = PROJECT
os.environ["RIDESHARE_COMPOSE_NETWORK"] = PROJECT + "_net"

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nemesis_lib as nl  # noqa: E402

rct = nl.rct
ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
COMPOSE = os.path.join(ROOT, "compose", "compose.sh")
FAULTS = ["orch_restart", "pg_kill", "rabbit_kill", "zk_kill", "stop_start",
          "pg_crash", "rabbit_crash", "zk_crash"]
# What ctest runs: a crash of each server (kill -9 of its main process, as
# a real crash looks to Docker) is restarted by the restart policy; `docker
# kill` (pg_kill, rabbit_kill, zk_kill) is a manual stop to Docker 20.10,
# which no restart policy undoes (moby #21359, #39729): selectable with
# --fault, documented in docs/compose.md, not a product failure.
DEFAULT_FAULTS = ["orch_restart", "pg_crash", "rabbit_crash", "zk_crash",
                  "stop_start"]
IMAGES = ["postgres", "rabbitmq", "zookeeper", "orchestrator", "users", "rides", "edge", "worker"]
SKIP = 77


RECOVERY_S = nl.env_float("RIDESHARE_NEMESIS_RECOVERY_S", 60.0)
UP_S = nl.env_float("RIDESHARE_NEMESIS_UP_S", 240.0)


def why_skip():
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        return "no Docker daemon answers (docker info failed)"
    for i in IMAGES:
        if subprocess.run(["docker", "image", "inspect", "rideshare/%s:latest" % i],
                          capture_output=True).returncode != 0:
            return "image rideshare/%s:latest not built (./rideshare compose images)" % i
    return None


class Deployment:
    def __init__(self, base):
        self.env = dict(os.environ)
        self.env.update({
            "RIDESHARE_COMPOSE_PROJECT": PROJECT,
            "RIDESHARE_COMPOSE_NETWORK": PROJECT + "_net",
            "RIDESHARE_COMPOSE_EDGE_PORT": str(base),
            "RIDESHARE_COMPOSE_USERS_PORT": str(base + 1),
            "RIDESHARE_COMPOSE_RIDES_PORT": str(base + 2),
            "RIDESHARE_COMPOSE_ADMIN_PORT": str(base + 10),
            # No autoscaling in the middle of a fault: 1 master + 1 slave.
            "RIDESHARE_SCALE_WINDOW_S": self.env.get("RIDESHARE_SCALE_WINDOW_S", "3600"),
        })
        self.edge = "http://127.0.0.1:%d" % base
        self.admin = "http://127.0.0.1:%d" % (base + 10)

    def compose(self, *args, timeout=600):
        return nl.run_logged("compose.sh", [COMPOSE, *args], self.env, timeout)

    def container(self, service):
        return "%s_%s_1" % (PROJECT, service)

    def healthy(self):
        """Every container of the project running (and healthy where it has a
        healthcheck), and the orchestrator ready."""
        ids = rct.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=" + PROJECT,
                         check_rc=False).split()
        if len(ids) < 7:
            return False
        out = rct.docker("inspect", "-f",
                         "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                         *ids, check_rc=False)
        for line in out.splitlines():
            if line.strip() not in ("running healthy", "running"):
                return False
        st, _ = nl.call(self.admin, "GET", "/readyz", timeout=3)
        return st == 200

    def up(self):
        if not self.compose("dc", "up", "-d", "--remove-orphans"):
            return False
        return bool(nl.wait_until(self.healthy, UP_S, 1.0))

    def logs(self, dest):
        os.makedirs(dest, exist_ok=True)
        for s in ("orchestrator", "users", "rides", "postgres", "rabbitmq", "zookeeper", "edge"):
            with open(os.path.join(dest, s + ".log"), "w") as f:
                subprocess.run(["docker", "logs", "--tail", "2000", self.container(s)],
                               stdout=f, stderr=subprocess.STDOUT)
        for wid, name in self.workers().items():
            with open(os.path.join(dest, "worker-%s.log" % wid), "w") as f:
                subprocess.run(["docker", "logs", "--tail", "2000", name], stdout=f,
                               stderr=subprocess.STDOUT)
        nl.log("logs kept in %s" % dest)

    def workers(self):
        """{worker id: container name} of this project's running worker containers."""
        ids = rct.docker("ps", "-q", "--filter", "label=" + rct.WORKER_LABEL,
                         "--filter", "network=" + PROJECT + "_net", check_rc=False).split()
        out = {}
        if not ids:
            return out
        fmt = '{{index .Config.Labels "%s"}} {{.Name}} {{.State.Running}}' % rct.WORKER_LABEL
        for line in rct.docker("inspect", "-f", fmt, *ids, check_rc=False).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2] == "true":
                out[parts[0]] = parts[1].lstrip("/")
        return out

    def psql(self, db, sql):
        p = subprocess.run(["docker", "exec", self.container("postgres"), "psql", "-h", "127.0.0.1",
                            "-U", "postgres", "-d", db, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() if p.returncode == 0 else None

    def all_dbs(self):
        return nl.all_worker_dbs(self.psql)

    def live_dbs(self):
        """{worker id: dbname}: running worker containers that ZooKeeper lists
        as MASTER or SLAVE (every running one when ZooKeeper does not answer)."""
        boxes = self.workers()
        try:
            _, infos = rct.zk_view()
        except Exception as e:  # noqa: BLE001 - ZooKeeper down is a fault we inject
            nl.log("ZooKeeper unreadable (%r): every running worker container counts as live" % e)
            infos = None
        return nl.live_worker_dbs(boxes, infos)


def main_process(container):
    """Host pid of the container's main process: the child of its init
    (docker-init, `init: true`), or State.Pid itself without one."""
    pid = int(rct.docker("inspect", "-f", "{{.State.Pid}}", container))
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    comm = open("/proc/%d/comm" % pid).read().strip()
    if comm in ("docker-init", "tini") and kids:
        return kids[0]
    return pid


def do_fault(d, fault):
    if fault == "orch_restart":
        nl.log("fault: docker restart %s" % d.container("orchestrator"))
        rct.docker("restart", d.container("orchestrator"))
    elif fault in ("pg_kill", "rabbit_kill", "zk_kill"):
        svc = {"pg_kill": "postgres", "rabbit_kill": "rabbitmq", "zk_kill": "zookeeper"}[fault]
        nl.log("fault: docker kill %s" % d.container(svc))
        rct.docker("kill", d.container(svc))
    elif fault in ("pg_crash", "rabbit_crash", "zk_crash"):
        svc = {"pg_crash": "postgres", "rabbit_crash": "rabbitmq", "zk_crash": "zookeeper"}[fault]
        pid = main_process(d.container(svc))
        nl.log("fault: kill -9 of %s's main process (host pid %d)" % (d.container(svc), pid))
        os.kill(pid, signal.SIGKILL)
    elif fault == "stop_start":
        nl.log("fault: docker-compose stop, then docker-compose start")
        d.compose("dc", "stop")
        if not d.compose("dc", "start"):
            raise RuntimeError("docker-compose start failed")
    else:
        raise ValueError(fault)


def run_fault(fault, base, logs_root):
    res = nl.Result("compose_" + fault)
    t_begin = time.time()
    nl.log("==== compose %s: fresh deployment %s (edge :%d)" % (fault, PROJECT, base))
    d = Deployment(base)
    d.compose("down", "--volumes")   # leftovers of an interrupted run

    def body():
        if not d.up():
            res.fail("the fresh deployment did not become healthy in %.0f s" % UP_S)
            return
        tag = "nc" + uuid.uuid4().hex[:6]
        if not nl.wait_writable(d.edge, tag, 60):
            res.fail("the fresh deployment never took a write")
            return
        nl.fault_under_load(res, d, tag, lambda: do_fault(d, fault), RECOVERY_S)

    def cleanup():
        if not res.passed:
            try:
                d.logs(os.path.join(logs_root, res.fault))
            except Exception as e:  # noqa: BLE001
                nl.log("could not keep the logs: %r" % e)
        if not d.compose("down", "--volumes"):
            res.notes.append("compose.sh down did not clean up")

    return nl.guarded_run(res, "compose " + fault, t_begin, body, cleanup)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fault", action="append", choices=FAULTS + ["all"])
    ap.add_argument("--base", type=int, default=33900)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    if a.list:
        print("\n".join(FAULTS))
        return 0
    reason = why_skip()
    if reason:
        print("SKIPPED: " + reason, flush=True)
        return SKIP
    sel = (DEFAULT_FAULTS if not a.fault
           else FAULTS if "all" in a.fault
           else [f for f in FAULTS if f in a.fault])
    build_dir = os.path.realpath(os.environ.get("RIDESHARE_BUILD_DIR", os.path.join(ROOT, "build")))
    logs_root = os.path.join(build_dir, "nemesis-logs")
    t0 = time.time()
    results = [run_fault(f, a.base, logs_root) for f in sel]
    nl.print_table(results, time.time() - t0)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
