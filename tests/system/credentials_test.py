#!/usr/bin/env python3
"""Per-deployment credentials of the local stack (docs/security.md section 5),
checked on a real stack (run by ctest under tests/with-stack.sh):

- the secrets directory is 0700 and every file in it 0600;
- RabbitMQ has no guest user, guest/guest does not authenticate, and the
  stack's own user does;
- every pg_hba rule is scram-sha-256 (no trust), a connection without the
  password is refused, one with the stack's pgpass works;
- ZooKeeper nodes of RideShare carry a digest ACL: an anonymous client may
  not read /rideshare/epoch.
"""
import os
import stat
import subprocess
import sys

STACK = os.environ["RIDESHARE_STACK_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RIDESHARE = os.path.join(ROOT, "rideshare")
SECRETS = os.path.join(STACK, "secrets")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(*args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(list(args), capture_output=True, text=True, env=e, timeout=timeout)


def main():
    mode = stat.S_IMODE(os.stat(SECRETS).st_mode)
    check(mode == 0o700, "secrets dir mode 0700 (is %o)" % mode)
    for name in sorted(os.listdir(SECRETS)):
        m = stat.S_IMODE(os.stat(os.path.join(SECRETS, name)).st_mode)
        check(m == 0o600, "secrets/%s mode 0600 (is %o)" % (name, m))

    users = run(RIDESHARE, "rabbitmqctl", "list_users", "--quiet")
    check(users.returncode == 0, "rabbitmqctl list_users answers")
    names = [line.split()[0] for line in users.stdout.splitlines() if line.strip()]
    check("guest" not in names, "no guest user on the broker (users: %s)" % names)
    check("rideshare" in names, "the stack's own broker user exists")
    guest = run(RIDESHARE, "rabbitmqctl", "authenticate_user", "guest", "guest")
    check(guest.returncode != 0, "guest/guest does not authenticate")
    with open(os.path.join(SECRETS, "amqp_password")) as f:
        pw = f.read().strip()
    own = run(RIDESHARE, "rabbitmqctl", "authenticate_user", "rideshare", pw)
    check(own.returncode == 0, "the stack's broker user authenticates")

    rules = run(RIDESHARE, "psql", "-Atc", "SELECT auth_method FROM pg_hba_file_rules")
    methods = set(rules.stdout.split())
    check(rules.returncode == 0 and methods == {"scram-sha-256"},
          "every pg_hba rule is scram-sha-256 (found %s)" % sorted(methods))
    port = os.environ["RIDESHARE_PG_PORT"]
    nopw = run("psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-w", "-Atc", "SELECT 1",
               env={"PGPASSFILE": "/nonexistent", "PGPASSWORD": ""})
    check(nopw.returncode != 0, "PostgreSQL refuses a connection without the password")
    withpw = run("psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-w", "-Atc", "SELECT 1",
                 env={"PGPASSFILE": os.path.join(SECRETS, "pgpass")})
    check(withpw.returncode == 0 and withpw.stdout.strip() == "1",
          "PostgreSQL accepts the stack's pgpass")

    zk = subprocess.run(["/usr/share/zookeeper/bin/zkCli.sh", "-server",
                         "127.0.0.1:%s" % os.environ["RIDESHARE_ZK_PORT"]],
                        input="get /rideshare/epoch\nquit\n", capture_output=True, text=True,
                        timeout=60)
    out = zk.stdout + zk.stderr
    check("Insufficient permission" in out or "NoAuth" in out,
          "an anonymous ZooKeeper client cannot read /rideshare/epoch")

    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
