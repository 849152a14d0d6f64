"""Where a warm invoke that reaches the database spends its time.

``python -m benchmarks.pool_profile [ping|todos] [--invokes 5000] [--candidate NAME]``
profiles a candidate of :mod:`benchmarks.apps.pool_apps` (faasify + FastAPI +
PostgresPool by default) with cProfile and lists the functions in
``faasify/pools/``, the rest of faasify and the whole process by self time.
``python -m benchmarks.pool_profile --attribute`` times the steps from the floor up
to that candidate (a pool alone, the app without the adapter, the app on a raw
connection, the app without a database), interleaved, in wall and CPU time;
``--attribute sqlalchemy`` does the same for SQLAlchemy engines and
``SQLAlchemyPool`` against their raw drivers, without HTTP.
"""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.apps.candidates import CONTEXT, FLOOR_SPEC_VERSION
from benchmarks.apps.pool_apps import (
    PING_SQL,
    POOL_CANDIDATES,
    QUERIES,
    driver_url,
    plain_dsn,
)
from benchmarks.apps.workload import Workload, asgi_scope
from faasify import handler


def _profile(candidate: str, query_name: str, invokes: int, top: int) -> None:
    """cProfile over ``invokes`` warm invokes: faasify's pool code, the rest of faasify, all."""
    import cProfile
    import pstats

    query = QUERIES[query_name]
    prepared = POOL_CANDIDATES[candidate].prepare(query)
    try:
        for _ in range(500):  # warm: the connection, the framework's caches, statement caches
            prepared.call(*prepared.args)
        status, body = prepared.read(prepared.call(*prepared.args))
        if status != 200 or json.loads(body) != query.workload.expected:
            raise RuntimeError(f"unexpected answer: {status} {body[:200]!r}")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(invokes):
            prepared.call(*prepared.args)
        profile.disable()
    finally:
        prepared.close()
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"== cProfile, {candidate}, db {query_name}, {invokes} invokes: "
        f"{total / invokes * 1e6:.1f} µs/invoke under the profiler (for ranking only)"
    )
    rows = [
        (tt, ct, nc, file, line, name)
        for (file, line, name), (_, nc, tt, ct, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]

    def show(title: str, selected: list[Any], strip: str) -> None:
        print(f"\n{title}: {sum(r[0] for r in selected) / invokes * 1e6:.1f} µs/invoke self time")
        print("   self µs  cum µs  calls  function (a coroutine counts once per resumption)")
        for tt, ct, nc, file, line, name in sorted(selected, reverse=True)[:top]:
            per = f"{tt / invokes * 1e6:7.2f} {ct / invokes * 1e6:7.2f} {nc / invokes:6.1f}"
            print(f"   {per}  {file.rsplit(strip, 1)[-1]}:{line} {name}")

    show("faasify/pools/", [r for r in rows if "/faasify/pools/" in r[3]], "/faasify/")
    rest = [r for r in rows if "/faasify/" in r[3] and "/faasify/pools/" not in r[3]]
    show("rest of faasify/", rest, "/faasify/")
    show("whole process", rows, "site-packages/")


def _sample(fn: Callable[[], Any], samples: int, batch: int = 10) -> tuple[float, float]:
    """Median wall µs per call (over ``samples`` means of ``batch`` calls), and CPU µs per call.

    The CPU time is this process's (``time.process_time``): what the code costs,
    whatever the wait for the server's answer took.
    """
    clock = time.perf_counter
    cpu_started = time.process_time()
    walls = []
    for _ in range(samples):
        started = clock()
        for _ in range(batch):
            fn()
        walls.append((clock() - started) / batch * 1e6)
    cpu = (time.process_time() - cpu_started) / (samples * batch) * 1e6
    walls.sort()
    return walls[len(walls) // 2], cpu


def _asgi_call(app: Any, workload: Workload, loop: asyncio.AbstractEventLoop) -> Callable[[], Any]:
    """The adapter suite's ASGI floor (``candidates._asgi_floor``), on ``loop``.

    The pool belongs to the instance's loop, so the bare app must run there too.
    """
    base_scope = asgi_scope(workload, FLOOR_SPEC_VERSION)

    def call() -> tuple[int, bytes]:
        received = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message.get("body"):
                chunks.append(message["body"])

        loop.run_until_complete(app(dict(base_scope), receive, send))
        return status, b"".join(chunks)

    return call


def _attribute(passes: int, samples: int) -> None:
    """Time the steps from the bare query to faasify + FastAPI + PostgresPool, interleaved.

    Every variant answers ``GET /ping`` (or runs its query) on the instance's
    loop; each pass times every variant once, in turn, so that drift in the
    machine's speed lands on all of them. Medians of the passes' medians.
    """
    import asyncpg
    from fastapi import FastAPI

    from faasify.core import current_instance
    from faasify.pools import PostgresPool
    from faasify.pools.postgres import _rollback_if_needed

    query = QUERIES["ping"]
    event = query.workload.event
    loop = current_instance().loop
    run = loop.run_until_complete
    dsn = plain_dsn()
    conn = run(asyncpg.connect(dsn))
    plain = run(asyncpg.create_pool(dsn, min_size=1, max_size=1))
    lean = run(
        asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=1,
            reset=_rollback_if_needed,
            max_inactive_connection_lifetime=0,
        )
    )
    db = PostgresPool(dsn)
    lock = asyncio.Lock()

    async def lean_pool(timeout: float | None) -> Any:
        connection = await lean.acquire(timeout=timeout)
        try:
            return await connection.fetchval(PING_SQL)
        finally:
            await lean.release(connection)

    async def one_connection() -> Any:
        async with lock:
            try:
                return await conn.fetchval(PING_SQL)
            finally:
                if conn.is_in_transaction():
                    await conn.execute("ROLLBACK")

    def app_with(fetch: Callable[[], Any]) -> Any:
        app = FastAPI()

        @app.get("/ping")
        async def ping() -> dict[str, Any]:
            return {"db": await fetch()}

        return app

    async def constant() -> int:
        return 1

    pool_app = app_with(lambda: db.fetchval(PING_SQL))
    bare = _asgi_call(pool_app, query.workload, loop)
    handlers = {
        "no db": handler(app_with(constant)),
        "raw connection": handler(app_with(lambda: conn.fetchval(PING_SQL))),
        "PostgresPool": handler(pool_app),
    }
    variants: dict[str, Callable[[], Any]] = {
        "query on an open connection (the floor)": lambda: run(conn.fetchval(PING_SQL)),
        "  one connection behind an asyncio.Lock": lambda: run(one_connection()),
        "  asyncpg pool, faasify's reset, acquire()": lambda: run(lean_pool(None)),
        "  asyncpg pool, faasify's reset, acquire(timeout=5)": lambda: run(lean_pool(5.0)),
        "  asyncpg pool, asyncpg's default reset": lambda: run(plain.fetchval(PING_SQL)),
        "PostgresPool.fetchval": lambda: run(db.fetchval(PING_SQL)),
        "FastAPI + PostgresPool, no adapter (ASGI floor)": bare,
        "faasify + FastAPI + PostgresPool": lambda: handlers["PostgresPool"](event, CONTEXT),
        "faasify + FastAPI + raw connection": lambda: handlers["raw connection"](event, CONTEXT),
        "faasify + FastAPI, no database": lambda: handlers["no db"](event, CONTEXT),
    }
    try:
        _interleave(f"GET /ping and its parts, {passes} passes", variants, passes, samples)
    finally:
        for lambda_handler in handlers.values():
            lambda_handler.close()
        for closing in (db.close(), plain.close(), lean.close(), conn.close()):
            run(closing)


def _interleave(
    title: str, variants: dict[str, Callable[[], Any]], passes: int, samples: int
) -> None:
    """Time every variant once per pass, in turn; print medians, relative to the first."""
    for fn in variants.values():
        _sample(fn, 100)  # warm every path first
    walls: dict[str, list[float]] = {name: [] for name in variants}
    cpus: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(passes):
        for name, fn in variants.items():
            wall, cpu = _sample(fn, samples)
            walls[name].append(wall)
            cpus[name].append(cpu)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    first = median(walls[next(iter(variants))])
    print(f"== {title} x {samples} samples of 10 calls, interleaved")
    print("  wall µs  x first  CPU µs  variant")
    for name in variants:
        wall, cpu = median(walls[name]), median(cpus[name])
        print(f"  {wall:7.1f}  {wall / first:6.2f}x  {cpu:6.1f}  {name}")


def _attribute_sqlalchemy(passes: int, samples: int) -> None:
    """``SELECT 1`` through SQLAlchemy, sync (psycopg) and async (asyncpg), no HTTP.

    From the raw driver in autocommit, through engines with and without
    autocommit, to ``SQLAlchemyPool.read()``: what SQLAlchemy itself costs,
    and what switching the isolation level per connection adds.
    """
    import asyncpg
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from faasify.core import current_instance
    from faasify.pools import SQLAlchemyPool

    one = {"pool_size": 1, "max_overflow": 0}
    auto = "AUTOCOMMIT"
    ping = text(PING_SQL)
    loop = current_instance().loop
    run = loop.run_until_complete

    sync_url, async_url = driver_url("psycopg"), driver_url("asyncpg")
    raw = psycopg.connect(plain_dsn(), autocommit=True)
    engines = {
        "default": create_engine(sync_url, **one),
        "native": create_engine(sync_url, isolation_level=auto, **one),
        "option": create_engine(sync_url, **one).execution_options(isolation_level=auto),
    }
    sync_pool = SQLAlchemyPool(sync_url)
    araw = run(asyncpg.connect(plain_dsn()))
    aengines = {
        "default": create_async_engine(async_url, **one),
        "native": create_async_engine(async_url, isolation_level=auto, **one),
        "option": create_async_engine(async_url, **one).execution_options(isolation_level=auto),
    }
    async_pool = SQLAlchemyPool(async_url)

    def sync_via(make: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with make() as conn:
                return conn.execute(ping).scalar_one()

        return call

    def async_via(make: Callable[[], Any]) -> Callable[[], Any]:
        async def query() -> Any:
            async with make() as conn:
                return (await conn.execute(ping)).scalar_one()

        return lambda: run(query())

    sync_variants: dict[str, Callable[[], Any]] = {
        "psycopg, autocommit connection": lambda: raw.execute(PING_SQL).fetchone(),
        "create_engine(), connect(): BEGIN, query, ROLLBACK": sync_via(engines["default"].connect),
        "create_engine(isolation_level=AUTOCOMMIT)": sync_via(engines["native"].connect),
        "engine.execution_options(isolation_level=AUTOCOMMIT)": sync_via(engines["option"].connect),
        "SQLAlchemyPool.read()": sync_via(sync_pool.read),
    }
    async_variants: dict[str, Callable[[], Any]] = {
        "asyncpg, open connection": lambda: run(araw.fetchval(PING_SQL)),
        "create_async_engine(), connect(): BEGIN, query, ROLLBACK": async_via(
            aengines["default"].connect
        ),
        "create_async_engine(isolation_level=AUTOCOMMIT)": async_via(aengines["native"].connect),
        "async engine.execution_options(isolation_level=AUTOCOMMIT)": async_via(
            aengines["option"].connect
        ),
        "SQLAlchemyPool.read() (async)": async_via(async_pool.read),
    }
    try:
        _interleave(f"SELECT 1, sync (psycopg), {passes} passes", sync_variants, passes, samples)
        print()
        _interleave(f"SELECT 1, async (asyncpg), {passes} passes", async_variants, passes, samples)
    finally:
        raw.close()
        for engine in engines.values():
            engine.dispose()
        sync_pool.close()
        run(araw.close())
        for aengine in aengines.values():
            run(aengine.dispose())
        run(async_pool.close())


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("query", nargs="?", default="ping", choices=sorted(QUERIES))
    parser.add_argument("--candidate", default="faasify+PostgresPool", choices=POOL_CANDIDATES)
    parser.add_argument("--invokes", type=int, default=5000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--attribute",
        nargs="?",
        const="postgres",
        choices=("postgres", "sqlalchemy"),
        help="time the steps from the floor up (PostgresPool in FastAPI, or SQLAlchemy alone)",
    )
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    if args.attribute == "postgres":
        _attribute(args.passes, samples=100)
    elif args.attribute == "sqlalchemy":
        _attribute_sqlalchemy(args.passes, samples=100)
    else:
        _profile(args.candidate, args.query, args.invokes, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
