"""What changes between the stages: shared data, connections held, failures seen."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.todolist.model import Page
from examples.todolist.settings import Settings
from tests.todolist.conftest import (
    FRAMEWORKS,
    SECRET,
    Combo,
    Instance,
    MakeInstance,
    ServiceThread,
    body,
    content_type,
    free_socket,
    new_user,
    todo_api,
)


def texts(fn: Instance, token: str) -> list[str]:
    return [t["text"] for t in body(fn.request("GET", "/api/todos", token=token))["items"]]


def test_two_instances_share_one_list_unless_the_state_is_in_memory(
    make_instance: MakeInstance, combo: Combo
) -> None:
    """The stateful stage's flaw: each instance has its own list. A FaaS platform
    sends one user's requests to whichever instance is free, so a todo added
    through one is missing from the other. The pooled and BaaS stages keep the
    list outside the instance, and every instance sees the same one."""
    first, second = make_instance(), make_instance()
    token = first.login(new_user())
    created = first.request("POST", "/api/todos", {"text": "added on the first"}, token=token)
    assert created.status == 201
    second.request("POST", "/api/todos", {"text": "added on the second"}, token=token)
    if combo[1] == "stateful":
        assert texts(first, token) == ["added on the first"]
        assert texts(second, token) == ["added on the second"]
        # The same key names different todos on different instances.
        assert body(created)["id"] == 1
    else:
        both = ["added on the second", "added on the first"]
        assert texts(first, token) == both
        assert texts(second, token) == both


# -- failures below the API become clean problems --------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'todos.db'}"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_services_429_reaches_the_user_with_retry_after(
    framework: str, sqlite_file: str
) -> None:
    service = ServiceThread(
        Settings(stage="baas", secret=SECRET, database_url=sqlite_file), rate=1, burst=2
    )
    settings = Settings(stage="baas", secret=SECRET, baas_url=service.url, baas_retries=0)
    fn = Instance(framework, settings)
    try:
        token = fn.login()
        statuses = []
        for n in range(4):
            result = fn.request("POST", "/api/todos", {"text": f"t{n}"}, token=token)
            statuses.append(result.status)
        assert statuses[:2] == [201, 201]
        assert 429 in statuses
        refused = fn.request("GET", "/api/todos", token=token)
        assert refused.status == 429
        assert content_type(refused).startswith("application/problem+json")
        assert int(refused.header("retry-after") or 0) >= 1
        assert body(refused)["detail"] == "too many requests"
    finally:
        fn.close()
        service.stop()


def test_the_service_takes_its_limits_from_todo_rate_and_todo_burst(sqlite_file: str) -> None:
    """``python -m examples.todolist`` builds the service with ``build_service(settings)``
    and no limits of its own: the environment's reach it through the settings."""
    env = {"TODO_RATE": "1", "TODO_BURST": "3", "DATABASE_URL": sqlite_file, "TODO_SECRET": SECRET}
    settings = Settings.from_env(env).but(stage="baas")
    assert (settings.rate, settings.burst) == (1, 3)
    service = ServiceThread(settings)  # build_service(settings), as the local runner calls it
    fn = Instance("flask", settings.but(baas_url=service.url, baas_retries=0))
    try:
        token = fn.login()
        statuses = [fn.request("GET", "/api/todos", token=token).status for _ in range(6)]
        # Listing costs no more than one call here; the burst lets three through at once.
        assert statuses[:3] == [200, 200, 200], statuses
        assert 429 in statuses[3:], statuses  # one token a second: the next ones wait
    finally:
        fn.close()
        service.stop()


def test_rate_settings_default_and_refuse_nonsense() -> None:
    assert (Settings.from_env({}).rate, Settings.from_env({}).burst) == (50, 100)
    for name, raw in (("TODO_RATE", "fast"), ("TODO_BURST", "-1"), ("TODO_RATE", "\u00b2")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: raw})
    with pytest.raises(ValueError, match="TODO_RATE must be at least 1"):
        Settings.from_env({"TODO_RATE": "0"})


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_unreachable_service_is_a_503_with_retry_after(framework: str) -> None:
    sock = free_socket()  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    fn = Instance(framework, Settings(stage="baas", secret=SECRET, baas_url=url, baas_retries=0))
    try:
        token = fn.login()
        for method, path, payload in (
            ("GET", "/api/todos", None),
            ("POST", "/api/todos", {"text": "lost?"}),
            ("GET", "/api/rule", None),
        ):
            result = fn.request(method, path, payload, token=token)
            assert result.status == 503, result.body
            assert result.header("retry-after") == "1"
            assert body(result)["detail"] == "the data service is unreachable"
    finally:
        fn.close()
        sock.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_unreachable_database_is_a_503_not_a_hang(framework: str) -> None:
    sock = free_socket()
    url = f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/todos"
    fn = Instance(framework, Settings(stage="pooled", secret=SECRET, database_url=url))
    try:
        token = fn.login()
        result = fn.request("POST", "/api/todos", {"text": "nowhere to go"}, token=token)
        assert result.status == 503, result.body
        assert body(result)["detail"] == "the database is unavailable"
        assert result.header("retry-after") == "1"
    finally:
        fn.close()
        sock.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_unexpected_error_is_a_generic_500(
    framework: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fn = Instance(framework, Settings(stage="stateful", secret=SECRET))
    try:

        async def broken(*args: object) -> Page:
            raise RuntimeError("password=hunter2 in a stack trace")

        monkeypatch.setattr(todo_api(fn.app).store, "list", broken)
        result = fn.request("GET", "/api/todos", token=fn.login())
        assert result.status == 500
        assert content_type(result).startswith("application/problem+json")
        assert body(result)["detail"] == "the function failed; see its logs"
        assert b"hunter2" not in result.body
        assert "hunter2" in caplog.text  # logged for the operator, not sent to the user
    finally:
        fn.close()


# -- connections held per stage, as PostgreSQL counts them ---------------------------------------


@pytest.fixture
def private_pg(pg_url: str) -> Iterator[tuple[str, Any]]:
    """A database of this test's own, and a function counting its backends."""
    import psycopg

    name = f"todolist_conns_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def backends() -> int:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    yield pg_url.rsplit("/", 1)[0] + f"/{name}", backends
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_pooled_instances_each_hold_a_connection_baas_instances_hold_none(
    framework: str, private_pg: tuple[str, Any]
) -> None:
    url, backends = private_pg
    instances = 4
    pooled = [
        Instance(framework, Settings(stage="pooled", secret=SECRET, database_url=url))
        for _ in range(instances)
    ]
    token = pooled[0].login()
    for fn in pooled:
        fn.request("POST", "/api/todos", {"text": "pooled"}, token=token)
    assert backends() == instances  # one per instance, kept while it is warm
    for fn in pooled:
        fn.close()
    deadline = time.monotonic() + 5
    while backends() and time.monotonic() < deadline:  # backends exit just after the close
        time.sleep(0.05)
    assert backends() == 0

    service = ServiceThread(Settings(stage="baas", secret=SECRET, database_url=url), pool_size=2)
    baas = [
        Instance(framework, Settings(stage="baas", secret=SECRET, baas_url=service.url))
        for _ in range(instances * 2)
    ]
    try:
        for fn in baas:
            assert fn.request("POST", "/api/todos", {"text": "baas"}, token=token).status == 201
        assert texts(baas[0], token).count("baas") == instances * 2
        assert 1 <= backends() <= 2  # the service's pool, however many functions
    finally:
        for fn in baas:
            fn.close()
        service.stop()
