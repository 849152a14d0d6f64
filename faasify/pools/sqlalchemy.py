"""A SQLAlchemy 2 engine that lives as long as the instance, tuned for FaaS.

Sync engines (psycopg) serve WSGI apps, async engines (asyncpg, aiosqlite)
serve ASGI apps; which one follows from the URL's driver. The defaults:

* ``pool_size=1, max_overflow=0``: one request per instance at a time.
* Reads through :meth:`SQLAlchemyPool.read` run in autocommit: no
  ``BEGIN``/``ROLLBACK`` pair around a single read. Writes go through
  :meth:`SQLAlchemyPool.begin`, a real transaction.
* Thaw checks instead of ``pool_pre_ping``: a checkout pings only when the
  connection sat idle past ``idle_check_after`` or its socket shows the
  server closed it; a dead connection is replaced before the app sees it.
* ``connect_timeout=2``: an unreachable server fails fast.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from faasify._exceptions import PoolError
from faasify.pools._life import register_async_close, register_sync_close, socket_has_news
from faasify.pools._stats import PoolStats

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SQLAlchemyPool"]

_ASYNC_DRIVERS = ("+asyncpg", "+aiosqlite", "+psycopg_async", "+aiomysql", "+asyncmy")


def pooler_safe_asyncpg_args(
    connect_args: dict[str, Any], *, tracks_prepared_statements: bool = False
) -> None:
    """Make SQLAlchemy's asyncpg driver safe behind PgBouncer (transaction mode)
    or RDS Proxy, in place.

    Such a pooler hands each transaction to whichever server connection is free,
    so a statement prepared on one may be missing on the next, or exist there
    under the same name (the driver numbers statements per client connection):
    the statement caches are turned off and each prepared statement gets a
    unique name.

    ``tracks_prepared_statements=True`` is the preset for PgBouncer 1.21 and
    later with ``max_prepared_statements`` above 0 (the default from 1.24 on):
    PgBouncer then prepares each named statement on whichever server connection
    it hands out, so the caches stay on and nothing changes here. See the
    PgBouncer versions table in docs/pools.md.
    """
    if tracks_prepared_statements:
        return
    connect_args.setdefault("statement_cache_size", 0)
    connect_args.setdefault("prepared_statement_cache_size", 0)
    connect_args.setdefault("prepared_statement_name_func", _unique_statement_name)


async def _nothing() -> None:
    return None


def _unique_statement_name() -> str:
    return f"__faasify_{uuid.uuid4().hex}__"


def _connection_is_dead(dbapi_connection: Any) -> bool | None:
    """``True`` if surely dead, ``None`` if worth a ping, ``False`` if fine.

    Looks only at local state: the asyncpg driver's closed flag, or pending
    bytes on the socket of a sync driver.
    """
    raw = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(raw, "is_closed", None)
    if callable(is_closed):
        return bool(is_closed())
    fileno = getattr(dbapi_connection, "fileno", None)
    if callable(fileno):
        try:
            return None if socket_has_news(fileno()) else False
        except Exception:
            return None
    return False


class SQLAlchemyPool:
    """A module-scope SQLAlchemy engine with FaaS defaults and thaw checks.

    ```python
    db = SQLAlchemyPool(os.environ["DATABASE_URL"])     # postgresql+psycopg://...

    @app.get("/todos")
    def todos():
        with db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(todo_table))]
    ```
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str = "sqlalchemy",
        pool_size: int = 1,
        max_overflow: int = 0,
        connect_timeout: float = 2.0,
        acquire_timeout: float = 5.0,
        idle_check_after: float = 30.0,
        pgbouncer: bool = False,
        connect_args: Mapping[str, Any] | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        url = url or os.environ.get("DATABASE_URL")
        if not url:
            raise PoolError("SQLAlchemyPool needs a URL (or the DATABASE_URL variable)")
        self.url = url
        self.name = name
        self.stats = PoolStats(name)
        self.asynchronous = any(driver in url.split("://", 1)[0] for driver in _ASYNC_DRIVERS)
        self._idle_check_after = idle_check_after
        engine_kwargs = dict(engine_options or {})
        connect_args = dict(connect_args or {})
        if url.startswith("postgresql"):
            if "+asyncpg" in url:
                connect_args.setdefault("timeout", connect_timeout)
                if pgbouncer:
                    pooler_safe_asyncpg_args(connect_args)
            else:
                connect_args.setdefault("connect_timeout", max(1, round(connect_timeout)))
                if pgbouncer:
                    connect_args.setdefault("prepare_threshold", None)
        if not url.startswith("sqlite"):
            engine_kwargs.setdefault("pool_size", pool_size)
            engine_kwargs.setdefault("max_overflow", max_overflow)
            engine_kwargs.setdefault("pool_timeout", acquire_timeout)
        self._engine_kwargs = {"connect_args": connect_args, **engine_kwargs}
        self._engine: Any = None
        self._dialect: Any = None
        self._autocommit: Any = None

    @property
    def engine(self) -> Engine | AsyncEngine:
        """The engine (``Engine`` or ``AsyncEngine``, by the URL's driver), created on
        first use. :attr:`async_engine` and :attr:`sync_engine` give the one
        expected, typed."""
        if self._engine is None:
            self._create()
        engine: Engine | AsyncEngine = self._engine
        return engine

    @property
    def async_engine(self) -> AsyncEngine:
        """The ``AsyncEngine`` of an async driver's URL; :class:`PoolError` for a sync one."""
        if not self.asynchronous:
            raise PoolError(f"pool {self.name} is synchronous (its URL's driver); use sync_engine")
        engine: AsyncEngine = self.engine  # type: ignore[assignment]
        return engine

    @property
    def sync_engine(self) -> Engine:
        """The ``Engine`` of a sync driver's URL; :class:`PoolError` for an async one."""
        if self.asynchronous:
            raise PoolError(
                f"pool {self.name} is asynchronous (its URL's driver); use async_engine"
            )
        engine: Engine = self.engine  # type: ignore[assignment]
        return engine

    def _create(self) -> None:
        from sqlalchemy import event

        if self.asynchronous:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine: Any = create_async_engine(self.url, **self._engine_kwargs)
            pool = engine.sync_engine.pool
            register_async_close(self.name, engine.dispose)
        else:
            from sqlalchemy import create_engine

            engine = create_engine(self.url, **self._engine_kwargs)
            pool = engine.pool
            register_sync_close(self.name, engine.dispose)
        event.listen(pool, "connect", self._on_connect)
        event.listen(pool, "checkout", self._on_checkout)
        event.listen(pool, "checkin", self._on_checkin)
        self._engine = engine
        self._dialect = engine.dialect
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    # -- pool events ----------------------------------------------------------

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        self.stats.connection_opened()
        record.info["faasify.fresh"] = True

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["faasify.last_used"] = time.monotonic()

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        from sqlalchemy.exc import DisconnectionError

        if record.info.pop("faasify.fresh", False):
            return
        self.stats.reused += 1
        dead = _connection_is_dead(dbapi_connection)
        last_used = record.info.get("faasify.last_used")
        idle = last_used is not None and time.monotonic() - last_used > self._idle_check_after
        if dead is False and not idle:
            return
        if dead is None or idle:
            try:
                # The dialect's own ping, as pool_pre_ping uses: it leaves no
                # transaction open behind it.
                self._dialect.do_ping(dbapi_connection)
                self.stats.revalidated += 1
                return
            except Exception as exc:
                reason = f"no answer to a ping ({exc!r})"
        else:
            reason = "closed by the server or the network"
        self.stats.connection_dropped(reason)
        # SQLAlchemy discards this connection and checks out a fresh one.
        raise DisconnectionError(reason)

    # -- use --------------------------------------------------------------------

    def read(self) -> Any:
        """A connection in autocommit, for reads: no BEGIN/ROLLBACK round trips.

        ``with db.read() as conn`` (sync) or ``async with db.read() as conn``.
        """
        if self._engine is None:
            self._create()
        return self._autocommit.connect()

    def begin(self) -> Any:
        """A connection inside a transaction, committed on success (for writes)."""
        return self.engine.begin()

    def connect(self) -> Any:
        """A plain connection, as ``engine.connect()`` gives."""
        return self.engine.connect()

    def open(self) -> Any:
        """Create the engine now, at cold start (it connects on first use).

        Returns nothing to wait for on a sync engine, and an awaitable that
        connects once on an async one, so that ``await db.open()`` in a
        lifespan makes the first connection there.
        """
        engine = self.engine
        if not self.asynchronous:
            return None

        async def connect_once() -> None:
            async with engine.connect():  # type: ignore[union-attr]
                pass

        return connect_once()

    def acquire(self) -> Any:
        """A connection from the pool, as a context manager (``async with`` for
        an async engine): the same as :meth:`connect`, named as the other pools'."""
        return self.engine.connect()

    def close(self) -> Any:
        """Close every pooled connection (awaitable for async engines); the engine
        stays usable and connects again on next use."""
        if self._engine is None:
            return _nothing() if self.asynchronous else None
        return self._engine.dispose()

    def dispose(self) -> Any:
        """Deprecated: :meth:`close`, named as SQLAlchemy names it."""
        warnings.warn(
            "SQLAlchemyPool.dispose() is deprecated and will be removed in faasify 0.3; "
            "use close()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.close()

    def __repr__(self) -> str:
        kind = "async" if self.asynchronous else "sync"
        return f"<SQLAlchemyPool {self.name} ({kind}) {self.stats.as_dict()}>"
