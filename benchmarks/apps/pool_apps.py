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

``python -m benchmarks.pool_profile`` profiles these candidates and attributes
their costs step by step.
"""

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.apps.candidates import CONTEXT, Prepared
from benchmarks.apps.workload import SOURCE_IP, WORKLOADS, Workload
from faasify import handler
from faasify.adapters.aws.events import build_event, read_result

__all__ = [
    "DATABASE_URL",
    "PING_SQL",
    "POOL_CANDIDATES",
    "QUERIES",
    "TODO_ROWS",
    "DbQuery",
    "PoolCandidate",
    "driver_url",
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


def driver_url(driver: str) -> str:
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

    db = SQLAlchemyPool(driver_url("asyncpg"))
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

    db = SQLAlchemyPool(driver_url("psycopg"))
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

    engine = create_engine(driver_url("psycopg"), pool_pre_ping=pre_ping)
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
