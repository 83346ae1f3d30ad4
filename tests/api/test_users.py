"""Users service, every row of API.md, through the edge."""
import pytest

from conftest import (EDGE, PASSWORD, RIDES, USERS, assert_json_error,
                      assert_no_body, sha1)


def test_add_user_returns_201_and_empty_object(api):
    r = api.put("/api/v1/users", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 201
    assert r.json() == {}
    assert r.headers["Content-Type"].startswith("application/json")
    assert api.users() == ["alice"]


def test_add_user_password_is_case_insensitive_hex(api):
    r = api.put("/api/v1/users", json={"username": "u", "password": PASSWORD.upper()})
    assert r.status_code == 201


def test_usernames_are_case_sensitive(api):
    api.add_user("alice")
    api.add_user("Alice")
    assert api.users() == ["alice", "Alice"]


def test_add_user_taken_username_is_400(api):
    api.add_user("alice")
    r = api.put("/api/v1/users", json={"username": "alice", "password": sha1("other")})
    assert_json_error(r, 400)
    assert api.users() == ["alice"]


@pytest.mark.parametrize("body", [
    {"password": PASSWORD},
    {"username": "u"},
    {},
    {"username": "", "password": PASSWORD},
    {"username": None, "password": PASSWORD},
    {"username": 5, "password": PASSWORD},
    {"username": ["u"], "password": PASSWORD},
    {"username": {"u": 1}, "password": PASSWORD},
    {"username": True, "password": PASSWORD},
    {"username": "u", "password": None},
    {"username": "u", "password": 123},
    {"username": "u", "password": ""},
], ids=lambda b: repr(b)[:60])
def test_add_user_missing_empty_or_wrong_typed_field_is_400(api, body):
    r = api.put("/api/v1/users", json=body)
    assert_json_error(r, 400)
    assert api.users() == []


@pytest.mark.parametrize("password", [
    PASSWORD[:39],
    PASSWORD + "0",
    PASSWORD[:39] + "g",
    PASSWORD[:39] + " ",
    " " + PASSWORD[:39],
    "secret",
    "0x" + PASSWORD[:38],
    "\u00e9" * 40,
])
def test_add_user_bad_password_is_400(api, password):
    r = api.put("/api/v1/users", json={"username": "u", "password": password})
    assert_json_error(r, 400)
    assert api.users() == []


def test_list_users_in_creation_order(api):
    for name in ["zoe", "adam", "mia", "bob"]:
        api.add_user(name)
    r = api.get("/api/v1/users")
    assert r.status_code == 200
    assert r.json() == ["zoe", "adam", "mia", "bob"]


def test_list_users_empty_is_204_without_body(api):
    assert_no_body(api.get("/api/v1/users"))


def test_get_user_exists_is_200(api):
    api.add_user("alice")
    r = api.get("/api/v1/users/alice")
    assert r.status_code == 200
    assert r.json() == {"username": "alice"}


def test_get_user_missing_is_404_json(api):
    api.add_user("alice")
    assert_json_error(api.get("/api/v1/users/bob"), 404)
    assert_json_error(api.get("/api/v1/users/ALICE"), 404)


def test_delete_user_is_200_then_400(api):
    api.add_user("alice")
    api.add_user("bob")
    r = api.delete("/api/v1/users/alice")
    assert r.status_code == 200 and r.json() == {}
    assert api.users() == ["bob"]
    assert_json_error(api.delete("/api/v1/users/alice"), 400)
    assert api.users() == ["bob"]


def test_delete_missing_user_is_400(api):
    assert_json_error(api.delete("/api/v1/users/nobody"), 400)


def test_delete_user_deletes_their_rides_and_joins(api):
    api.add_user("alice")
    api.add_user("bob")
    api.add_user("carol")
    api.add_ride("alice")                 # ride 1
    api.add_ride("bob")                   # ride 2
    assert api.post("/api/v1/rides/2", json={"username": "alice"}).status_code == 200
    assert api.post("/api/v1/rides/2", json={"username": "carol"}).status_code == 200
    assert api.delete("/api/v1/users/alice").status_code == 200
    assert api.ride(1) is None
    assert api.ride(2)["users"] == ["carol"]
    assert api.ride_count() == 1


def test_deleted_user_can_be_added_again(api):
    api.add_user("alice")
    assert api.delete("/api/v1/users/alice").status_code == 200
    api.add_user("alice")
    assert api.users() == ["alice"]


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/api/v1/users", {"PUT", "GET"}),
    ("DELETE", "/api/v1/users", {"PUT", "GET"}),
    ("PATCH", "/api/v1/users", {"PUT", "GET"}),
    ("PUT", "/api/v1/users/alice", {"GET", "DELETE"}),
    ("POST", "/api/v1/users/alice", {"GET", "DELETE"}),
])
def test_users_wrong_method_is_405_with_allow(api, method, path, allow):
    r = api.req(method, EDGE + path, json={})
    assert_json_error(r, 405)
    got = {m.strip() for m in r.headers["Allow"].split(",")}
    assert got == allow


@pytest.mark.parametrize("path", [
    "/api/v1/users/alice/rides",
    "/api/v1/users/",
    "/api/v1/user",
    "/api/v1/usersX",
])
def test_unknown_users_paths_are_404(api, path):
    assert_json_error(api.get(path), 404)


@pytest.mark.parametrize("base", [USERS, RIDES], ids=["users", "rides"])
@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty-object"])
def test_db_clear_deletes_everything_and_restarts_ride_ids(api, base, body):
    api.add_user("alice")
    api.add_user("bob")
    api.add_ride("alice")
    api.add_ride("alice")
    kw = {} if body is None else {"json": body}
    r = api.post("/api/v1/db/clear", base=base, **kw)
    assert r.status_code == 200 and r.json() == {}
    assert api.users() == []
    assert api.ride_count() == 0
    assert api.ride(1) is None
    api.add_user("carol")
    api.add_ride("carol", source=5, destination=6)
    ride = api.ride(1)
    assert ride["Created_by"] == "carol" and ride["source"] == 5


@pytest.mark.parametrize("body", [b"[]", b"{\"all\": true}", b"nonsense"])
def test_db_clear_with_other_body_is_400_and_clears_nothing(api, body):
    api.add_user("alice")
    r = api.post("/api/v1/db/clear", base=USERS, data=body)
    assert_json_error(r, 400)
    assert api.users() == ["alice"]


@pytest.mark.parametrize("base", [USERS, RIDES], ids=["users", "rides"])
def test_db_clear_wrong_method_is_405(api, base):
    r = api.get("/api/v1/db/clear", base=base)
    assert_json_error(r, 405)
    assert r.headers["Allow"] == "POST"
