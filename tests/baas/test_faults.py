"""Faults on the network path to PostgreSQL and Redis, made by a real TCP proxy:
a partition, a failover that strands every pooled connection, a database that
answers nothing at startup, a Redis that goes away. The service must answer
within its timeouts, serve stale reads, report readiness truthfully and log an
outage once, not once per request."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from faasify.baas.breaker import CircuitBreaker
from faasify.baas.query import NamedQuery
from tests.baas.test_service import ALICE, make_service, todos_table
from tests.support.baas.faults import FaultProxy, partitioned
from tests.support.baas.shared import CREATED_KEY_TABLES, drop_tables, served, wait_until_ready

HEADERS = {"X-API-Key": ALICE}
ROOT = Path(__file__).resolve().parents[2]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


@pytest.fixture
def table(pg_url: str) -> Iterator[sa.Table]:
    table = todos_table(f"todos_{uuid.uuid4().hex[:8]}")
    yield table
    drop_tables(pg_url, table)


@pytest.fixture
def proxy(pg_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(_port(pg_url)) as proxy:
        yield proxy


async def _bounded(request: Any, seconds: float) -> httpx.Response | None:
    """The answer, or ``None`` if the service did not answer within ``seconds``."""
    try:
        return await asyncio.wait_for(request, seconds)
    except asyncio.TimeoutError:
        return None


@pytest.mark.postgres
def test_a_partition_opens_the_breaker_and_serves_kept_reads_within_the_timeouts(
    pg_url: str, table: sa.Table, proxy: FaultProxy
) -> None:
    service = make_service(  # ten requests in flight: the whole pool, as in production
        proxy.url(pg_url),
        table,
        pool_size=10,
        breaker=CircuitBreaker(failure_threshold=3, reset_timeout=0.5),
    )

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with served(service) as http:
            assert (
                await http.post("/v1/todos", json={"text": "before"}, headers=HEADERS)
            ).is_success
            fresh = await http.get("/v1/todos", headers=HEADERS)
            with partitioned(proxy):
                started = time.monotonic()
                reads = await asyncio.gather(
                    *(_bounded(http.get("/v1/todos", headers=HEADERS), 8.0) for _ in range(10))
                )
                seen["reads_took"] = time.monotonic() - started
                writes = await asyncio.gather(
                    *(
                        _bounded(http.post("/v1/todos", json={"text": "x"}, headers=HEADERS), 8.0)
                        for _ in range(5)
                    )
                )
                seen["breaker"] = service.breaker.state
            seen["reads"] = [
                (r.status_code, r.headers.get("faasify-stale")) if r else None for r in reads
            ]
            seen["stale_bodies_match"] = all(r and r.json() == fresh.json() for r in reads)
            seen["writes"] = [
                (r.status_code, "retry-after" in r.headers) if r else None for r in writes
            ]
            # Healed: the service recovers by itself, within a deadline.
            deadline = time.monotonic() + 15
            while True:
                after = await _bounded(
                    http.post("/v1/todos", json={"text": "after"}, headers=HEADERS), 8.0
                )
                if after is not None and after.status_code == 201:
                    break
                assert time.monotonic() < deadline, "no write succeeded after the partition"
                await asyncio.sleep(0.1)
            listed = await http.get("/v1/todos", headers=HEADERS)
            seen["after"] = [item["text"] for item in listed.json()["items"]]
            seen["after_stale"] = listed.headers.get("faasify-stale")
        return seen

    seen = asyncio.run(scenario())
    assert seen["reads"] == [(200, "true")] * 10, seen
    assert seen["stale_bodies_match"]
    assert seen["reads_took"] < 6.0  # connect and command timeouts, not the partition
    assert seen["writes"] == [(503, True)] * 5
    assert seen["breaker"] == "open"
    assert seen["after"] == ["before", "after"]  # no refused write was stored
    assert seen["after_stale"] is None


@contextlib.contextmanager
def _uvicorn(env: dict[str, str]) -> Iterator[str]:
    """The fault service under uvicorn in its own process; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.support.baas.fault_service:app",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # requests still hanging: not graceful any more
            process.kill()
            process.wait(timeout=10)


@pytest.mark.postgres
def test_a_failover_that_strands_every_pooled_connection_is_survived(
    pg_url: str, table: sa.Table, proxy: FaultProxy
) -> None:
    """Old connections go silent for good, new ones work: the service answers
    within its timeouts and serves writes again on new connections."""
    env = {"FAULT_DATABASE_URL": proxy.url(pg_url), "FAULT_TABLE": table.name}
    CREATED_KEY_TABLES.append((pg_url, f"{table.name}_keys"))
    with _uvicorn(env) as url, httpx.Client(base_url=url, headers=HEADERS, timeout=4.0) as http:

        def create(text: str) -> int:
            try:
                return http.post("/v1/todos", json={"text": text}).status_code
            except httpx.TimeoutException:
                return 0

        def burst(text: str) -> list[int]:
            with concurrent.futures.ThreadPoolExecutor(3) as threads:
                return list(threads.map(create, [text] * 3))

        assert burst("warm") == [201] * 3  # three pooled connections through the proxy
        acknowledged = 3
        proxy.strand()
        stranded_at = time.monotonic()
        first_success: float | None = None
        streak = 0
        while time.monotonic() < stranded_at + 15 and streak < 3:
            statuses = burst("after")
            acknowledged += statuses.count(201)
            if 201 in statuses and first_success is None:
                first_success = time.monotonic() - stranded_at
            streak = streak + 1 if statuses == [201] * 3 else 0
    assert first_success is not None, "not one write succeeded after the failover"
    assert first_success < 8.0
    assert streak == 3  # and then every write did
    assert _rows(pg_url, table) == acknowledged  # every acknowledged write is there


def _rows(pg_url: str, table: sa.Table) -> int:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.postgres
def test_readiness_answers_while_the_gate_is_full(pg_url: str, table: sa.Table) -> None:
    slow = NamedQuery(
        "slow",
        sa.select(sa.func.count().label("n"))
        .select_from(table)
        .where(table.c.owner == sa.bindparam("owner"), sa.func.pg_sleep(0.3).is_not(None)),
    )
    service = make_service(
        pg_url, table, pool_size=2, queue_size=4, queue_timeout=0.2, queries=[slow]
    )

    async def scenario() -> tuple[list[int], list[int]]:
        async with served(service) as http:
            flood = [
                asyncio.ensure_future(http.get("/v1/queries/slow", headers=HEADERS))
                for _ in range(30)
            ]
            deadline = time.monotonic() + 10
            while service.gate.in_use < service.gate.limit:
                assert time.monotonic() < deadline, "the load never filled the gate"
                await asyncio.sleep(0.01)
            ready = [(await http.get("/readyz")).status_code for _ in range(5)]
            answers = await asyncio.gather(*flood)
            return ready, [a.status_code for a in answers]

    ready, answers = asyncio.run(scenario())
    assert ready == [200] * 5
    assert 503 in answers  # the gate did shed: the instance was busy, and still ready


@pytest.mark.postgres
def test_a_database_silent_at_startup_does_not_hold_startup_and_readiness_tells(
    pg_url: str, table: sa.Table, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(proxy.url(pg_url), table)

    async def scenario() -> tuple[float, int, int, int]:
        proxy.partition()
        started = time.monotonic()
        try:
            async with served(service) as http:
                startup = time.monotonic() - started
                down = await _bounded(http.get("/readyz"), 10.0)
                assert down is not None, "/readyz did not answer while the database was silent"
                proxy.heal()
                deadline = time.monotonic() + 15
                while (ready := await http.get("/readyz")).status_code != 200:
                    assert time.monotonic() < deadline, ready.text
                    await asyncio.sleep(0.1)
                created = await http.post("/v1/todos", json={"text": "late"}, headers=HEADERS)
                return startup, down.status_code, ready.status_code, created.status_code
        finally:
            proxy.heal()

    with caplog.at_level(logging.WARNING, logger="faasify.baas"):
        startup, down, ready, created = asyncio.run(scenario())
    assert startup < 6.0
    assert down == 503
    assert ready == 200
    assert created == 201  # the tables were created once the database answered
    reasons = [
        r.getMessage().split("startup: ", 1)[1]
        for r in caplog.records
        if "could not create the service's tables at startup" in r.getMessage()
    ]
    assert reasons
    assert all(reason.strip() for reason in reasons)  # the real reason, never empty


@pytest.mark.redis
def test_readiness_says_when_the_configured_redis_cannot_be_reached(
    redis_url: str,
) -> None:
    with FaultProxy(_port(redis_url.rsplit("/", 1)[0] + "/")) as redis_proxy:
        url = redis_proxy.url(redis_url.rsplit("/", 1)[0] + "/") + "0"
        service = make_service("sqlite+aiosqlite:///:memory:", todos_table("todos"), redis_url=url)

        async def scenario() -> tuple[int, int, int]:
            async with served(service) as http:
                up = (await http.get("/readyz")).status_code
                with partitioned(redis_proxy):
                    down = await http.get("/readyz")
                back = (await http.get("/readyz")).status_code
                return up, down.status_code, back

        assert asyncio.run(scenario()) == (200, 503, 200)


@pytest.mark.redis
def test_a_redis_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    base = redis_url.rsplit("/", 1)[0] + "/"
    with FaultProxy(_port(base)) as redis_proxy:
        url = redis_proxy.url(base) + "0"
        service = make_service(
            "sqlite+aiosqlite:///:memory:",
            todos_table("todos"),
            redis_url=url,
            rate_limit=(1000, 1.0),
        )

        async def scenario() -> list[int]:
            statuses = []
            async with served(service) as http:
                statuses.append((await http.get("/v1/todos", headers=HEADERS)).status_code)
                with partitioned(redis_proxy):
                    for i in range(8):
                        response = await http.post(
                            "/v1/todos", json={"text": f"t{i}"}, headers=HEADERS
                        )
                        statuses.append(response.status_code)
                        statuses.append((await http.get("/v1/todos", headers=HEADERS)).status_code)
                statuses.append((await http.get("/v1/todos", headers=HEADERS)).status_code)
            return statuses

        with caplog.at_level(logging.INFO, logger="faasify.baas"):
            statuses = asyncio.run(scenario())
    assert set(statuses) <= {200, 201}
    redis_lines = [r for r in caplog.records if "redis" in r.getMessage().lower()]
    assert [r.levelno for r in redis_lines] == [logging.WARNING, logging.INFO], [
        r.getMessage() for r in redis_lines
    ]
    assert not any(r.exc_info for r in redis_lines)  # no traceback per request
    started, ended = (r.getMessage() for r in redis_lines)
    assert "unreachable" in started
    assert "reachable again" in ended
    failed = int(ended.split(" after ", 1)[1].split()[0])
    assert failed >= 8
