"""Rules that must hold when clients race each other (the master re-checks
inside its write transaction; the gateway's checks alone could not)."""
import concurrent.futures as cf
import os
import time

import pytest

from conftest import PASSWORD, USERS, Api, ts

ADMIN = os.environ.get("RIDESHARE_ADMIN_URL", "").rstrip("/")

N = 12


def parallel(fn, n=N):
    with cf.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def test_same_username_added_concurrently_once(api):
    def add(_):
        return Api().put("/api/v1/users", json={"username": "dup", "password": PASSWORD}).status_code
    codes = parallel(add)
    assert sorted(codes) == [201] + [400] * (N - 1)
    assert api.users() == ["dup"]


def test_same_user_joins_concurrently_once(api):
    api.add_user("alice")
    api.add_user("bob")
    api.add_ride("alice")

    def join(_):
        return Api().post("/api/v1/rides/1", json={"username": "bob"}).status_code
    codes = parallel(join)
    assert sorted(codes) == [200] + [400] * (N - 1)
    assert api.ride(1)["users"] == ["bob"]


def test_concurrent_joins_all_land_in_order_of_commit(api):
    api.add_user("alice")
    names = ["j%02d" % i for i in range(N)]
    for n in names:
        api.add_user(n)
    api.add_ride("alice")

    def join(i):
        return Api().post("/api/v1/rides/1", json={"username": names[i]}).status_code
    assert parallel(join) == [200] * N
    users = api.ride(1)["users"]
    assert sorted(users) == names and len(set(users)) == N


def test_user_deleted_while_creating_rides_owns_none(api):
    """Creates race the deletion of their creator: whatever interleaving,
    no ride may survive whose creator is gone."""
    for round_ in range(3):
        api.add_user("ghost")
        when = ts()

        def work(i):
            a = Api()
            if i == N // 2:
                return a.delete("/api/v1/users/ghost").status_code
            return a.post("/api/v1/rides", json={"created_by": "ghost", "timestamp": when,
                                                  "source": 1, "destination": 2}).status_code
        codes = parallel(work)
        assert codes[N // 2] == 200
        assert all(c in (201, 400) for i, c in enumerate(codes) if i != N // 2), codes
        assert "ghost" not in api.users()
        assert api.ride_count() == 0, "a ride outlived its creator (round %d)" % round_
        r = api.get("/api/v1/rides?source=1&destination=2")
        assert r.status_code == 204


def test_user_deleted_while_joining_is_never_a_member(api):
    api.add_user("alice")
    for round_ in range(3):
        api.add_user("ghost")
        api.add_ride("alice")
        ride_id = round_ + 1

        def work(i):
            a = Api()
            if i == 0:
                return a.delete("/api/v1/users/ghost").status_code
            return a.post("/api/v1/rides/%d" % ride_id, json={"username": "ghost"}).status_code
        codes = parallel(work, n=4)
        assert codes[0] == 200
        assert all(c in (200, 204, 400) for c in codes[1:]), codes
        assert api.ride(ride_id)["users"] == []


def test_count_is_exact_under_concurrency(api):
    api.reset_count(USERS)

    def hit(_):
        a = Api()
        for _ in range(10):
            a.get("/api/v1/users")
        return 0
    parallel(hit)
    assert api.count(USERS) == N * 10


def metric_sum(text, name):
    """Sum of the samples of metric name in a /metrics text."""
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name + " ") or line.startswith(name + "{"))


def counter(base, name):
    """Sum of the samples of counter name on base's /metrics."""
    return metric_sum(Api().get("/metrics", base=base).text, name)


def test_calls_in_flight_together_reach_the_broker_as_one_batch(api):
    """docs/gateway.md "Batched calls": the reads a gateway has in flight
    together go out as one RequestBatch message, which the orchestrator
    takes apart; every read is still answered on its own."""
    api.add_user("alice")
    gw0 = counter(USERS, "rideshare_gw_rpc_batches_total")
    orch0 = counter(ADMIN, "rideshare_orch_request_batches_total") if ADMIN else 0

    def reads(_):
        a = Api()
        return [a.get("/api/v1/users").json() for _ in range(25)]
    for answers in parallel(reads, 16):
        assert answers == [["alice"]] * 25
    assert counter(USERS, "rideshare_gw_rpc_batches_total") > gw0
    if ADMIN:
        assert counter(ADMIN, "rideshare_orch_request_batches_total") > orch0


def test_master_reports_where_a_write_time_goes(api):
    """docs/performance.md "Where a durable write's time goes": the master's
    group commits reach the orchestrator's /metrics ("commits" notices,
    every 500 ms): more groups, at least as many more writes as were
    acknowledged, and time in every step a group takes."""
    if not ADMIN:
        pytest.skip("RIDESHARE_ADMIN_URL not set")
    steps = ("statements", "commit", "fence", "confirm", "reply")

    def totals():
        # One scrape: every figure from the same "commits" notice.
        text = Api().get("/metrics", base=ADMIN).text
        names = {"groups": "rideshare_orch_worker_group_commits_total",
                 "writes": "rideshare_orch_worker_group_commit_writes_total"}
        names.update({s: f"rideshare_orch_worker_group_{s}_seconds_total" for s in steps})
        return {k: metric_sum(text, n) for k, n in names.items()}
    before = totals()

    def add(i):
        return Api().put("/api/v1/users", json={"username": "g%02d" % i,
                                                "password": PASSWORD}).status_code
    assert parallel(add, 16) == [201] * 16
    deadline = time.monotonic() + 5
    after = totals()
    while after["writes"] - before["writes"] < 16 and time.monotonic() < deadline:
        time.sleep(0.1)
        after = totals()
    assert after["writes"] - before["writes"] >= 16
    assert 1 <= after["groups"] - before["groups"] <= after["writes"] - before["writes"]
    for s in steps:
        assert after[s] > before[s], s
