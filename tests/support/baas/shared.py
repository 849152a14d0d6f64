"""Helpers the data service's tests share: databases, a served service, clean-up."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from faasify.baas import Service

SQLITE = "sqlite+aiosqlite:///:memory:"

#: The idempotency tables test services made in the shared PostgreSQL, dropped
#: after each test by the ``drop_key_tables`` fixture (tests/baas/conftest.py).
CREATED_KEY_TABLES: list[tuple[str, str]] = []


def database_params() -> list[Any]:
    """Both databases: the embedded SQLite and the real PostgreSQL (``pg_url``)."""
    return [SQLITE, pytest.param("postgres", marks=pytest.mark.postgres)]


def async_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def drop_tables(url: str, *tables: sa.Table) -> None:
    """Drop what a test created in the shared PostgreSQL (nothing to do for SQLite)."""
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        for table in tables:
            table.drop(engine, checkfirst=True)
    finally:
        engine.dispose()


_DATABASE = {
    "pool_size",
    "connect_timeout",
    "command_timeout",
    "acquire_timeout",
    "pooler",
    "create_tables",
    "engine_options",
    "application_name",
}
_LIMITS = {
    "concurrency",
    "queue_size",
    "queue_timeout",
    "rate_limit",
    "rate_burst",
    "rate_limiter",
    "max_body_bytes",
}
_OUTAGE = {"breaker", "read_cache"}


def limits(**options: Any) -> dict[str, Any]:
    """Throttle options, in the flat spelling :func:`service_options` takes."""
    return options


def service_options(url: str, **options: Any) -> dict[str, Any]:
    """The options of a test service on ``url`` whose tables it creates itself,
    from one flat set of keywords (``pool_size=3, rate_limiter=..., breaker=...``)
    grouped as :class:`~faasify.baas.Service` takes them. Every test service keeps
    its idempotency keys in a table of its own: the PostgreSQL is shared."""
    from faasify.baas import DatabaseConfig, IdempotencyConfig, LimitsConfig, OutageConfig

    database = {"create_tables": True, **{k: options.pop(k) for k in _DATABASE & set(options)}}
    limits = {k: options.pop(k) for k in _LIMITS & set(options)}
    outage = {k: options.pop(k) for k in _OUTAGE & set(options)}
    table = options.pop("idempotency_table", None) or f"faasify_idem_{uuid.uuid4().hex[:10]}"
    idempotency: dict[str, Any] = {"table": table}
    if url.startswith("postgresql"):
        CREATED_KEY_TABLES.append((url, idempotency["table"]))
    if "idempotency_ttl" in options:
        idempotency["ttl"] = options.pop("idempotency_ttl")
    return {
        "database": DatabaseConfig(url, **database),
        "limits": LimitsConfig(**limits),
        "outage": OutageConfig(**outage),
        "idempotency": IdempotencyConfig(**idempotency),
        **options,
    }


def drop_key_tables() -> None:
    import psycopg

    from tests.conftest import DATABASE_URL

    # A test may have reached PostgreSQL through a proxy that is gone by now:
    # the tables are in the one database the tests share.
    plain = "postgresql://" + DATABASE_URL.split("://", 1)[1]
    while CREATED_KEY_TABLES:
        _url, name = CREATED_KEY_TABLES.pop()
        try:
            with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        except psycopg.OperationalError:
            pass  # a test's database that is gone (a closed port) holds nothing


def drop_service_tables(url: str, service: Service) -> None:
    """Drop a test service's collections and idempotency table."""
    drop_tables(url, service.idempotency.table, *(c.table for c in service.collections.values()))


@contextlib.asynccontextmanager
async def served(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    """The service started (lifespan) and an HTTP client talking to it in process."""
    app = service.app
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


async def rows(service: Service, statement: Any, **params: Any) -> list[dict[str, Any]]:
    """Run a Core statement on the service's own database (its pool, its dialect)."""
    from faasify.baas.database import Statement

    async with service.database.session(transaction=True) as session:
        return await session.rows(Statement(statement), params)


async def execute(service: Service, statement: Any, **params: Any) -> int:
    from faasify.baas.database import Statement

    async with service.database.session(transaction=True) as session:
        return await session.execute(Statement(statement), params)


async def count(service: Service, table: sa.Table) -> int:
    found = await rows(service, sa.select(sa.func.count().label("n")).select_from(table))
    return int(found[0]["n"])


def wait_until_ready(process: subprocess.Popen[Any], url: str, timeout: float = 30.0) -> None:
    """Wait until the service at ``url`` answers ``/readyz`` with 200; fail if its
    process ends first (with what it printed, when its output is piped) or if the
    deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            printed = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the service did not start: {printed}")
        assert time.monotonic() < deadline, "the service did not become ready"
        time.sleep(0.1)
