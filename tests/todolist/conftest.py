"""The todolist's API under test: both frameworks x three stages x two databases.

Every request goes through ``faasify.handler(app)`` as a real event shape built
by ``faasify.local.events.build_event``. The pooled and BaaS stages run on a
SQLite file and on a PostgreSQL database made for this test run (and dropped
after it); the BaaS stage calls the real todo service, served by uvicorn on a
free port. Each test logs in as users of its own, so tests share the databases
without seeing each other's rows.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

import faasify
from examples.todolist.settings import Settings, Stage
from faasify.local.events import EventFormat, HTTPResult, build_event, read_result

if TYPE_CHECKING:
    from fastapi import FastAPI
    from flask import Flask

    from examples.todolist.api import TodoAPI

SECRET = "todolist-tests-secret-0123456789abcdef"
FRAMEWORKS = ("flask", "fastapi")


def create_app(framework: str, settings: Settings) -> Flask | FastAPI:
    """The todolist's app of ``framework`` (``flask`` or ``fastapi``) over ``settings``."""
    if framework == "flask":
        from examples.todolist import flask_app

        return flask_app.create_app(settings)
    from examples.todolist import fastapi_app

    return fastapi_app.create_app(settings)


def todo_api(app: Flask | FastAPI) -> TodoAPI:
    """The API object behind ``app``: where each framework keeps it."""
    from flask import Flask

    api: TodoAPI = app.extensions["todolist"] if isinstance(app, Flask) else app.state.api
    return api


def content_type(result: HTTPResult) -> str:
    return result.header("content-type") or ""


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


class ServiceThread:
    """The todo data service on uvicorn, in a thread, on a free port."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        from examples.todolist.service import build_service

        self.service = build_service(settings, **options)
        sock = free_socket()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.service.app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the todo service did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Instance:
    """One function instance: an app with its store, behind the faasify handler."""

    framework: str
    settings: Settings
    event_format: EventFormat = "http-api-v2"
    handler: Any = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(self.framework, self.settings)
        self.handler = faasify.handler(self.app, handle_signals=False)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        query: str = "",
        raw: bytes | None = None,
        headers: list[tuple[str, str]] | None = None,
        event_format: EventFormat | None = None,
    ) -> HTTPResult:
        sent = [("accept", "application/json"), *(headers or [])]
        if token is not None:
            sent.append(("authorization", f"Bearer {token}"))
        data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        if data:
            sent.append(("content-type", "application/json"))
        event = build_event(event_format or self.event_format, method, path, query, sent, data)
        return read_result(self.handler(event, None))

    def login(self, username: str | None = None) -> str:
        result = self.request("POST", "/api/login", {"username": username or new_user()})
        assert result.status == 200, result.body
        token: str = json.loads(result.body)["token"]
        return token

    def close(self) -> None:
        from examples.todolist.stores import run_sync

        self.handler.close()
        if self.framework == "flask":
            run_sync(todo_api(self.app).store.close())


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def body(result: HTTPResult) -> Any:
    return json.loads(result.body)


# -- databases and the service, once per test run --------------------------------------------


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("todolist") / "todolist.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def todolist_pg_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL database of this test run's own, dropped afterwards."""
    import psycopg

    name = f"todolist_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_services: dict[str, ServiceThread] = {}


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, ServiceThread]]:
    yield _services
    for service in _services.values():
        service.stop()


def backend_url(request: pytest.FixtureRequest, backend: str) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("todolist_pg_url"))
    return str(request.getfixturevalue("sqlite_url"))


def stage_settings(request: pytest.FixtureRequest, stage: Stage, backend: str | None) -> Settings:
    """Settings for ``stage`` on ``backend``; for BaaS, the running service's URL."""
    settings = Settings(stage=stage, secret=SECRET, database_url="sqlite://")
    if backend is None:
        return settings
    url = backend_url(request, backend)
    settings = settings.but(database_url=url)
    if stage == "baas":
        running: dict[str, ServiceThread] = request.getfixturevalue("services")
        if backend not in running:
            running[backend] = ServiceThread(settings, rate=100_000, burst=100_000)
        settings = settings.but(baas_url=running[backend].url)
    return settings


# -- the combinations ---------------------------------------------------------------------


def _combinations() -> list[Any]:
    combos = []
    for framework in FRAMEWORKS:
        combos.append(pytest.param((framework, "stateful", None), id=f"{framework}-stateful"))
        for stage in ("pooled", "baas"):
            for backend in ("sqlite", "postgres"):
                marks = [pytest.mark.postgres] if backend == "postgres" else []
                combos.append(
                    pytest.param(
                        (framework, stage, backend),
                        id=f"{framework}-{stage}-{backend}",
                        marks=marks,
                    )
                )
    return combos


COMBINATIONS = _combinations()


#: A framework, a stage and a database (``None``: the stateful stage has none).
Combo = tuple[str, Stage, "str | None"]
#: Makes a function instance of the test's combination, with settings changed by keyword.
MakeInstance = Callable[..., Instance]


@pytest.fixture(params=COMBINATIONS)
def combo(request: pytest.FixtureRequest) -> Combo:
    value: Combo = request.param
    return value


@pytest.fixture
def make_instance(request: pytest.FixtureRequest, combo: Combo) -> Iterator[MakeInstance]:
    """Makes function instances of this combination (two calls, two instances)."""
    framework, stage, backend = combo
    settings = stage_settings(request, stage, backend)
    made: list[Instance] = []

    def make(**changes: object) -> Instance:
        instance = Instance(framework, settings.but(**changes) if changes else settings)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def fn(make_instance: MakeInstance) -> Instance:
    """One function instance of this combination."""
    instance: Instance = make_instance()
    return instance


@pytest.fixture(scope="module")
def secret() -> str:
    return SECRET


@pytest.fixture(scope="module")
def baas_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A todo service of its own on a fresh SQLite file."""
    path = tmp_path_factory.mktemp("todolist-service") / "todos.db"
    service = ServiceThread(Settings(stage="baas", secret=SECRET, database_url=f"sqlite:///{path}"))
    yield service.url
    service.stop()
