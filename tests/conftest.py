"""Shared fixtures, and the rule that CI never skips a server-backed test.

Tests that need PostgreSQL, Redis or NATS JetStream carry the ``postgres``,
``redis`` or ``nats`` marker,
and tests that drive a page in Chromium the ``browser`` marker; they skip with a
reason when the server or the browser is missing on a developer's machine.
Under CI (``CI=true``) such a skip is turned into a failure, so a broken
service or a missing browser can never make the suite pass by testing less.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from tests.support.servers import Servers

EVENTS = Path(__file__).parent / "events"
SERVER_MARKERS = ("postgres", "redis", "browser", "nats")


def load_event(name: str) -> dict[str, Any]:
    """A fixture event from tests/events/, by file name without ``.json``."""
    with open(EVENTS / f"{name}.json", encoding="utf-8") as file:
        event: dict[str, Any] = json.load(file)
    return event


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and any(item.get_closest_marker(m) for m in SERVER_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"server-backed test skipped under CI: {_skip_reason(report.longrepr)}"


def _skip_reason(longrepr: object) -> str:
    """``path:line: reason`` from a skip's ``(path, line, "Skipped: reason")`` record."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, reason = longrepr
        return f"{path}:{line}: {str(reason).removeprefix('Skipped: ')}"
    return str(longrepr)


# -- real servers (DATABASE_URL / REDIS_URL, or the local defaults) ------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")


def _plain_pg_url() -> str:
    scheme, _, rest = DATABASE_URL.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    import psycopg

    try:
        with psycopg.connect(_plain_pg_url(), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {DATABASE_URL}: {exc}")
    return _plain_pg_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The NATS server with JetStream (tests with the ``nats`` marker)."""
    from tests.support.local.async_support import nats_problem

    problem = nats_problem(NATS_URL)
    if problem is not None:
        pytest.skip(f"NATS JetStream is not reachable at {NATS_URL}: {problem}")
    return NATS_URL


@pytest.fixture
def tag() -> str:
    """A unique application/client name, so counts see only this test's connections."""
    return f"faasify-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg(pg_url: str) -> Servers:
    return Servers(pg_url, None)


@pytest.fixture
def servers(pg_url: str, redis_url: str) -> Servers:
    return Servers(pg_url, redis_url)
