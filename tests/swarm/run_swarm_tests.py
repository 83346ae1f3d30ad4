#!/usr/bin/env python3
"""Failure tests of the swarm deployment (compose/stack.yml), run by
`compose/swarm.sh test` against a deployed stack. They reuse the compose
suite's tools (tests/compose/run_compose_tests.py: HTTP, writers, ZooKeeper
reader, acknowledged-write checks) with the swarm's names:

  worker_pids   worker/list = node-index * 10^7 + the worker tasks' pids
  master_kill   SIGKILL the master's task container under 4 writers (2 rounds)
  worker_pg_kill_slave / _master  SIGKILL the PostgreSQL server inside a
                slave's / the master's task under 4 writers: it is started
                again, the worker reconnects and keeps its place
  mq_node_kill  SIGKILL one RabbitMQ node under 4 writers (quorum queues)
  zk_node_kill  SIGKILL one ZooKeeper server under 4 writers (ensemble)
  orchestrator_restart_autoscale  a new orchestrator task adopts the workers;
                with a 5 s window, reads scale out to 3 slaves and idle back to 1
  down_up_keeps_data  writes, `swarm.sh down` (volumes kept), `up`: every
                acknowledged write back, writes accepted (no accept-loss)
  all_workers_kill  SIGKILL every worker task at once under 4 writers: the
                new master runs on the last master's volume, every
                acknowledged write back, writes accepted (no accept-loss)
Each checks that no acknowledged write is lost and that every worker's
database holds each of them exactly once, and prints the recovery times."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compose"))

STACK = os.environ.get("RIDESHARE_SWARM_STACK", "rsw")
# The compose suite reads these at import time.
os.environ["RIDESHARE_COMPOSE_PROJECT"] = STACK
os.environ["RIDESHARE_COMPOSE_NETWORK"] = STACK + "_net"
os.environ["RIDESHARE_COMPOSE_SECRETS"] = os.environ.get("RIDESHARE_SWARM_SECRETS", "")
# 2 master kills (compose: 3): the swarm suite has more faults to fit in the
# default ctest run (docs/swarm.md).
os.environ.setdefault("RIDESHARE_COMPOSE_FAILOVER_ROUNDS", "2")

import run_compose_tests as rc  # noqa: E402

docker, check, log, wait_for = rc.docker, rc.check, rc.log, rc.wait_for


def service_container(svc):
    """Id of the running local container of stack service svc, or None."""
    out = docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=%s_%s" % (STACK, svc))
    return out.split()[0] if out else None


def node_index():
    v = docker("node", "inspect", "self", "-f", '{{index .Spec.Labels "org.rideshare.node-index"}}',
               check_rc=False)
    return int(v) if v.strip().isdigit() else 0


PID_NODE = 10 ** 7


def worker_containers():
    """{worker id: (container name, worker pid by the swarm rule)}."""
    ids = docker("ps", "-q", "--filter", "label=" + rc.WORKER_LABEL,
                 "--filter", "label=" + rc.PROJECT_LABEL).split()
    out = {}
    if not ids:
        return out
    base = node_index() * PID_NODE
    fmt = '{{index .Config.Labels "%s"}} {{.Name}} {{.State.Pid}} {{.State.Running}}' % rc.WORKER_LABEL
    for line in docker("inspect", "-f", fmt, *ids).splitlines():
        wid, name, pid, running = line.split()
        if running == "true" and name.lstrip("/").startswith(STACK + "-worker-"):
            out[wid] = (name.lstrip("/"), base + int(pid))
    return out


def container_ip(service):
    # Any ZooKeeper server of the ensemble that runs answers the reader.
    names = ["zookeeper1", "zookeeper2", "zookeeper3"] if service == "zookeeper" else [service]
    for n in names:
        cid = service_container(n)
        if not cid:
            continue
        fmt = '{{with index .NetworkSettings.Networks "%s_net"}}{{.IPAddress}}{{end}}' % STACK
        ip = docker("inspect", "-f", fmt, cid, check_rc=False)
        if ip:
            return ip
    raise rc.Fail("no running container with an address for %s" % service)


def worker_usernames(conninfo, prefix):
    db = dict(kv.split("=", 1) for kv in conninfo.split() if "=" in kv).get("dbname", "").strip("'")
    check(db, "no dbname in WorkerInfo.pg_conninfo %r" % conninfo)
    # worker-pg: the database is on the worker's own server, named by its
    # service (host=<stack>-worker-<id>); shared: the postgres service.
    host = dict(kv.split("=", 1) for kv in conninfo.split() if "=" in kv).get("host", "postgres")
    if host == "postgres":
        cid = service_container("postgres")
    else:
        out = docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + host)
        cid = out.split()[0] if out else None
    check(cid, "no container of %s" % host)
    out = docker("exec", "-e", "PGPASSFILE=/run/secrets/pgpass", cid, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
                 "SELECT username FROM users WHERE username LIKE '%s%%'" % prefix)
    return out.split()


def worker_dbname(wid):
    return "rideshare_" + "".join(c if c.isalnum() else "_" for c in wid.lower())


def zk_view():
    """(master id, {worker id: {"pg_conninfo": ...}}) from the admin API's
    worker/details (the overlay network, hence ZooKeeper, is not reachable
    from the host). A worker's database is on its own server (worker-pg:
    the worker's container has a data directory) or on the postgres service."""
    st, d = rc.call(rc.ADMIN, "GET", "/api/v1/worker/details")
    check(st == 200 and isinstance(d, dict), "worker/details: %s %r" % (st, d))
    workers = {}
    for w in d.get("workers", []):
        if w.get("state") != "running" or not w.get("registered"):
            continue
        name = STACK + "-worker-" + w["id"]
        cid = docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + name)
        own = bool(cid) and subprocess.run(
            ["docker", "exec", cid.split()[0], "test", "-s", "/var/lib/postgresql/data/PG_VERSION"],
            capture_output=True).returncode == 0
        workers[w["id"]] = {"id": w["id"], "pid": w.get("pid", 0),
                            "pg_conninfo": "host=%s dbname=%s" % (name if own else "postgres", worker_dbname(w["id"]))}
    return d.get("master") or None, workers




def mq_running_nodes():
    cid = service_container("rabbitmq1") or service_container("rabbitmq2")
    if not cid:
        return 0
    p = subprocess.run(["docker", "exec", "-u", "rabbitmq", "-e", "HOME=/var/lib/rabbitmq", cid,
                        "rabbitmqctl", "-q", "cluster_status", "--formatter", "json"],
                       capture_output=True, text=True)
    try:
        import json
        return len(json.loads(p.stdout).get("running_nodes", []))
    except ValueError:
        return 0


def zk_quorum_members():
    n = 0
    for s in ("zookeeper1", "zookeeper2", "zookeeper3"):
        cid = service_container(s)
        if cid and subprocess.run(["docker", "exec", cid, "rs-zookeeper-health"],
                                  capture_output=True).returncode == 0:
            n += 1
    return n


def kill_under_writers(tag, svc, back):
    """SIGKILLs service svc's container while 4 writers run; returns
    (seconds to the first acknowledged write after the kill, seconds until
    back() says the service is whole again)."""
    rc.clear_all()
    with rc.Writers(tag) as w:
        rc.steady()
        w.wait_ok_after(time.time())
        time.sleep(1)
        cid = service_container(svc)
        check(cid, "no container of %s" % svc)
        docker("kill", cid)
        t0 = time.time()
        t_ok = w.wait_ok_after(t0, 60)
        wait_for("%s back (swarm restart)" % svc, back, 120, 0.5)
        t_back = time.time() - t0
        time.sleep(1)
    log("%s killed: first write ok after %.2f s; back after %.1f s; writes %d acknowledged, %d failed/retried" % (
        svc, t_ok - t0, t_back, len(w.acked), w.failed))
    rc.verify_acked(w.acked, tag + "-")
    return t_ok - t0, t_back


# Every process of the PostgreSQL server in a worker's container, SIGKILLed
# at once (postmaster and backends: the server is gone, not shut down; its
# shared memory is released, as after a crash of the machine's server).
KILL_PG = ('n=0; for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = postgres ] '
           '&& kill -9 "${d#/proc/}" 2>/dev/null && n=$((n + 1)); done; echo $n')


def pg_ready(cid):
    return subprocess.run(["docker", "exec", cid, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"],
                          capture_output=True).returncode == 0


def worker_rows(workers, prefix):
    return {wid: sorted(worker_usernames(info["pg_conninfo"], prefix)) for wid, info in sorted(workers.items())}


def verify_identical(prefix):
    """Every live worker's database holds the same rows under prefix (the
    acknowledged ones, and any committed whose reply was lost): waits up to
    20 s for the slaves to apply the tail of the sync stream."""
    def same():
        _, workers = zk_view()
        rows = worker_rows(workers, prefix)
        return rows if len(set(tuple(r) for r in rows.values())) == 1 else None
    rows = wait_for("every worker's database identical (%s*)" % prefix, same, 20, 0.5)
    log("databases identical: %s, %d rows each" % (", ".join(sorted(rows)), len(next(iter(rows.values())))))


_verify_acked = rc.verify_acked


def verify_acked(acked, prefix):
    """The compose suite's check (each acknowledged write exactly once in
    every copy), then: every copy holds the same rows."""
    _verify_acked(acked, prefix)
    verify_identical(prefix)


rc.zk_view = zk_view
rc.worker_containers = worker_containers
rc.container_ip = container_ip
rc.worker_usernames = worker_usernames
rc.verify_acked = verify_acked


def pg_kill_under_writers(tag, role):
    """Kills every PostgreSQL process inside the master's (role "master") or
    a slave's task container while 4 writers run. The worker keeps running:
    rs-worker-entry starts its server again (crash recovery from the WAL) and
    the worker reconnects; the master requeues the batch it could not commit,
    the slave gets its unacknowledged sync events again (or, stalled too
    long, is replaced). Checks: 0 acknowledged writes lost, every worker's
    database identical. Returns (s to the first write acknowledged after the kill, s
    until the server answers again, s until every copy holds every write)."""
    rc.clear_all()
    with rc.Writers(tag) as w:
        master, boxes = rc.steady()
        w.wait_ok_after(time.time())
        time.sleep(1)
        victim = master if role == "master" else next(wid for wid in sorted(boxes) if wid != master)
        name, pid = boxes[victim]
        n = docker("exec", name, "sh", "-c", KILL_PG).strip()
        t0 = time.time()
        check(n.isdigit() and int(n) > 0, "no PostgreSQL process killed in %s (%r)" % (name, n))
        wait_for("%s's PostgreSQL back" % name, lambda: pg_ready(name), 60, 0.2)
        t_pg = time.time() - t0
        t_ok = w.wait_ok_after(t0, 60)
        time.sleep(2)   # writes continue on the recovered server
        t_end = time.time()
    m2, boxes2 = rc.steady()
    # Expected: the worker reconnected and kept its place. A slave that
    # stalls too long exits for replacement (and a master replaced would
    # mean a failover): also a recovery, reported as such.
    kept = boxes2.get(victim, (None, None))[1] == pid and (role != "master" or m2 == master)
    log("%s %s (pid %d): %s; master now %s, workers %s" % (
        role, victim, pid, "reconnected, kept its place" if kept else "REPLACED", m2,
        sorted(p for _, p in boxes2.values())))
    log("%s %s: %s PostgreSQL processes killed; server back after %.2f s; first write ok after %.2f s; "
        "writes %d acknowledged (%d in the %.1f s after the kill), %d failed/retried" % (
            role, victim, n, t_pg, t_ok - t0, len(w.acked),
            sum(1 for s0, _ in w.ok_times if s0 > t0), t_end - t0, w.failed))
    rc.verify_acked(w.acked, tag + "-")
    log("%s PostgreSQL kill: every copy whole after %.1f s" % (role, time.time() - t0))


def test_worker_pg_kill_slave():
    pg_kill_under_writers("pgs", "slave")


def test_worker_pg_kill_master():
    pg_kill_under_writers("pgm", "master")


def test_mq_node_kill():
    kill_under_writers("mq", "rabbitmq1", lambda: mq_running_nodes() == 3)


def test_zk_node_kill():
    kill_under_writers("zk", "zookeeper2", lambda: zk_quorum_members() == 3)


def orchestrator_task_env_update(*args):
    docker("service", "update", "--detach=true", *args, STACK + "_orchestrator")


def ready_orchestrator():
    st, _ = rc.call(rc.ADMIN, "GET", "/readyz")
    return st == 200


def test_orchestrator_restart_adopts_then_autoscale():
    """A new orchestrator task (service update: a 5 s scaling window) adopts
    the running worker services; 60 reads in a window -> 3 slaves (scale-out
    through the swarm spawner), idle windows -> back to 1 (scale-in removes
    exactly the chosen workers' services)."""
    master, boxes = rc.steady()
    before = sorted(p for _, p in boxes.values())
    t0 = time.time()
    orchestrator_task_env_update("--env-add", "RIDESHARE_SCALE_WINDOW_S=5", "--env-add", "RIDESHARE_MAX_SLAVES=3")
    time.sleep(2)
    wait_for("the new orchestrator ready", ready_orchestrator, 120, 0.5)
    time.sleep(6)   # a worker that would be lost shows within its session time
    m2, boxes2 = rc.steady(timeout=120)
    after = sorted(p for _, p in boxes2.values())
    check(after == before and m2 == master, "workers after the orchestrator restart: %s (master %s), before %s (master %s)"
          % (after, m2, before, master))
    log("orchestrator replaced in %.1f s; adopted the running workers %s (master %s unchanged)" % (
        time.time() - t0, after, master))
    # Scale-out: 60+ reads per 5 s window for a while.
    t1 = time.time()

    def reads_and_count():
        for _ in range(25):
            rc.call(rc.EDGE, "GET", "/api/v1/users")
        return len(rc.worker_list()) >= 4 or None
    wait_for("4 workers (master + 3 slaves) under reads", reads_and_count, 120, 0.1)
    m3, boxes3 = rc.steady(4, 120)
    log("scale-out to 3 slaves in %.1f s: %s" % (time.time() - t1, sorted(p for _, p in boxes3.values())))
    t2 = time.time()
    m4, boxes4 = rc.steady(2, 120)
    check(m4 == m3, "master changed during scale-in: %s -> %s" % (m3, m4))
    svcs = docker("service", "ls", "--format", "{{.Name}}").split()
    workers = sorted(n for n in svcs if n.startswith(STACK + "-worker-"))
    check(len(workers) == 2, "worker services after scale-in: %s" % workers)
    log("scale-in to 1 slave in %.1f s; worker services left: %s" % (time.time() - t2, workers))
    orchestrator_task_env_update("--env-add", "RIDESHARE_SCALE_WINDOW_S=3600")
    time.sleep(2)
    wait_for("the orchestrator ready again", ready_orchestrator, 120, 0.5)
    rc.steady(timeout=120)


SWARM_SH = os.path.join(HERE, "..", "..", "compose", "swarm.sh")


def swarm_sh(*args):
    """Runs compose/swarm.sh (same stack, secrets and settings); its output
    goes to ours. Returns the seconds it took."""
    t0 = time.time()
    env = dict(os.environ, RIDESHARE_SWARM_SKIP_IMAGES="1")
    p = subprocess.run([SWARM_SH] + list(args), env=env)
    check(p.returncode == 0, "swarm.sh %s: exit %d" % (" ".join(args), p.returncode))
    return time.time() - t0


def worker_volumes():
    return sorted(v for v in docker("volume", "ls", "-q", "--filter", "label=" + rc.PROJECT_LABEL).split()
                  if v.startswith(STACK + "-worker-") and v.endswith("-data"))


def worker_service_volumes():
    out = {}
    for name in docker("service", "ls", "--format", "{{.Name}}").split():
        if name.startswith(STACK + "-worker-"):
            out[name] = docker("service", "inspect", "-f",
                               "{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{.Source}} {{end}}", name).strip()
    return out


def test_down_up_keeps_data():
    """Full-cluster recovery with each worker's own PostgreSQL: writes, then
    `down` (volumes kept) and `up`. The new workers take over the kept
    volumes (the spawner adopts them), the first one recovers from the copy
    it finds there: every acknowledged write is read back and writes are
    accepted, with no `rsctl recover --accept-loss`."""
    rc.clear_all()
    with rc.Writers("du") as w:
        rc.steady()
        w.wait_ok_after(time.time())
        time.sleep(3)
    check(w.acked, "no write acknowledged before down")
    verify_acked(w.acked, "du-")
    kept = worker_volumes()
    t_down = swarm_sh("down")
    check(set(kept) <= set(worker_volumes()), "down lost worker volumes: %s -> %s" % (kept, worker_volumes()))
    t_up = swarm_sh("up")
    st, body = rc.call(rc.ADMIN, "GET", "/readyz")
    check(st == 200, "/readyz after up: %s %r (writes refused?)" % (st, body))
    users = set(rc.all_users())
    missing = [u for u in w.acked if u not in users]
    check(not missing, "%d of %d acknowledged writes lost across down+up, e.g. %s" % (
        len(missing), len(w.acked), missing[:5]))
    st, _ = rc.call(rc.EDGE, "PUT", "/api/v1/users", {"username": "du-after-up", "password": rc.PASSWORD})
    check(st == 201, "a write after up (no accept-loss): %s" % st)
    rc.steady(timeout=120)
    verify_acked(w.acked + ["du-after-up"], "du-")
    mounts = worker_service_volumes()
    adopted = sorted(v for v in mounts.values() if v in kept)
    check(adopted, "no new worker took over a kept volume: %s (kept %s)" % (mounts, kept))
    log("down %.1f s, warm up %.1f s: %d acknowledged writes all back, a new write accepted; "
        "workers on kept volumes: %s" % (t_down, t_up, len(w.acked), mounts))


def test_all_workers_kill():
    """Full-cluster recovery after every worker crashed at once (no `down`:
    the copies were not levelled): SIGKILL every worker task's container
    under 4 writers. The orchestrator's bootstrap spawn takes over the
    volume the last master named in ZooKeeper (its copy is at or above the
    history mark), the first new worker recovers from it: every
    acknowledged write is read back and writes are accepted again with no
    `rsctl recover --accept-loss`. Prints the recovery time (kill -> first
    acknowledged write)."""
    rc.clear_all()
    master, boxes = rc.steady()
    master_vol = worker_service_volumes().get("%s-worker-%s" % (STACK, master), "")
    check(master_vol.endswith("-data"), "no volume on the master's service: %r" % master_vol)
    if master_vol == min(worker_volumes()):
        # Without the recorded volume the spawner takes the smallest free
        # name: move the master elsewhere, or the test could not tell.
        with open(os.environ["RIDESHARE_ADMIN_TOKEN_FILE"]) as f:
            auth = {"Authorization": "Bearer " + f.read().strip()}
        h = rc.Http(rc.ADMIN, 60)
        try:
            st, body = h.request("POST", "/api/v1/switchover", {}, auth)
        finally:
            h.close()
        check(st == 200, "switchover: %s %r" % (st, body))
        master, boxes = rc.steady(timeout=120)
        master_vol = worker_service_volumes().get("%s-worker-%s" % (STACK, master), "")
    smallest = min(worker_volumes())
    check(master_vol != smallest, "the master's volume %s is the smallest name" % master_vol)
    with rc.Writers("ak") as w:
        w.wait_ok_after(time.time())
        time.sleep(2)
        boxes = worker_containers()
        check(len(boxes) >= 2, "worker containers before the kill: %s" % boxes)
        docker("kill", *[name for name, _ in boxes.values()])
        t0 = time.time()
        n_before = len(w.acked)
        t_ok = w.wait_ok_after(t0, 180)
        time.sleep(1)
    log("every worker (%d) killed at once: first write ok after %.2f s (full-cluster recovery); "
        "writes %d acknowledged (%d before the kill), %d failed/retried" % (
            len(boxes), t_ok - t0, len(w.acked), n_before, w.failed))
    new_master, _ = rc.steady(timeout=120)
    check(new_master not in boxes, "master %s is one of the killed workers" % new_master)
    st, body = rc.call(rc.ADMIN, "GET", "/readyz")
    check(st == 200, "/readyz after the full-cluster crash: %s %r" % (st, body))
    mounts = worker_service_volumes()
    check(master_vol in mounts.values(), "the last master's volume %s not taken over: %s" % (master_vol, mounts))
    check(mounts.get("%s-worker-%s" % (STACK, new_master)) == master_vol,
          "the new master %s does not run on the last master's volume %s: %s" % (new_master, master_vol, mounts))
    users = set(rc.all_users())
    missing = [u for u in w.acked if u not in users]
    check(not missing, "%d of %d acknowledged writes lost after every worker crashed, e.g. %s" % (
        len(missing), len(w.acked), missing[:5]))
    verify_acked(w.acked, "ak-")
    log("all workers killed: recovered in %.2f s on the last master's volume %s (the smallest name: %s); "
        "%d acknowledged writes all back" % (t_ok - t0, master_vol, smallest, len(w.acked)))


TESTS = [
    ("worker_pids", rc.test_worker_pids),
    ("master_kill", rc.test_master_kill),
    ("worker_pg_kill_slave", test_worker_pg_kill_slave),
    ("worker_pg_kill_master", test_worker_pg_kill_master),
    ("mq_node_kill", test_mq_node_kill),
    ("zk_node_kill", test_zk_node_kill),
    ("orchestrator_restart_autoscale", test_orchestrator_restart_adopts_then_autoscale),
    ("down_up_keeps_data", test_down_up_keeps_data),
    ("all_workers_kill", test_all_workers_kill),
]
rc.TESTS = TESTS

if __name__ == "__main__":
    sys.exit(rc.main(sys.argv[1:]))
