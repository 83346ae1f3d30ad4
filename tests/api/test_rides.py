"""Rides service, every row of API.md, through the edge."""
import datetime

import pytest

from conftest import (EDGE, FUTURE, PAST, assert_json_error, assert_no_body,
                      ts)

DAY = datetime.timedelta(days=1)


def ride_body(**over):
    body = {"created_by": "alice", "timestamp": ts(FUTURE), "source": 1,
            "destination": 2}
    body.update(over)
    return {k: v for k, v in body.items() if v is not Ellipsis}


# --- POST /api/v1/rides ------------------------------------------------------

def test_create_ride_is_201_empty_object(api, two_users):
    r = api.post("/api/v1/rides", json=ride_body())
    assert r.status_code == 201
    assert r.json() == {}
    assert api.ride_count() == 1


def test_create_ride_areas_as_numeric_strings(api, two_users):
    r = api.post("/api/v1/rides", json=ride_body(source="3", destination="198"))
    assert r.status_code == 201
    ride = api.ride(1)
    assert ride["source"] == 3 and ride["destination"] == 198


def test_create_ride_ids_are_sequential_and_never_reused(api, two_users):
    api.add_ride("alice")
    api.add_ride("alice")
    assert api.delete("/api/v1/rides/2").status_code == 200
    api.add_ride("bob")
    assert api.ride(2) is None
    assert api.ride(3)["Created_by"] == "bob"


def test_create_ride_in_the_past_is_allowed(api, two_users):
    r = api.post("/api/v1/rides", json=ride_body(timestamp=ts(PAST)))
    assert r.status_code == 201


@pytest.mark.parametrize("missing", ["created_by", "timestamp", "source", "destination"])
def test_create_ride_missing_field_is_400(api, two_users, missing):
    r = api.post("/api/v1/rides", json=ride_body(**{missing: ...}))
    assert_json_error(r, 400)
    assert api.ride_count() == 0


@pytest.mark.parametrize("field,value", [
    ("created_by", 7), ("created_by", None), ("created_by", ["alice"]),
    ("created_by", {"name": "alice"}), ("created_by", ""),
    ("timestamp", 1800000000), ("timestamp", None), ("timestamp", ["x"]),
    ("source", None), ("source", [1]), ("source", {"id": 1}), ("source", True),
    ("source", 1.0), ("source", 1.5),
    ("destination", None), ("destination", [2]), ("destination", 2.0),
], ids=lambda v: repr(v)[:30])
def test_create_ride_wrong_typed_field_is_400(api, two_users, field, value):
    r = api.post("/api/v1/rides", json=ride_body(**{field: value}))
    assert_json_error(r, 400)
    assert api.ride_count() == 0


@pytest.mark.parametrize("stamp", [
    "26-01-2027 00-30-14", "26/01/2027:00-30-14", "26-01-2027:00:30:14",
    "2027-01-26:00-30-14", "26-1-2027:00-30-14", "26-01-27:00-30-14",
    "31-04-2030:00-00-00", "29-02-2031:00-00-00", "30-02-2032:00-00-00",
    "32-01-2030:00-00-00", "01-13-2030:00-00-00", "00-01-2030:00-00-00",
    "01-01-2030:60-00-00", "01-01-2030:00-60-00", "01-01-2030:00-00-24",
    "", "tomorrow", "26-01-2030:00-30-14Z", " 26-01-2030:00-30-14",
])
def test_create_ride_bad_timestamp_is_400(api, two_users, stamp):
    r = api.post("/api/v1/rides", json=ride_body(timestamp=stamp))
    assert_json_error(r, 400)
    assert api.ride_count() == 0


def test_create_ride_leap_day_is_a_real_date(api, two_users):
    r = api.post("/api/v1/rides", json=ride_body(timestamp="29-02-2032:00-00-12"))
    assert r.status_code == 201
    assert api.ride(1)["Timestamp"] == "29-02-2032:00-00-12"


@pytest.mark.parametrize("field", ["source", "destination"])
@pytest.mark.parametrize("value", [0, 199, -1, 1000, "0", "199", "3a", "", " 3",
                                   "-3", "+3", "3.0", "1e2",
                                   "18446744073709551616", 9223372036854775807],
                         ids=repr)
def test_create_ride_unknown_or_malformed_area_is_400(api, two_users, field, value):
    r = api.post("/api/v1/rides", json=ride_body(**{field: value}))
    assert_json_error(r, 400)
    assert api.ride_count() == 0


def test_create_ride_unknown_user_is_400(api, two_users):
    r = api.post("/api/v1/rides", json=ride_body(created_by="nobody"))
    assert_json_error(r, 400)
    r = api.post("/api/v1/rides", json=ride_body(created_by="ALICE"))
    assert_json_error(r, 400)
    assert api.ride_count() == 0


def test_create_ride_extra_field_is_400(api, two_users):
    r = api.post("/api/v1/rides", json=ride_body(rideId=5))
    assert_json_error(r, 400)
    assert api.ride_count() == 0


# --- GET /api/v1/rides?source=&destination= ---------------------------------

def test_list_rides_upcoming_only_ordered_by_time_then_id(api, two_users):
    t1, t2, t3 = ts(1 * DAY), ts(2 * DAY), ts(3 * DAY)
    api.add_ride("alice", when=t3)                           # 1
    api.add_ride("bob", when=t1)                             # 2
    api.add_ride("alice", when=ts(PAST))                     # 3: past, hidden
    api.add_ride("bob", when=t2)                             # 4
    api.add_ride("alice", when=t2)                           # 5: same time as 4
    api.add_ride("alice", when=t1, source=2, destination=1)  # 6: other way
    api.add_ride("alice", when=t1, source=1, destination=3)  # 7: elsewhere
    r = api.get("/api/v1/rides", params={"source": 1, "destination": 2})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == [
        {"rideId": 2, "username": "bob", "timestamp": t1},
        {"rideId": 4, "username": "bob", "timestamp": t2},
        {"rideId": 5, "username": "alice", "timestamp": t2},
        {"rideId": 1, "username": "alice", "timestamp": t3},
    ]


def test_list_rides_same_time_ordered_by_id(api, two_users):
    when = ts(5 * DAY)
    for who in ["bob", "alice", "bob"]:
        api.add_ride(who, when=when, source=7, destination=8)
    r = api.get("/api/v1/rides?source=7&destination=8")
    assert r.status_code == 200
    assert r.json() == [
        {"rideId": 1, "username": "bob", "timestamp": when},
        {"rideId": 2, "username": "alice", "timestamp": when},
        {"rideId": 3, "username": "bob", "timestamp": when},
    ]


def test_list_rides_past_only_is_204(api, two_users):
    api.add_ride("alice", when=ts(PAST))
    api.add_ride("alice", when=ts(datetime.timedelta(seconds=-5)))
    assert_no_body(api.get("/api/v1/rides?source=1&destination=2"))


def test_list_rides_none_is_204(api):
    assert_no_body(api.get("/api/v1/rides?source=1&destination=2"))


def test_list_rides_areas_as_numeric_strings_in_query(api, two_users):
    api.add_ride("alice", source="10", destination=20)
    r = api.get("/api/v1/rides?source=010&destination=20")
    assert r.status_code == 200 and len(r.json()) == 1


@pytest.mark.parametrize("query", [
    "", "?source=1", "?destination=2", "?source=&destination=2",
    "?source=1&destination=", "?source=0&destination=2", "?source=1&destination=199",
    "?source=abc&destination=2", "?source=1&destination=2x",
    "?source=18446744073709551616&destination=2", "?source=1e400&destination=2",
    "?source=-1&destination=2", "?source=1.0&destination=2",
    "?source=%zz&destination=2",
])
def test_list_rides_missing_invalid_or_unknown_area_is_400(api, query):
    r = api.get("/api/v1/rides" + query)
    assert_json_error(r, 400)


# --- GET /api/v1/rides/{rideId} ---------------------------------------------

def test_get_ride_details(api, two_users):
    api.add_user("carol")
    when = ts(FUTURE)
    api.add_ride("alice", when=when, source="4", destination=9)
    assert api.post("/api/v1/rides/1", json={"username": "carol"}).status_code == 200
    assert api.post("/api/v1/rides/1", json={"username": "bob"}).status_code == 200
    r = api.get("/api/v1/rides/1")
    assert r.status_code == 200
    assert r.json() == {"rideId": 1, "Created_by": "alice", "users": ["carol", "bob"],
                        "Timestamp": when, "source": 4, "destination": 9}


def test_get_ride_without_joins_has_empty_users(api, two_users):
    api.add_ride("alice")
    assert api.ride(1)["users"] == []


@pytest.mark.parametrize("ride_id", ["2", "0", "-1", "abc", "1a", "1.0",
                                     "99999999999999999999999", "9223372036854775808",
                                     "%20"])
def test_get_ride_missing_is_204(api, two_users, ride_id):
    api.add_ride("alice")
    assert_no_body(api.get("/api/v1/rides/" + ride_id))


def test_get_past_ride_still_works(api, two_users):
    when = ts(PAST)
    api.add_ride("alice", when=when)
    assert api.ride(1)["Timestamp"] == when


# --- POST /api/v1/rides/{rideId} (join) ------------------------------------

def test_join_ride_is_200_empty_object(api, two_users):
    api.add_ride("alice")
    r = api.post("/api/v1/rides/1", json={"username": "bob"})
    assert r.status_code == 200 and r.json() == {}
    assert api.ride(1)["users"] == ["bob"]


def test_join_ride_twice_is_rejected(api, two_users):
    api.add_ride("alice")
    assert api.post("/api/v1/rides/1", json={"username": "bob"}).status_code == 200
    assert_json_error(api.post("/api/v1/rides/1", json={"username": "bob"}), 400)
    assert api.ride(1)["users"] == ["bob"]


def test_join_own_ride_is_rejected(api, two_users):
    api.add_ride("alice")
    assert_json_error(api.post("/api/v1/rides/1", json={"username": "alice"}), 400)
    assert api.ride(1)["users"] == []


@pytest.mark.parametrize("ride_id", ["2", "0", "abc", "99999999999999999999999"])
def test_join_missing_ride_is_204(api, two_users, ride_id):
    api.add_ride("alice")
    assert_no_body(api.post("/api/v1/rides/" + ride_id, json={"username": "bob"}))
    assert api.ride(1)["users"] == []


def test_join_missing_user_is_204(api, two_users):
    api.add_ride("alice")
    assert_no_body(api.post("/api/v1/rides/1", json={"username": "nobody"}))
    assert_no_body(api.post("/api/v1/rides/1", json={"username": "BOB"}))
    assert api.ride(1)["users"] == []


@pytest.mark.parametrize("body", [
    {}, {"username": ""}, {"username": None}, {"username": 3}, {"username": ["bob"]},
    {"username": {"name": "bob"}}, {"user": "bob"}, {"username": "bob", "extra": 1},
], ids=repr)
def test_join_bad_body_is_400(api, two_users, body):
    api.add_ride("alice")
    assert_json_error(api.post("/api/v1/rides/1", json=body), 400)
    assert api.ride(1)["users"] == []


def test_join_ride_keeps_join_order(api, two_users):
    for u in ["u3", "u1", "u2"]:
        api.add_user(u)
    api.add_ride("alice")
    for u in ["u3", "u1", "bob", "u2"]:
        assert api.post("/api/v1/rides/1", json={"username": u}).status_code == 200
    assert api.ride(1)["users"] == ["u3", "u1", "bob", "u2"]


# --- DELETE /api/v1/rides/{rideId} ------------------------------------------

def test_delete_ride_is_200_then_400(api, two_users):
    api.add_ride("alice")
    r = api.delete("/api/v1/rides/1")
    assert r.status_code == 200 and r.json() == {}
    assert api.ride(1) is None
    assert_json_error(api.delete("/api/v1/rides/1"), 400)


@pytest.mark.parametrize("ride_id", ["7", "0", "abc", "99999999999999999999999"])
def test_delete_missing_ride_is_400(api, two_users, ride_id):
    api.add_ride("alice")
    assert_json_error(api.delete("/api/v1/rides/" + ride_id), 400)
    assert api.ride_count() == 1


# --- GET /api/v1/rides/count --------------------------------------------------

def test_count_rides_counts_existing_rides(api, two_users):
    r = api.get("/api/v1/rides/count")
    assert r.status_code == 200 and r.json() == [0]
    api.add_ride("alice")
    api.add_ride("bob", when=ts(PAST))
    api.add_ride("bob", source=5, destination=6)
    assert api.get("/api/v1/rides/count").json() == [3]
    api.delete("/api/v1/rides/2")
    assert api.get("/api/v1/rides/count").json() == [2]


# --- methods and paths ---------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/api/v1/rides", {"POST", "GET"}),
    ("DELETE", "/api/v1/rides", {"POST", "GET"}),
    ("PUT", "/api/v1/rides/1", {"GET", "POST", "DELETE"}),
    ("PATCH", "/api/v1/rides/1", {"GET", "POST", "DELETE"}),
    ("POST", "/api/v1/rides/count", {"GET"}),
    ("DELETE", "/api/v1/rides/count", {"GET"}),
    ("POST", "/api/v1/_count", {"GET", "DELETE"}),
    ("PUT", "/api/v1/_count", {"GET", "DELETE"}),
])
def test_rides_wrong_method_is_405_with_allow(api, two_users, method, path, allow):
    api.add_ride("alice")
    r = api.req(method, EDGE + path, json={"username": "bob"})
    assert_json_error(r, 405)
    assert {m.strip() for m in r.headers["Allow"].split(",")} == allow
    assert api.ride(1)["users"] == []
    assert api.ride_count() == 1


@pytest.mark.parametrize("path", [
    "/", "/api", "/api/v1", "/api/v1/ride", "/api/v1/rides/1/users",
    "/api/v2/rides", "/api/v1/rides/", "/api/v1/rides//1", "/index.html",
])
def test_unknown_paths_are_404_json(api, path):
    assert_json_error(api.get(path), 404)
    assert_json_error(api.post(path, json={}), 404)
