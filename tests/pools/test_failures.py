"""Shutdown closes the pools' connections; failures are quick and typed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from faasify import PoolConnectError, PoolError, PoolTimeoutError, handler
from faasify.local.events import build_event
from faasify.pools import PostgresPool, RedisPool, SQLAlchemyPool
from tests.support.servers import Servers

ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


@pytest.mark.postgres
@pytest.mark.redis
def test_sigterm_closes_the_instances_connections(servers: Servers, tag: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.pools.pool_instance",
            str(servers.pg_url),
            str(servers.redis_url),
            tag,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert lines == ["STATUS 200", "READY"], process.stderr.read() if process.stderr else ""
        assert servers.pg_backends(tag) == 1
        assert servers.redis_clients(tag) == 1
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
        assert process.returncode == 0
        deadline = time.monotonic() + 5
        while servers.pg_backends(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert servers.pg_backends(tag) == 0
        assert servers.redis_clients(tag) == 0
    finally:
        process.kill()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def _run(coro: Awaitable[T]) -> T:
    from faasify.core import current_instance

    return current_instance().loop.run_until_complete(coro)


def test_silent_database_fails_within_the_connect_timeout(silent_server: int) -> None:
    db = PostgresPool(f"postgresql://postgres@127.0.0.1:{silent_server}/x", connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(PoolConnectError, match=r"within 0\.5s"):
        _run(db.fetchval("SELECT 1"))
    assert time.monotonic() - started < 2.0


def test_refused_database_fails_at_once_with_a_typed_error() -> None:
    db = PostgresPool(f"postgresql://postgres@127.0.0.1:{_closed_port()}/x")
    started = time.monotonic()
    with pytest.raises(PoolConnectError, match="cannot connect"):
        _run(db.fetchval("SELECT 1"))
    assert time.monotonic() - started < 1.0


def test_unreachable_database_through_an_invoke_is_a_quick_500(silent_server: int) -> None:
    from fastapi import FastAPI

    db = PostgresPool(f"postgresql://postgres@127.0.0.1:{silent_server}/x", connect_timeout=0.5)
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, int]:
        return {"db": await db.fetchval("SELECT 1")}

    h = handler(app)
    started = time.monotonic()
    result = h(build_event("http-api-v2", "GET", "/"), None)
    assert result["statusCode"] == 500
    assert time.monotonic() - started < 2.0
    h.close()


def test_silent_sync_database_fails_within_the_connect_timeout(silent_server: int) -> None:
    from sqlalchemy import text

    db = SQLAlchemyPool(
        f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/x", connect_timeout=1
    )
    started = time.monotonic()
    with pytest.raises(Exception, match=r"timeout|timed out"), db.read() as conn:
        conn.execute(text("SELECT 1"))
    assert time.monotonic() - started < 3.0


def test_silent_redis_fails_within_its_timeouts(silent_server: int) -> None:
    import redis

    # The TCP connect succeeds; the handshake's reply is bounded by socket_timeout.
    cache = RedisPool(
        f"redis://127.0.0.1:{silent_server}/0", connect_timeout=0.5, socket_timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises((redis.TimeoutError, redis.ConnectionError)):
        _run(cache.client.ping())
    assert time.monotonic() - started < 2.0


@pytest.mark.postgres
def test_exhausted_pool_raises_a_typed_timeout(pg: Servers, tag: str) -> None:
    db = PostgresPool(pg.pg_url, acquire_timeout=0.2, server_settings={"application_name": tag})

    async def hold_and_ask() -> None:
        async with db.acquire(), db.acquire():
            pass

    with pytest.raises(PoolTimeoutError, match="max_size=1"):
        _run(hold_and_ask())
    _run(db.close())


@pytest.mark.postgres
def test_pool_used_from_another_loop_says_so(pg: Servers, tag: str) -> None:
    db = PostgresPool(pg.pg_url, server_settings={"application_name": tag})
    assert _run(db.fetchval("SELECT 1")) == 1
    with pytest.raises(PoolError, match="another event loop"):
        asyncio.run(db.fetchval("SELECT 1"))
    _run(db.close())


def test_missing_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(PoolError, match="DATABASE_URL"):
        PostgresPool()
    with pytest.raises(PoolError, match="REDIS_URL"):
        RedisPool()


@pytest.mark.postgres
def test_larger_pools_use_asyncpgs_pool_and_replace_killed_connections(
    pg: Servers, tag: str
) -> None:
    db = PostgresPool(pg.pg_url, max_size=2, server_settings={"application_name": tag})

    async def two_at_once() -> list[int]:
        async def one() -> int:
            async with db.acquire() as conn:
                await asyncio.sleep(0.05)
                return int(await conn.fetchval("SELECT pg_backend_pid()"))

        return list(await asyncio.gather(one(), one()))

    pids = _run(two_at_once())
    assert len(set(pids)) == 2
    assert pg.pg_backends(tag) == 2
    assert pg.pg_terminate(tag) == 2
    time.sleep(0.2)
    assert len(set(_run(two_at_once()))) == 2
    assert db.stats.opened == 4
    assert db.stats.dropped == 2
    _run(db.close())
    assert pg.pg_backends(tag) == 0
