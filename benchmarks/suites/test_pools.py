"""Warm invokes that query PostgreSQL: faasify's pools against the floor and the peers.

Each query is a pytest-benchmark *group* ("db ping", "db todos"), so every
candidate sits beside the floor (the query alone on an open asyncpg
connection) for exactly the same SQL. Each candidate's answer is checked
before and after timing; its CPU time per invoke is then taken over a few
hundred untimed invokes (``extra_info["cpu_us"]``), and everything it opened
(pool, engine, connection, handler) is closed after its benchmark.

Timing is ``benchmark.pedantic`` with one invoke per round, for every
candidate alike: :data:`WARMUP_INVOKES` warm-up invokes (3 for the two that
open connections on every invoke, whose cost no warmup changes), then as
many rounds as fill ``--benchmark-max-time`` (1 s by default, see
``conftest.py``) at the warm-up's pace, at least :data:`MIN_ROUNDS`. With
pytest-benchmark's own calibration each candidate here, at 0.3-0.7 ms per
invoke, would spend 2 s warming up (its calibration loop and then 2,000
warm-up rounds) for every 1 s it times, and the suite would take well over
a minute; this way it takes about half a minute. Every candidate is at
least 40 µs per invoke, so one invoke per round keeps the timer's own cost
under 0.5 %.

The module is skipped, with the reason, when PostgreSQL is not reachable
(``DATABASE_URL``, or the local default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.apps.pool_apps import (
    DATABASE_URL,
    POOL_CANDIDATES,
    QUERIES,
    TABLE,
    TODO_ROWS,
    plain_dsn,
)


def _unreachable() -> str | None:
    """Why PostgreSQL cannot be used here, or ``None`` if it can."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(plain_dsn(), connect_timeout=2):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {DATABASE_URL}: {' '.join(str(exc).split())}"


#: Warm-up invokes (enough for FastAPI's and Flask's lazily built state and the
#: drivers' prepared statements: psycopg prepares after 5 executions), for the
#: candidates that connect per invoke, and the fewest timed rounds.
WARMUP_INVOKES = 300
SLOW_WARMUP = 3
MIN_ROUNDS = 20
#: Untimed invokes after the benchmark over which the CPU time per invoke is taken.
CPU_INVOKES = 500
SLOW_CPU_INVOKES = 10

_REASON = _unreachable()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


@pytest.fixture(scope="session")
def todos_table() -> Iterator[str]:
    """``bench_todos`` with its 20 rows, created once for the session and dropped after it."""
    import psycopg

    with psycopg.connect(plain_dsn(), autocommit=True) as conn:
        with conn.transaction():
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.execute(
                f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, owner text NOT NULL, "
                "title text NOT NULL, done boolean NOT NULL)"
            )
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {TABLE} VALUES (%s, %s, %s, %s)", TODO_ROWS)
        conn.execute(f"ANALYZE {TABLE}")
    yield TABLE
    with psycopg.connect(plain_dsn(), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


def _params() -> list[Any]:
    return [
        pytest.param(query, candidate, id=f"db-{query}-{candidate}")
        for query in QUERIES
        for candidate in POOL_CANDIDATES
    ]


def _warm_up(call: Callable[..., Any], args: tuple[Any, ...], invokes: int, budget: float) -> int:
    """Run ``invokes`` untimed invokes; the rounds that fill ``budget`` seconds at their pace."""
    started = time.perf_counter()
    for _ in range(invokes):
        call(*args)
    pace = (time.perf_counter() - started) / invokes
    return max(MIN_ROUNDS, int(budget / pace))


def _cpu_us(call: Callable[..., Any], args: tuple[Any, ...], invokes: int) -> float:
    """This process's CPU time per invoke (user + system), over ``invokes`` more invokes.

    Unlike the wall time it leaves out the wait for the server's answer; it does
    include the system calls, and on a VM whatever waking the server costs.
    """
    started = time.process_time()
    for _ in range(invokes):
        call(*args)
    return (time.process_time() - started) / invokes * 1e6


def _check(status: int, body: bytes, expected: Any, candidate: str) -> None:
    assert status == 200, f"{candidate}: status {status}, body {body[:200]!r}"
    assert json.loads(body) == expected, f"{candidate}: unexpected body {body[:200]!r}"


@pytest.mark.parametrize(("query_name", "candidate"), _params())
def test_db_invoke(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    todos_table: str,
    query_name: str,
    candidate: str,
) -> None:
    """One warm invoke of ``candidate`` answering ``query_name`` from PostgreSQL."""
    query = QUERIES[query_name]
    spec = POOL_CANDIDATES[candidate]
    expected = query.workload.expected
    prepared = spec.prepare(query)
    try:
        # The first call opens whatever the candidate keeps open (the pool's connection).
        _check(*prepared.read(prepared.call(*prepared.args)), expected, candidate)
        benchmark.group = f"db {query_name}"
        warmup = SLOW_WARMUP if spec.slow else WARMUP_INVOKES
        budget = float(request.config.getoption("benchmark_max_time"))
        rounds = _warm_up(prepared.call, prepared.args, warmup, budget)
        benchmark.extra_info.update(
            query=query_name,
            candidate=candidate,
            stack=spec.stack,
            framework=spec.framework,
            target=spec.target,
            timing=f"{warmup} warm-up invokes, then 1 invoke per round for about {budget:g} s "
            f"(at least {MIN_ROUNDS} rounds)",
        )
        # pytest-benchmark leaves pedantic() unannotated.
        result = benchmark.pedantic(  # type: ignore[no-untyped-call]
            prepared.call, prepared.args, rounds=rounds, iterations=1
        )
        _check(*prepared.read(result), expected, candidate)
        cpu_invokes = SLOW_CPU_INVOKES if spec.slow else CPU_INVOKES
        benchmark.extra_info["cpu_us"] = _cpu_us(prepared.call, prepared.args, cpu_invokes)
        benchmark.extra_info["cpu_invokes"] = cpu_invokes
    finally:
        prepared.close()
