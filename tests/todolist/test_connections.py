"""The panel's connection counts, from the database's own view and from the OS's."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from examples.todolist.connections import (
    Connections,
    PostgresConnections,
    SQLiteHandles,
    counter_for,
)
from examples.todolist.settings import Settings
from tests.todolist.conftest import SECRET, Instance, ServiceThread


def _until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def test_the_counter_follows_the_database_url() -> None:
    assert isinstance(counter_for("postgresql+psycopg://u@h/db"), PostgresConnections)
    asyncpg_counter = counter_for("postgresql+asyncpg://u@h/db")
    assert isinstance(asyncpg_counter, PostgresConnections)
    assert asyncpg_counter.url == "postgresql://u@h/db"
    sqlite = counter_for("sqlite:////tmp/some/todos.db")
    assert isinstance(sqlite, SQLiteHandles)
    assert sqlite.path == os.path.realpath("/tmp/some/todos.db")
    assert counter_for("sqlite://") is None  # in memory: nothing to count
    assert counter_for("mysql://u@h/db") is None


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_sqlite_connections_are_the_open_handles_on_the_file(tmp_path: Path) -> None:
    """Each pooled instance holds one handle on the database file while warm, none
    once closed; a stateful instance never opens it."""
    url = f"sqlite:///{tmp_path / 'todos.db'}"
    handles = SQLiteHandles(str(tmp_path / "todos.db"))
    made = []
    try:
        stateful = Instance("flask", Settings(stage="stateful", secret=SECRET, database_url=url))
        made.append(stateful)
        stateful.request("GET", "/api/todos", token=stateful.login())
        assert handles.handles(os.getpid()) == 0
        for framework in ("flask", "fastapi"):
            fn = Instance(framework, Settings(stage="pooled", secret=SECRET, database_url=url))
            made.append(fn)
            assert fn.request("GET", "/api/todos", token=fn.login()).status == 200
        assert handles.handles(os.getpid()) == 2
        counted = asyncio.run(handles.count({"pooled": [os.getpid()]}))
        assert counted.functions == {"stateful": 0, "pooled": 2, "baas": 0}
    finally:
        for fn in made:
            fn.close()
    _until(lambda: handles.handles(os.getpid()) == 0)


@pytest.fixture
def private_pg(pg_url: str) -> Iterator[str]:
    import psycopg

    name = f"todolist_panel_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_postgres_connections_are_counted_per_holder_by_application_name(
    private_pg: str,
) -> None:
    """pg_stat_activity, by application_name: the pooled functions' connections, the
    service's pool, and neither the counter's own connection nor anyone else's."""
    counter = PostgresConnections(private_pg)
    loop = asyncio.new_event_loop()

    def count() -> Connections:
        return loop.run_until_complete(counter.count({}))

    import psycopg

    bystander = psycopg.connect(private_pg)  # a connection nobody labelled
    pooled = [
        Instance(fw, Settings(stage="pooled", secret=SECRET, database_url=private_pg))
        for fw in ("flask", "fastapi", "flask")
    ]
    service = ServiceThread(
        Settings(stage="baas", secret=SECRET, database_url=private_pg), pool_size=2
    )
    baas = [
        Instance("flask", Settings(stage="baas", secret=SECRET, baas_url=service.url))
        for _ in range(4)
    ]
    try:
        token = pooled[0].login()
        for fn in pooled + baas:
            assert fn.request("POST", "/api/todos", {"text": "x"}, token=token).status == 201
        counted = count()
        assert counted.functions == {"stateful": 0, "pooled": 3, "baas": 0}
        assert 1 <= counted.service <= 2  # the service's pool, for all four functions
        for fn in pooled:
            fn.close()
        pooled = []
        _until(lambda: count().functions["pooled"] == 0)
    finally:
        for fn in pooled + baas:
            fn.close()
        service.stop()
        bystander.close()
        loop.run_until_complete(counter.close())
        loop.close()
