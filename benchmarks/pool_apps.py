"""Warm invokes that reach a database: the apps, the queries and the candidates.

Two queries, each a report group: ``GET /ping`` answers ``{"db": 1}`` from
``SELECT 1``; ``GET /todos?owner=alice`` answers the owner's first ten todos,
by id, from a 20-row ``bench_todos`` table (``test_pools.py`` creates it once
per session from :data:`TODO_ROWS`). Every candidate runs the same SQL and
must answer the same JSON; what differs is how the connection is obtained.

The *floor* is the query alone on an asyncpg connection that is already open,
run on a persistent event loop: one round trip to the server and asyncpg's
decoding, no HTTP, no framework, no pool. Everything a candidate adds on top
(the adapter, the framework, the pool's checkout and check-in, extra round
trips) is in its ratio to the floor.

``python -m benchmarks.pool_apps [ping|todos] [--invokes 5000] [--candidate NAME]``
profiles a candidate (faasify + FastAPI + PostgresPool by default) with
cProfile and lists the functions in ``faasify/pools/``, the rest of faasify
and the whole process by self time. ``python -m benchmarks.pool_apps
--attribute`` times the steps from the floor up to that candidate (a pool
alone, the app without the adapter, the app on a raw connection, the app
without a database), interleaved, in wall and CPU time; ``--attribute
sqlalchemy`` does the same for SQLAlchemy engines and ``SQLAlchemyPool``
against their raw drivers, without HTTP.
"""

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.candidates import CONTEXT, FLOOR_SPEC_VERSION, Prepared
from benchmarks.workload import SOURCE_IP, WORKLOADS, Workload, asgi_scope
from faasify import handler
from faasify.adapters.aws.events import build_event, read_result

__all__ = [
    "DATABASE_URL",
    "POOL_CANDIDATES",
    "QUERIES",
    "TODO_ROWS",
    "DbQuery",
    "PoolCandidate",
    "plain_dsn",
]

#: Where the benchmark's PostgreSQL is; the same variable and default as the pool tests.
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

TABLE = "bench_todos"
OWNER = "alice"

#: The table's 20 rows, (id, owner, title, done): alice owns 16 of them
#: (interleaved with bob's 4, so ``ORDER BY id`` has work to do), of which the
#: query returns the first 10.
TODO_ROWS: tuple[tuple[int, str, str, bool], ...] = tuple(
    (i, "bob" if i % 5 == 0 else OWNER, f"todo {i}", i % 3 == 0) for i in range(1, 21)
)

PING_SQL = "SELECT 1"
TODOS_SQL_ASYNCPG = f"SELECT id, title, done FROM {TABLE} WHERE owner = $1 ORDER BY id LIMIT 10"
TODOS_SQL_NAMED = f"SELECT id, title, done FROM {TABLE} WHERE owner = :owner ORDER BY id LIMIT 10"

_TODOS_EXPECTED = [
    {"id": i, "title": title, "done": done} for i, owner, title, done in TODO_ROWS if owner == OWNER
][:10]


def plain_dsn(url: str = DATABASE_URL) -> str:
    """``postgresql://...`` without a ``+driver`` suffix (asyncpg's and libpq's form)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def _driver_url(driver: str) -> str:
    return plain_dsn().replace("postgresql://", f"postgresql+{driver}://", 1)


@dataclass(frozen=True)
class DbQuery:
    """One request and the query behind it: its event, its answer, and the floor's call."""

    name: str
    workload: Workload
    #: The floor's call on an asyncpg connection: (method name, SQL, arguments).
    floor_method: str
    floor_sql: str
    floor_args: tuple[Any, ...]
    #: The floor's raw result -> the JSON document the apps answer with.
    floor_json: Callable[[Any], Any]


def _query(name: str, path: str, query: str, expected: Any, floor: tuple[Any, ...]) -> DbQuery:
    # The same ten browser-ish headers as the adapter benchmark (workload.py).
    headers = WORKLOADS["GET"].headers
    event = build_event("http-api-v2", "GET", path, query, headers, b"", source_ip=SOURCE_IP)
    workload = Workload("GET", path, query, headers, b"", expected, event)
    return DbQuery(name, workload, *floor)


#: Query name -> query; the report group is ``"db " + name``.
QUERIES: dict[str, DbQuery] = {
    "ping": _query(
        "ping",
        "/ping",
        "",
        {"db": 1},
        ("fetchval", PING_SQL, (), lambda value: {"db": value}),
    ),
    "todos": _query(
        "todos",
        "/todos",
        f"owner={OWNER}",
        _TODOS_EXPECTED,
        ("fetch", TODOS_SQL_ASYNCPG, (OWNER,), lambda rows: [dict(row) for row in rows]),
    ),
}


# -- readers ------------------------------------------------------------------


def _read_lambda(result: dict[str, Any]) -> tuple[int, bytes]:
    http = read_result(result)
    return http.status, http.body


def _floor_reader(query: DbQuery) -> Callable[[Any], tuple[int, bytes]]:
    def read(raw: Any) -> tuple[int, bytes]:
        return 200, json.dumps(query.floor_json(raw)).encode("utf-8")

    return read


# -- apps ---------------------------------------------------------------------
#
# Each factory builds its database object the way the pools guide (or, for the
# peers, common practice) shows: declared next to the app, outside any request,
# connecting on first use. Factories return a fresh app and pool per call so
# that no candidate shares a connection or framework state with another.


def _fastapi_postgrespool() -> tuple[Any, Any]:
    from fastapi import FastAPI

    from faasify.pools import PostgresPool

    db = PostgresPool(plain_dsn())  # module scope in a real app; nothing connects yet
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        return {"db": await db.fetchval(PING_SQL)}

    @app.get("/todos")
    async def todos(owner: str) -> list[dict[str, Any]]:
        return [dict(row) for row in await db.fetch(TODOS_SQL_ASYNCPG, owner)]

    return app, db.close


def _fastapi_sqlalchemypool() -> tuple[Any, Any]:
    from fastapi import FastAPI
    from sqlalchemy import text

    from faasify.pools import SQLAlchemyPool

    db = SQLAlchemyPool(_driver_url("asyncpg"))
    ping_sql, todos_sql = text(PING_SQL), text(TODOS_SQL_NAMED)
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        async with db.read() as conn:
            value = (await conn.execute(ping_sql)).scalar_one()
        return {"db": value}

    @app.get("/todos")
    async def todos(owner: str) -> list[dict[str, Any]]:
        async with db.read() as conn:
            rows = (await conn.execute(todos_sql, {"owner": owner})).mappings().all()
        return [dict(row) for row in rows]

    return app, db.close


def _flask_sqlalchemypool() -> tuple[Any, Any]:
    from flask import Flask, request
    from sqlalchemy import text

    from faasify.pools import SQLAlchemyPool

    db = SQLAlchemyPool(_driver_url("psycopg"))
    ping_sql, todos_sql = text(PING_SQL), text(TODOS_SQL_NAMED)
    app = Flask("bench-sqlalchemypool")

    @app.get("/ping")
    def ping() -> dict[str, Any]:
        with db.read() as conn:
            value = conn.execute(ping_sql).scalar_one()
        return {"db": value}

    @app.get("/todos")
    def todos() -> list[dict[str, Any]]:
        with db.read() as conn:
            rows = conn.execute(todos_sql, {"owner": request.args["owner"]}).mappings().all()
        return [dict(row) for row in rows]

    return app, db


def _fastapi_lifespan_pool() -> Any:
    """What users write today: an asyncpg pool opened in the lifespan, kept on app.state."""
    import asyncpg
    from fastapi import FastAPI, Request

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(plain_dsn())  # asyncpg's defaults
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    async def ping(request: Request) -> dict[str, Any]:
        return {"db": await request.app.state.pool.fetchval(PING_SQL)}

    @app.get("/todos")
    async def todos(request: Request, owner: str) -> list[dict[str, Any]]:
        rows = await request.app.state.pool.fetch(TODOS_SQL_ASYNCPG, owner)
        return [dict(row) for row in rows]

    return app


def _fastapi_connect_per_invoke() -> Any:
    import asyncpg
    from fastapi import FastAPI

    dsn = plain_dsn()
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return {"db": await conn.fetchval(PING_SQL)}
        finally:
            await conn.close()

    @app.get("/todos")
    async def todos(owner: str) -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [dict(row) for row in await conn.fetch(TODOS_SQL_ASYNCPG, owner)]
        finally:
            await conn.close()

    return app


def _flask_engine(pre_ping: bool) -> tuple[Any, Any]:
    """Plain SQLAlchemy as a Flask app uses it: ``create_engine`` with its defaults."""
    from flask import Flask, request
    from sqlalchemy import create_engine, text

    engine = create_engine(_driver_url("psycopg"), pool_pre_ping=pre_ping)
    ping_sql, todos_sql = text(PING_SQL), text(TODOS_SQL_NAMED)
    app = Flask("bench-engine")

    @app.get("/ping")
    def ping() -> dict[str, Any]:
        with engine.connect() as conn:
            value = conn.execute(ping_sql).scalar_one()
        return {"db": value}

    @app.get("/todos")
    def todos() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = conn.execute(todos_sql, {"owner": request.args["owner"]}).mappings().all()
        return [dict(row) for row in rows]

    return app, engine


# -- candidates ---------------------------------------------------------------


def _floor(query: DbQuery) -> Prepared:
    """The query on an open asyncpg connection, on a persistent loop of its own."""
    import asyncpg

    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    conn = run(asyncpg.connect(plain_dsn()))
    method = getattr(conn, query.floor_method)
    sql, args = query.floor_sql, query.floor_args

    def call() -> Any:
        return run(method(sql, *args))

    def close() -> None:
        try:
            run(conn.close())
        finally:
            loop.close()

    return Prepared(call, (), _floor_reader(query), close)


def _faasify_async_pool(factory: Callable[[], tuple[Any, Any]]) -> Callable[[DbQuery], Prepared]:
    """faasify + an ASGI app whose pool is closed on the handler's loop, then the handler."""

    def prepare(query: DbQuery) -> Prepared:
        app, aclose = factory()
        lambda_handler = handler(app)

        def close() -> None:
            try:
                lambda_handler.loop.run_until_complete(aclose())
            finally:
                lambda_handler.close()

        return Prepared(lambda_handler, (query.workload.event, CONTEXT), _read_lambda, close)

    return prepare


def _faasify_sync_pool(query: DbQuery) -> Prepared:
    app, db = _flask_sqlalchemypool()
    lambda_handler = handler(app)

    def close() -> None:
        try:
            db.close()
        finally:
            lambda_handler.close()

    return Prepared(lambda_handler, (query.workload.event, CONTEXT), _read_lambda, close)


def _mangum_lifespan_pool(query: DbQuery) -> Prepared:
    from mangum import Mangum

    # The pool opens and closes inside every invoke (mangum 0.22 runs the
    # lifespan per invoke): nothing is left open between invokes.
    mangum_handler = Mangum(_fastapi_lifespan_pool(), lifespan="auto")
    return Prepared(mangum_handler, (query.workload.event, CONTEXT), _read_lambda)


def _faasify_connect_per_invoke(query: DbQuery) -> Prepared:
    lambda_handler = handler(_fastapi_connect_per_invoke())
    return Prepared(
        lambda_handler, (query.workload.event, CONTEXT), _read_lambda, lambda_handler.close
    )


def _apig_wsgi_engine(pre_ping: bool) -> Callable[[DbQuery], Prepared]:
    def prepare(query: DbQuery) -> Prepared:
        from apig_wsgi import make_lambda_handler

        app, engine = _flask_engine(pre_ping)
        return Prepared(
            make_lambda_handler(app), (query.workload.event, CONTEXT), _read_lambda, engine.dispose
        )

    return prepare


@dataclass(frozen=True)
class PoolCandidate:
    """A way of serving the database routes, with what it is made of and its target."""

    name: str
    stack: str
    #: The web framework in the stack (``None`` for the floor): the report pairs the
    #: candidate with that framework's bare-app floor from the adapter groups.
    framework: str | None
    prepare: Callable[[DbQuery], Prepared]
    #: The most it may cost as a multiple of the floor, if the issue sets a target.
    target: float | None = None
    #: Milliseconds per invoke (a connection or a whole pool opened per invoke): timed
    #: in fixed rounds with a short warmup rather than pytest-benchmark's calibration.
    slow: bool = False


def _candidates(*items: PoolCandidate) -> dict[str, PoolCandidate]:
    return {candidate.name: candidate for candidate in items}


#: Every candidate, in the order the report lists them (floor first).
POOL_CANDIDATES: dict[str, PoolCandidate] = _candidates(
    PoolCandidate("floor", "open asyncpg connection, no HTTP", None, _floor),
    PoolCandidate(
        "faasify+PostgresPool",
        "faasify, FastAPI, `PostgresPool` (asyncpg)",
        "fastapi",
        _faasify_async_pool(_fastapi_postgrespool),
        1.8,
    ),
    PoolCandidate(
        "faasify+SQLAlchemyPool-async",
        "faasify, FastAPI, `SQLAlchemyPool` (postgresql+asyncpg), `db.read()`",
        "fastapi",
        _faasify_async_pool(_fastapi_sqlalchemypool),
        2.5,
    ),
    PoolCandidate(
        "faasify+SQLAlchemyPool-sync",
        "faasify, Flask, `SQLAlchemyPool` (postgresql+psycopg), `db.read()`",
        "flask",
        _faasify_sync_pool,
        2.5,
    ),
    PoolCandidate(
        "mangum-auto+lifespan-pool",
        'mangum `lifespan="auto"`, FastAPI, `asyncpg.create_pool()` in the lifespan',
        "fastapi",
        _mangum_lifespan_pool,
        slow=True,
    ),
    PoolCandidate(
        "faasify+connect-per-invoke",
        "faasify, FastAPI, `asyncpg.connect()` and `close()` in the route",
        "fastapi",
        _faasify_connect_per_invoke,
        slow=True,
    ),
    PoolCandidate(
        "apig-wsgi+engine-pre-ping",
        "apig-wsgi, Flask, `create_engine(postgresql+psycopg, pool_pre_ping=True)`",
        "flask",
        _apig_wsgi_engine(True),
    ),
    PoolCandidate(
        "apig-wsgi+engine",
        "apig-wsgi, Flask, `create_engine(postgresql+psycopg)`",
        "flask",
        _apig_wsgi_engine(False),
    ),
)


# -- profile and attribution --------------------------------------------------


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

    sync_url, async_url = _driver_url("psycopg"), _driver_url("asyncpg")
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
        sync_pool.dispose()
        run(araw.close())
        for aengine in aengines.values():
            run(aengine.dispose())
        run(async_pool.dispose())


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
