"""PostgreSQL on asyncpg directly: the service's fast path.

SQLAlchemy Core still builds every statement (so no client string reaches SQL
text) and compiles it, once per shape, with its asyncpg dialect: the SQL, the
order of the parameters, the types' bind and result processors and the
columns' Python-side defaults are all taken from SQLAlchemy. What is left out
is SQLAlchemy's engine layer (connection wrappers, events, result objects),
which cost several times the query itself per request.

Every wait is bounded: ``connect_timeout`` for a new connection,
``command_timeout`` for one statement, ``acquire_timeout`` for a pooled
connection. A connection that timed out or broke is closed, never returned to
the pool, and its siblings are replaced before they are used again.

Behind a transaction-mode pooler (``pooler="pgbouncer"`` or ``"rds-proxy"``),
asyncpg's statement cache is off and every statement runs inside a
transaction: without named statements there is nothing a pooler could hand to
the wrong server connection, and inside a transaction the parse and execute of
an unnamed statement stay on one. With ``"pgbouncer-prepared"`` (PgBouncer 1.21
and later, ``max_prepared_statements`` set) the cache stays on: PgBouncer keeps
track of the named statements itself. The service never sends asyncpg's reset
query (``RESET ALL; UNLISTEN *; ...``), which makes RDS Proxy pin the session:
a connection comes back from a request with no transaction open, or is closed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from faasify.baas.config import DatabaseConfig
from faasify.baas.database.errors import classify
from faasify.baas.database.statements import Statement

__all__ = ["PostgresDatabase", "asyncpg_dsn"]

_KEY = "asyncpg"
_STATEMENT_CACHE = 100
# Duplicate table or type while another process creates the same tables.
_RACED_STATES = frozenset({"42P07", "42710", "23505"})


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://...`` (or any driver) as the plain DSN asyncpg reads."""
    return "postgresql://" + url.partition("://")[2]


class _DefaultContext:
    """What a column's Python default sees: the values of the row so far."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.current_parameters = parameters

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict[str, Any]:
        return self.current_parameters


class _Compiled:
    """A statement as asyncpg runs it: SQL with ``$n`` parameters and how to fill them."""

    __slots__ = ("binds", "constants", "defaults", "names", "results", "sql")

    def __init__(self, statement: Statement, dialect: Any) -> None:
        if statement.columns is None:
            compiled = statement.core.compile(dialect=dialect)
        else:
            compiled = statement.core.compile(dialect=dialect, column_keys=list(statement.columns))
        self.sql = str(compiled)
        self.binds: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in (getattr(compiled, "positiontup", None) or ())
        )
        self.defaults = tuple(
            (column.key, column.default)
            for column in getattr(compiled, "insert_prefetch", ())
            if column.default is not None
        ) + tuple(
            (column.key, column.onupdate)
            for column in getattr(compiled, "update_prefetch", ())
            if column.onupdate is not None
        )
        # Values the statement carries itself (a literal, a bound constant).
        defaulted = {key for key, _ in self.defaults}
        self.constants = {
            name: compiled.binds[name].effective_value
            for name, _ in self.binds
            if not compiled.binds[name].required and name not in defaulted
        }
        core = statement.core
        selected = getattr(core, "selected_columns", None)
        if selected is None and getattr(core, "_returning", None):
            selected = core.exported_columns
        if selected is None:
            self.names: tuple[str, ...] | None = None
            self.results: tuple[Callable[[Any], Any] | None, ...] = ()
        else:
            self.names = tuple(column.key for column in selected)
            processors = tuple(_result_processor(column.type, dialect) for column in selected)
            self.results = processors if any(processors) else ()

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        if self.constants:
            params = {**self.constants, **params}
        if self.defaults:
            params = dict(params)
            context = _DefaultContext(params)
            for key, default in self.defaults:
                if key not in params:
                    params[key] = default.arg(context) if default.is_callable else default.arg
        return [
            params[name] if process is None else process(params[name])
            for name, process in self.binds
        ]

    def row(self, record: Any) -> dict[str, Any]:
        if self.names is None:
            return dict(record.items())
        if not self.results:
            return dict(zip(self.names, record, strict=True))
        return {
            name: value if process is None else process(value)
            for name, value, process in zip(self.names, record, self.results, strict=True)
        }


def _result_processor(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """SQLAlchemy's result processor for a column of type ``kind``.

    Numeric types choose theirs by the type PostgreSQL answers with, which a
    table's column decides: a ``Float`` column is ``double precision`` (701), any
    other ``Numeric`` is ``numeric`` (1700).
    """
    if isinstance(kind, sa.JSON):
        # asyncpg answers json and jsonb as text: the service registers no codec,
        # since registering one makes asyncpg introspect the type, which toggles
        # jit with set_config (a statement that pins an RDS Proxy session).
        return _json_value
    coltype = None
    if isinstance(kind, sa.Float):
        coltype = 701
    elif isinstance(kind, sa.Numeric):
        coltype = 1700
    try:
        return kind.dialect_impl(dialect).result_processor(dialect, coltype)  # type: ignore[no-any-return]
    except sa.exc.InvalidRequestError:
        return None


def _json_value(text: Any) -> Any:
    return None if text is None else json.loads(text)


class _Session:
    dialect = "postgresql"

    __slots__ = ("_conn", "_database")

    def __init__(self, conn: Any, database: PostgresDatabase) -> None:
        self._conn = conn
        self._database = database

    async def rows(self, statement: Statement, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        compiled = self._database.compiled(statement)
        records = await self._conn.fetch(compiled.sql, *compiled.arguments(params))
        return [compiled.row(record) for record in records]

    async def execute(self, statement: Statement, params: Mapping[str, Any]) -> int:
        compiled = self._database.compiled(statement)
        status = await self._conn.execute(compiled.sql, *compiled.arguments(params))
        last = str(status).rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0


class _Connections:
    """At most ``size`` asyncpg connections, opened on demand, kept idle on a stack.

    Not asyncpg's ``Pool``: it runs every acquire with a timeout in a task of its
    own and every release under ``asyncio.shield``, another task, so a request
    holds its slot of the gate for two more turns of the event loop, which under
    load (hundreds of open client connections per worker) cost more than the
    query. The gate in front already bounds how many requests use the database;
    what is left to do here is a stack, and waiting only when a caller lets more
    requests through than there are connections.
    """

    def __init__(self, connect: Callable[[], Any], size: int, idle_lifetime: float) -> None:
        self._connect = connect
        self._size = size
        self._idle_lifetime = idle_lifetime
        self._idle: list[tuple[Any, float, int]] = []
        self._open = 0
        self._generation = 0
        self._born: dict[int, int] = {}
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._all: set[Any] = set()

    async def acquire(self, timeout: float) -> Any:
        now = time.monotonic()
        while self._idle:
            conn, since, generation = self._idle.pop()
            if (
                generation == self._generation
                and now - since < self._idle_lifetime
                and not conn.is_closed()
            ):
                return conn
            self._discard(conn)
        while self._open >= self._size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if self._idle:
                conn, _, generation = self._idle.pop()
                if generation == self._generation and not conn.is_closed():
                    return conn
                self._discard(conn)
        self._open += 1
        try:
            conn = await self._connect()
        except BaseException:
            self._open -= 1
            self._wake()
            raise
        self._all.add(conn)
        self._born[id(conn)] = self._generation
        return conn

    def release(self, conn: Any) -> None:
        if (
            conn.is_closed()
            or conn.is_in_transaction()
            or self._born.get(id(conn)) != self._generation
        ):
            conn.terminate()
            self._discard(conn)
            return
        self._idle.append((conn, time.monotonic(), self._generation))
        self._wake()

    def expire(self) -> None:
        """Every connection open now is replaced before it is used again."""
        self._generation += 1

    async def close(self, timeout: float) -> None:
        idle, self._idle = self._idle, []
        for conn, _, _ in idle:
            try:
                await asyncio.wait_for(conn.close(), timeout)
            except (asyncio.TimeoutError, OSError, Exception):
                conn.terminate()
            self._discard(conn)
        for conn in list(self._all):  # still lent out: the requests are over
            conn.terminate()
            self._discard(conn)

    def _discard(self, conn: Any) -> None:
        if conn in self._all:
            self._all.discard(conn)
            self._born.pop(id(conn), None)
            self._open -= 1
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class PostgresDatabase:
    """Up to ``pool_size`` asyncpg connections, opened lazily."""

    dialect = "postgresql"

    def __init__(self, config: DatabaseConfig) -> None:
        from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

        self._config = config
        self._dsn = asyncpg_dsn(config.resolved_url)
        self._sa_dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
        pinned = config.pooler in ("pgbouncer", "rds-proxy")
        self._statement_cache = 0 if pinned else _STATEMENT_CACHE
        self._always_in_transaction = pinned
        self._pool: _Connections | None = None

    def compiled(self, statement: Statement) -> _Compiled:
        compiled = statement.compiled.get(_KEY)
        if compiled is None:
            compiled = statement.compiled[_KEY] = _Compiled(statement, self._sa_dialect)
        assert isinstance(compiled, _Compiled)
        return compiled

    async def open(self) -> None:
        import asyncpg

        config = self._config

        async def connect() -> Any:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=config.connect_timeout,
                command_timeout=config.command_timeout,
                statement_cache_size=self._statement_cache,
                server_settings={"application_name": config.application_name},
            )
            return conn

        self._pool = _Connections(connect, config.pool_size, idle_lifetime=300.0)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(self._config.command_timeout)

    @contextlib.asynccontextmanager
    async def session(self, *, transaction: bool) -> AsyncIterator[_Session]:
        pool = self._pool
        if pool is None:
            raise ConnectionError("the database pool is not open")
        conn = await pool.acquire(self._config.acquire_timeout)
        try:
            if not (transaction or self._always_in_transaction):
                yield _Session(conn, self)
                return
            started = conn.transaction()
            await started.start()
            try:
                yield _Session(conn, self)
            except BaseException as exc:
                if not _needs_closing(exc):
                    await started.rollback()
                raise
            await started.commit()
        except BaseException as exc:
            if _needs_closing(exc):
                # A statement may still be on the wire: the connection cannot
                # serve anyone else. Closing it rolls its transaction back.
                conn.terminate()
            raise
        finally:
            pool.release(conn)

    async def ping(self) -> None:
        async with self.session(transaction=False) as session:
            await session.rows(_SELECT_ONE, {})

    async def expire(self) -> None:
        if self._pool is not None:
            self._pool.expire()

    async def create_tables(self, metadatas: Sequence[sa.MetaData]) -> None:
        """``CREATE TABLE IF NOT EXISTS`` and ``CREATE INDEX IF NOT EXISTS`` for each
        table, in dependency order, compiled by SQLAlchemy and run on one of the
        service's own connections (SQLAlchemy's engine would register type codecs,
        which makes asyncpg toggle ``jit`` with ``set_config``: a statement that
        pins an RDS Proxy session)."""
        statements: list[str] = []
        for metadata in metadatas:
            for table in metadata.sorted_tables:
                create = sa.schema.CreateTable(table, if_not_exists=True)
                statements.append(str(create.compile(dialect=self._sa_dialect)))
                for index in sorted(table.indexes, key=lambda index: str(index.name)):
                    made = sa.schema.CreateIndex(index, if_not_exists=True)
                    statements.append(str(made.compile(dialect=self._sa_dialect)))
        for attempt in range(3):
            try:
                async with self.session(transaction=True) as session:
                    for statement in statements:
                        await session.execute(Statement(sa.text(statement)), {})
                return
            except Exception as exc:
                state = getattr(exc, "sqlstate", None)
                if state not in _RACED_STATES or attempt == 2:
                    raise
                # Another process created them at the same moment: look again.


def _needs_closing(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError) or classify(exc) == "down"


_SELECT_ONE = Statement(sa.text("SELECT 1 AS one"))
