"""`_count` per service (API.md "_count semantics"): what is counted, what
is not, and the reset. Each service is asked directly, as the original
specification does; traffic goes through the edge like a client's."""
import pytest

from conftest import EDGE, PASSWORD, RIDES, USERS, ts


@pytest.fixture
def zeroed(api):
    for base in (USERS, RIDES):
        api.reset_count(base)
    assert api.count(USERS) == 0 and api.count(RIDES) == 0
    return api


def test_count_is_a_one_element_array(zeroed):
    r = zeroed.get("/api/v1/_count", base=USERS)
    assert r.status_code == 200 and r.json() == [0]
    assert r.headers["Content-Type"].startswith("application/json")


def test_reset_returns_empty_object_and_zeroes(zeroed):
    zeroed.get("/api/v1/users")
    assert zeroed.count(USERS) == 1
    r = zeroed.delete("/api/v1/_count", base=USERS)
    assert r.status_code == 200 and r.json() == {}
    assert zeroed.count(USERS) == 0


def test_users_routes_count_success_failure_and_405(zeroed):
    api = zeroed
    api.add_user("alice")                                              # 1 (201)
    api.put("/api/v1/users", json={"username": "alice", "password": PASSWORD})  # 2 (400)
    api.put("/api/v1/users", data=b"not json")                        # 3 (400)
    api.get("/api/v1/users")                                           # 4
    api.get("/api/v1/users/alice")                                     # 5
    api.get("/api/v1/users/nobody")                                    # 6 (404)
    api.post("/api/v1/users", json={})                                 # 7 (405)
    api.req("PATCH", EDGE + "/api/v1/users/alice")                     # 8 (405)
    api.delete("/api/v1/users/alice")                                  # 9
    api.delete("/api/v1/users/alice")                                  # 10 (400)
    assert api.count(USERS) == 10
    assert api.count(RIDES) == 0


def test_rides_routes_count_success_failure_and_405(zeroed):
    api = zeroed
    api.add_user("alice")
    api.add_user("bob")
    api.reset_count(USERS)
    api.add_ride("alice")                                             # 1
    api.post("/api/v1/rides", json={"created_by": "alice"})          # 2 (400)
    api.get("/api/v1/rides?source=1&destination=2")                  # 3
    api.get("/api/v1/rides?source=1")                                 # 4 (400)
    api.get("/api/v1/rides/1")                                        # 5
    api.get("/api/v1/rides/99")                                       # 6 (204)
    api.post("/api/v1/rides/1", json={"username": "bob"})             # 7
    api.get("/api/v1/rides/count")                                    # 8
    api.post("/api/v1/rides/count")                                   # 9 (405)
    api.put("/api/v1/rides", json={})                                 # 10 (405)
    api.delete("/api/v1/rides/1")                                     # 11
    api.delete("/api/v1/rides/1")                                     # 12 (400)
    assert api.count(RIDES) == 12
    # the user checks of create (1) and join (7) went to the users service
    assert api.count(USERS) == 2


def test_not_counted_count_clear_health_metrics_unknown(zeroed):
    api = zeroed
    for base in (USERS, RIDES):
        api.get("/api/v1/_count", base=base)
        api.req("PUT", base + "/api/v1/_count")          # 405 on _count itself
        api.get("/healthz", base=base)
        api.get("/metrics", base=base)
        api.get("/api/v1/nothing", base=base)
        api.get("/api/v1/db/clear", base=base)            # 405 on db/clear
        api.post("/api/v1/db/clear", base=base)
    api.get("/api/v1/users/a/b")                          # unknown path (users side)
    api.get("/api/v1/usersX")                             # unknown path (rides side)
    api.get("/api/v1/rides/1/x")
    api.get("/api/v1/_count")                             # through the edge
    assert api.count(USERS) == 0
    assert api.count(RIDES) == 0


def test_edge_count_is_the_rides_service_count(zeroed):
    zeroed.get("/api/v1/rides/count")
    zeroed.get("/api/v1/rides/count")
    r = zeroed.get("/api/v1/_count")
    assert r.status_code == 200 and r.json() == [2]


def test_reset_is_per_service(zeroed):
    api = zeroed
    api.get("/api/v1/users")
    api.get("/api/v1/rides/count")
    api.reset_count(RIDES)
    assert api.count(RIDES) == 0
    assert api.count(USERS) == 1


def test_count_keeps_going_across_db_clear(zeroed):
    api = zeroed
    api.get("/api/v1/users")
    api.post("/api/v1/db/clear", base=USERS)
    api.get("/api/v1/users")
    assert api.count(USERS) == 2


def test_requests_to_the_service_port_directly_count_too(zeroed):
    api = zeroed
    api.get("/api/v1/users", base=USERS)
    api.get("/api/v1/rides/count", base=RIDES)
    api.add_user("alice")
    api.post("/api/v1/rides", base=RIDES, json={
        "created_by": "alice", "timestamp": ts(), "source": 1, "destination": 2})
    assert api.count(USERS) == 3   # list, add, the check of the create
    assert api.count(RIDES) == 2
