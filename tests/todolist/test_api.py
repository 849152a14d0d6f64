"""The todo API, the same for Flask and FastAPI in every stage, through the adapter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt

from faasify.local.events import EVENT_FORMATS, HTTPResult, build_event
from tests.todolist.conftest import SECRET, Instance, body, content_type, new_user, todo_api

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def assert_problem(result: HTTPResult, status: int) -> dict[str, Any]:
    assert result.status == status, result.body
    assert content_type(result).startswith("application/problem+json")
    problem: dict[str, Any] = body(result)
    assert set(problem) >= PROBLEM_KEYS
    assert problem["status"] == status
    assert "Traceback" not in problem["detail"]
    return problem


def texts(fn: Instance, token: str) -> list[str]:
    result = fn.request("GET", "/api/todos", token=token, query="limit=100")
    assert result.status == 200, result.body
    return [item["text"] for item in body(result)["items"]]


# -- identity ----------------------------------------------------------------------------


def test_login_issues_a_token_for_the_user_and_current_user_reads_it(fn: Instance) -> None:
    name = new_user()
    answer = body(fn.request("POST", "/api/login", {"username": name}))
    claims = jwt.decode(answer["token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == name
    assert answer["user"]["name"] == name
    assert answer["user"]["stage"] == fn.settings.stage  # the badge, right after signing in
    me = fn.request("GET", "/api/currentUser", token=answer["token"])
    assert me.status == 200
    assert body(me) == {
        "success": True,
        "data": {
            "name": name,
            "userid": name,
            "avatar": "",
            "access": "user",
            "stage": fn.settings.stage,  # the page shows which architecture answers
        },
    }


LOGIN_CASES = [
    (b"{not json", 400),
    (b"[]", 400),
    (b'{"username": 5}', 400),
    (b'{"username": "a", "password": "x"}', 400),
    (b'{"username": ""}', 422),
    (b'{"username": "has space"}', 422),
    (b"{}", 422),
]


def test_login_refuses_bad_input(fn: Instance) -> None:
    for payload, status in LOGIN_CASES:
        assert_problem(fn.request("POST", "/api/login", raw=payload), status)


def expired_token(name: str) -> str:
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    return jwt.encode({"sub": name, "exp": past}, SECRET, algorithm="HS256")


def forged_token(name: str) -> str:
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    return jwt.encode({"sub": name, "exp": future}, "another-secret-0123456789abcdef-xyz", "HS256")


#: A call of every route, with a body where it takes one.
UNAUTHENTICATED_CASES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/todos", None),
    ("POST", "/api/todos", {"text": "sneaky"}),
    ("PATCH", "/api/todos/1", {"done": True}),
    ("DELETE", "/api/todos/1", None),
    ("GET", "/api/currentUser", None),
    ("GET", "/api/rule", None),
    ("POST", "/api/rule", {"name": "sneaky"}),
    ("PUT", "/api/rule", {"key": 1, "status": 1}),
    ("DELETE", "/api/rule", {"key": [1]}),
]


def test_every_call_needs_a_valid_token_and_a_refused_one_writes_nothing(fn: Instance) -> None:
    name = new_user()
    token = fn.login(name)
    mine = body(fn.request("POST", "/api/todos", {"text": "mine"}, token=token))["id"]
    for method, path, payload in UNAUTHENTICATED_CASES:
        path = path.replace("/1", f"/{mine}")
        if isinstance(payload, dict) and "key" in payload:
            payload = {**payload, "key": [mine] if isinstance(payload["key"], list) else mine}
        for bad in (None, "not-a-jwt", expired_token(name), forged_token(name)):
            if bad is None:
                result = fn.request(method, path, payload)
            else:
                result = fn.request(method, path, payload, token=bad)
            problem = assert_problem(result, 401)
            assert result.header("www-authenticate") == "Bearer"
            if bad is not None:  # one fixed answer: the reason a token failed stays in the log
                assert problem["detail"] == "the token is not valid"
        basic = fn.request(method, path, payload, headers=[("authorization", "Basic YTpi")])
        assert_problem(basic, 401)
    assert texts(fn, token) == ["mine"]
    assert body(fn.request("GET", "/api/todos", token=token))["items"][0]["done"] is False


# -- the native API -------------------------------------------------------------------------


def test_create_list_complete_edit_delete(fn: Instance) -> None:
    token = fn.login()
    created = fn.request("POST", "/api/todos", {"text": "  buy milk  "}, token=token)
    assert created.status == 201
    assert content_type(created).startswith("application/json")
    todo = body(created)
    assert set(todo) == {"id", "text", "done", "createdAt", "updatedAt"}
    assert todo["text"] == "buy milk"
    assert todo["done"] is False
    assert dt.datetime.fromisoformat(todo["createdAt"].replace("Z", "+00:00")).tzinfo
    assert todo["createdAt"] == todo["updatedAt"]  # one instant, not two calls of now()
    listed = body(fn.request("GET", "/api/todos", token=token))["items"][0]
    assert listed["createdAt"] == listed["updatedAt"] == todo["createdAt"]
    second = body(fn.request("POST", "/api/todos", {"text": "walk"}, token=token))
    assert second["id"] != todo["id"]
    assert texts(fn, token) == ["walk", "buy milk"]  # newest first

    done = fn.request("PATCH", f"/api/todos/{todo['id']}", {"done": True}, token=token)
    assert done.status == 200
    assert body(done)["done"] is True
    assert body(done)["text"] == "buy milk"
    assert body(done)["updatedAt"] >= todo["updatedAt"]
    edited = fn.request("PATCH", f"/api/todos/{todo['id']}", {"text": "oat milk"}, token=token)
    assert body(edited)["text"] == "oat milk"
    assert body(edited)["done"] is True
    undone = fn.request(
        "PATCH", f"/api/todos/{todo['id']}", {"done": False, "text": "x"}, token=token
    )
    assert body(undone)["done"] is False

    deleted = fn.request("DELETE", f"/api/todos/{todo['id']}", token=token)
    assert deleted.status == 204
    assert deleted.body == b""
    assert texts(fn, token) == ["walk"]
    assert_problem(fn.request("DELETE", f"/api/todos/{todo['id']}", token=token), 404)


def test_pages_follow_the_cursor_without_gaps_or_repeats(fn: Instance) -> None:
    token = fn.login()
    for n in range(7):
        fn.request("POST", "/api/todos", {"text": f"todo {n}"}, token=token)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = body(fn.request("GET", "/api/todos", token=token, query=query))
        seen += [item["text"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"todo {n}" for n in reversed(range(7))]
    for query in ("limit=0", "limit=101", "limit=abc", "cursor=bm90LWEtY3Vyc29y", "page=2"):
        assert_problem(fn.request("GET", "/api/todos", token=token, query=query), 400)


def test_the_export_is_every_todo_of_the_user_as_csv(fn: Instance) -> None:
    import csv
    import io

    todo_api(fn.app).export_page_size = 2  # three pages for five todos
    token = fn.login()
    texts = ["one", "=SUM(A1)", 'with "quotes", and a comma', "four", "-five"]
    for text in texts:
        fn.request("POST", "/api/todos", {"text": text}, token=token)
    fn.request("POST", "/api/todos", {"text": "not mine"}, token=fn.login())
    result = fn.request("GET", "/api/todos/export.csv", token=token)
    assert result.status == 200
    assert content_type(result).startswith("text/csv")
    assert result.header("content-disposition") == 'attachment; filename="todos.csv"'
    rows = list(csv.reader(io.StringIO(result.body.decode())))
    assert rows[0] == ["id", "text", "done", "createdAt", "updatedAt"]
    # Newest first, the user's only; formula-like texts quoted out for spreadsheets.
    assert [row[1] for row in rows[1:]] == [
        "'-five",
        "four",
        'with "quotes", and a comma',
        "'=SUM(A1)",
        "one",
    ]
    assert {row[2] for row in rows[1:]} == {"false"}
    assert_problem(fn.request("GET", "/api/todos/export.csv"), 401)


def test_the_export_streams_a_page_at_a_time(fn: Instance) -> None:
    from faasify.core.streaming import open_stream

    todo_api(fn.app).export_page_size = 2
    token = fn.login()
    for n in range(5):
        fn.request("POST", "/api/todos", {"text": f"todo {n}"}, token=token)
    event = build_event(
        "function-url",
        "GET",
        "/api/todos/export.csv",
        "",
        [("authorization", f"Bearer {token}")],
        b"",
    )
    request = fn.handler._codecs.detect(event).decode(event, None)
    stream = open_stream(fn.handler.hosted, request)
    stream.start()
    chunks = [stream.ready(), *stream.chunks()]
    stream.finish(5.0)
    # The header with the first page, then a chunk per page as it is fetched.
    assert [chunk.count(b"\r\n") for chunk in chunks if chunk] == [3, 2, 1]


def test_users_see_only_their_own_todos(fn: Instance) -> None:
    alice, bob = fn.login(), fn.login()
    fn.request("POST", "/api/todos", {"text": "alice's"}, token=alice)
    fn.request("POST", "/api/todos", {"text": "bob's"}, token=bob)
    assert texts(fn, alice) == ["alice's"]
    assert texts(fn, bob) == ["bob's"]


def test_text_of_500_characters_is_kept_whole(fn: Instance) -> None:
    token = fn.login()
    text = "é" * 500
    created = fn.request("POST", "/api/todos", {"text": text}, token=token)
    assert created.status == 201, created.body
    assert texts(fn, token) == [text]


# -- bad input changes nothing ----------------------------------------------------------------

OTHER = "other"  # stands for the id of another user's todo
MINE = "mine"  # stands for the id of the caller's own todo


BAD_INPUT = [
    ("POST", "/api/todos", {"text": ""}, 422),
    ("POST", "/api/todos", {"text": "   "}, 422),
    ("POST", "/api/todos", {"text": "x" * 10_000}, 422),
    ("POST", "/api/todos", {"text": "x" * 501}, 422),
    ("POST", "/api/todos", {}, 422),
    ("POST", "/api/todos", b"{malformed", 400),
    ("POST", "/api/todos", b"", 400),
    ("POST", "/api/todos", b'"just a string"', 400),
    ("POST", "/api/todos", {"text": "ok", "owner": "someone"}, 400),
    ("POST", "/api/todos", {"text": "ok", "id": 1}, 400),
    ("POST", "/api/todos", {"text": 5}, 400),
    ("POST", "/api/todos", {"text": ["a"]}, 400),
    ("PATCH", f"/api/todos/{MINE}", {"text": ""}, 422),
    ("PATCH", f"/api/todos/{MINE}", {"text": "y" * 10_000}, 422),
    ("PATCH", f"/api/todos/{MINE}", {"done": "yes"}, 400),
    ("PATCH", f"/api/todos/{MINE}", {"done": 1}, 400),
    ("PATCH", f"/api/todos/{MINE}", {"done": True, "color": "red"}, 400),
    ("PATCH", f"/api/todos/{MINE}", {}, 422),
    ("PATCH", f"/api/todos/{MINE}", b"{", 400),
    ("PATCH", "/api/todos/999999999", {"done": True}, 404),
    ("PATCH", "/api/todos/abc", {"done": True}, 404),
    ("PATCH", "/api/todos/99999999999999999999999", {"done": True}, 404),
    ("PATCH", f"/api/todos/{OTHER}", {"done": True}, 404),
    ("DELETE", "/api/todos/999999999", None, 404),
    ("DELETE", "/api/todos/-1", None, 404),
    ("DELETE", f"/api/todos/{OTHER}", None, 404),
    ("POST", "/api/rule", {"name": ""}, 422),
    ("POST", "/api/rule", {"name": "z" * 10_000}, 422),
    ("POST", "/api/rule", {"name": "ok", "desc": "d" * 501}, 422),
    ("POST", "/api/rule", {"name": "ok", "status": 1}, 400),
    ("PUT", "/api/rule", {"key": MINE, "status": 2}, 422),
    ("PUT", "/api/rule", {"key": MINE, "status": "1"}, 400),
    ("PUT", "/api/rule", {"key": MINE}, 422),
    ("PUT", "/api/rule", {"name": "no key"}, 422),
    ("PUT", "/api/rule", {"key": "1", "name": "x"}, 400),
    ("PUT", "/api/rule", {"key": OTHER, "name": "stolen"}, 404),
    ("PUT", "/api/rule", {"key": 999999999, "name": "ghost"}, 404),
    ("DELETE", "/api/rule", {"key": [MINE, 999999999]}, 404),
    ("DELETE", "/api/rule", {"key": [MINE, OTHER]}, 404),
    ("DELETE", "/api/rule", {"key": []}, 422),
    ("DELETE", "/api/rule", {"key": MINE}, 400),
    ("DELETE", "/api/rule", {"key": ["1"]}, 400),
    ("DELETE", "/api/rule", b"nope", 400),
    # Digits that are not ASCII ("²" passes str.isdigit, then int() refuses it).
    ("GET", "/api/todos?limit=%C2%B2", None, 400),
    ("GET", "/api/todos?limit=\u00b2", None, 400),
    ("GET", "/api/todos?limit=\u0663", None, 400),  # ARABIC-INDIC DIGIT THREE
    ("GET", "/api/todos?limit=" + "9" * 5000, None, 400),
    ("GET", "/api/rule?current=%C2%B2", None, 400),
    ("GET", "/api/rule?pageSize=%C2%B2", None, 400),
    ("PATCH", "/api/todos/%C2%B2", {"done": True}, 404),
    ("PATCH", "/api/todos/\u00b2", {"done": True}, 404),
    ("DELETE", "/api/todos/%C2%B2", None, 404),
    # JSON nested deeper than the parser's recursion allows.
    ("POST", "/api/todos", b"[" * 100_000, 400),
    ("POST", "/api/todos", b'{"text": ' + b"[" * 100_000, 400),
    ("PUT", "/api/rule", b"{" * 100_000, 400),
    # Text a store cannot keep: a lone surrogate (not UTF-8), NUL (PostgreSQL refuses it).
    ("POST", "/api/todos", {"text": "\ud800"}, 422),
    ("POST", "/api/todos", {"text": "a\x00b"}, 422),
    ("POST", "/api/todos", b'{"text": "ok \\udfff"}', 422),
    ("POST", "/api/todos", b'{"text": "ok \\u0000"}', 422),
    ("PATCH", f"/api/todos/{MINE}", {"text": "\ud800"}, 422),
    ("PATCH", f"/api/todos/{MINE}", {"text": "\x00"}, 422),
    ("POST", "/api/rule", {"name": "\udc80"}, 422),
    ("POST", "/api/rule", {"name": "ok", "desc": "\ud800"}, 422),
    ("POST", "/api/rule", {"name": "ok", "desc": "d\x00"}, 422),
    ("PUT", "/api/rule", {"key": MINE, "name": "n\x00"}, 422),
    ("PUT", "/api/rule", {"key": MINE, "desc": "\ud800"}, 422),
]


def test_bad_input_is_a_clear_problem_and_changes_nothing(fn: Instance) -> None:
    """Every case meets the same two users' todos, which must stay as they were."""
    me, other = fn.login(), fn.login()
    created = fn.request("POST", "/api/todos", {"text": "keep me"}, token=me)
    assert created.status == 201, created.body
    ids = {MINE: body(created)["id"]}
    ids[OTHER] = body(fn.request("POST", "/api/todos", {"text": "theirs"}, token=other))["id"]
    before = (
        body(fn.request("GET", "/api/todos", token=me)),
        body(fn.request("GET", "/api/todos", token=other)),
    )
    failures = []
    for case in BAD_INPUT:
        try:
            check_bad_input(fn, me, ids, *case)
            after = (
                body(fn.request("GET", "/api/todos", token=me)),
                body(fn.request("GET", "/api/todos", token=other)),
            )
            assert after == before, f"changed: {after}"
        except AssertionError as exc:
            failures.append(f"{str(case[:2])[:80]} {str(case[2])[:60]}: {exc}")
    assert not failures, "\n".join(failures)


def check_bad_input(
    fn: Instance, me: str, ids: dict[str, int], method: str, path: str, payload: Any, status: int
) -> None:
    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return ids.get(value, value) if isinstance(value, str) else value

    path = path.replace(MINE, str(ids[MINE])).replace(OTHER, str(ids[OTHER]))
    path, _, query = path.partition("?")
    if isinstance(payload, bytes):
        result = fn.request(method, path, raw=payload, token=me, query=query)
    else:
        result = fn.request(method, path, resolve(payload), token=me, query=query)
    problem = assert_problem(result, status)
    assert problem["detail"]


def test_unknown_routes_and_methods_are_problems(fn: Instance) -> None:
    token = fn.login()
    assert_problem(fn.request("GET", "/api/nothing", token=token), 404)
    wrong = fn.request("PUT", "/api/todos", {"text": "x"}, token=token)
    assert_problem(wrong, 405)
    assert texts(fn, token) == []


# -- the course API -----------------------------------------------------------------------------


def test_course_api_shapes_real_pages_and_keys_never_reused(fn: Instance) -> None:
    name = new_user()
    token = fn.login(name)
    created = fn.request("POST", "/api/rule", {"name": "first", "desc": "d1"}, token=token)
    assert created.status == 200
    first = body(created)
    assert first == {
        **first,
        "name": "first",
        "desc": "d1",
        "owner": name,
        "status": 0,
        "progress": 0,
        "disabled": False,
        "href": "",
        "avatar": "",
        "callNo": 0,
    }
    assert set(first) == {
        "key", "name", "desc", "owner", "status", "createdAt", "updatedAt",
        "progress", "disabled", "href", "avatar", "callNo",
    }  # fmt: skip
    keys = [first["key"]]
    for n in range(2, 13):
        payload = {"name": f"rule {n}", "method": "post"}  # the course front end's extra field
        keys.append(body(fn.request("POST", "/api/rule", payload, token=token))["key"])
    assert len(set(keys)) == 12
    assert first["createdAt"] == first["updatedAt"]

    page = body(fn.request("GET", "/api/rule", token=token, query="current=1&pageSize=5"))
    assert page["success"] is True
    assert (page["total"], page["pageSize"], page["current"]) == (12, 5, 1)
    assert [r["key"] for r in page["data"]] == keys[::-1][:5]
    last = body(fn.request("GET", "/api/rule", token=token, query="current=3&pageSize=5"))
    assert [r["key"] for r in last["data"]] == keys[::-1][10:]
    beyond = body(fn.request("GET", "/api/rule", token=token, query="current=9&pageSize=5"))
    assert (beyond["data"], beyond["total"]) == ([], 12)
    default = body(fn.request("GET", "/api/rule", token=token))
    assert (len(default["data"]), default["pageSize"], default["current"]) == (10, 10, 1)
    for query in ("current=0", "pageSize=0", "pageSize=1000", "current=x"):
        assert_problem(fn.request("GET", "/api/rule", token=token, query=query), 400)

    updated = fn.request("PUT", "/api/rule", {"key": first["key"], "status": 1}, token=token)
    assert updated.status == 200
    assert (body(updated)["status"], body(updated)["progress"]) == (1, 100)
    assert body(updated)["name"] == "first"
    renamed = body(
        fn.request(
            "PUT", "/api/rule", {"key": first["key"], "name": "1st", "desc": ""}, token=token
        )
    )
    assert (renamed["name"], renamed["desc"], renamed["status"]) == ("1st", "", 1)

    gone = keys[-1]
    deleted = fn.request("DELETE", "/api/rule", {"key": [gone, keys[-2]]}, token=token)
    assert deleted.status == 200
    answer = body(deleted)
    assert answer["pagination"] == {"total": 10, "pageSize": 10, "current": 1}
    listed = [r["key"] for r in answer["list"]]
    assert gone not in listed  # the list as it is after the delete
    assert listed == keys[::-1][2:12]
    again = body(fn.request("POST", "/api/rule", {"name": "after delete"}, token=token))
    assert again["key"] not in keys  # a new key, never a reused one
    assert_problem(fn.request("DELETE", "/api/rule", {"key": [gone]}, token=token), 404)


def test_both_apis_see_the_same_todos(fn: Instance) -> None:
    token = fn.login()
    todo = body(fn.request("POST", "/api/todos", {"text": "shared"}, token=token))
    rules = body(fn.request("GET", "/api/rule", token=token))["data"]
    assert [(r["key"], r["name"], r["status"]) for r in rules] == [(todo["id"], "shared", 0)]
    fn.request("PUT", "/api/rule", {"key": todo["id"], "status": 1}, token=token)
    assert body(fn.request("GET", "/api/todos", token=token))["items"][0]["done"] is True


# -- the page and the event shapes -------------------------------------------------------------


def test_the_page_and_its_assets_are_served(fn: Instance) -> None:
    page = fn.request("GET", "/")
    assert page.status == 200
    assert content_type(page).startswith("text/html")
    assert page.body
    css = fn.request("GET", "/static/style.css")
    assert css.status == 200
    assert content_type(css).startswith("text/css")
    assert_problem(fn.request("GET", "/static/nothing-here.js"), 404)


def test_every_event_shape_reaches_the_same_api(fn: Instance) -> None:
    for event_format in EVENT_FORMATS:
        check_event_shape(fn, event_format)


def check_event_shape(fn: Instance, event_format: Any) -> None:
    token = fn.login()
    created = fn.request(
        "POST",
        "/api/todos",
        {"text": "via " + event_format},
        token=token,
        event_format=event_format,
    )
    assert created.status == 201, created.body
    listed = fn.request(
        "GET", "/api/todos", token=token, query="limit=5", event_format=event_format
    )
    assert [t["text"] for t in body(listed)["items"]] == ["via " + event_format]
