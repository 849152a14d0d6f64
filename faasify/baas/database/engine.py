"""Every database but PostgreSQL, through SQLAlchemy's async engine: the embedded
SQLite (in memory or a file) and whatever other dialect has an async driver.

The pool lends connections in autocommit, so a read or a single-statement
write is one round trip; a transactional write switches its connection's
isolation level for the transaction and the pool sets it back on return.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from faasify.baas.config import DatabaseConfig
from faasify.baas.database.statements import Statement

__all__ = ["EngineDatabase"]


class _Session:
    __slots__ = ("_conn", "dialect")

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.dialect: str = conn.dialect.name

    async def rows(self, statement: Statement, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = await self._conn.execute(statement.core, dict(params))
        return [dict(row) for row in result.mappings()]

    async def execute(self, statement: Statement, params: Mapping[str, Any]) -> int:
        result = await self._conn.execute(statement.core, dict(params))
        return int(result.rowcount or 0)


class EngineDatabase:
    """An ``AsyncEngine`` made at :meth:`open`, disposed at :meth:`close`."""

    def __init__(self, config: DatabaseConfig) -> None:
        url = config.resolved_url
        self.dialect = url.split("://", 1)[0].split("+", 1)[0]
        self._url = url
        options = dict(config.engine_options)
        if config.in_memory:
            from sqlalchemy.pool import StaticPool

            # One in-memory database shared by the service's connections.
            options.setdefault("poolclass", StaticPool)
        elif not url.startswith("sqlite"):
            options.setdefault("pool_size", config.pool_size)
            options.setdefault("max_overflow", 0)
            options.setdefault("pool_timeout", config.acquire_timeout)
        options.setdefault("isolation_level", "AUTOCOMMIT")
        self._options = options
        self._transaction_level = "SERIALIZABLE" if url.startswith("sqlite") else "READ COMMITTED"
        self.engine: Any = None

    async def open(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        self.engine = create_async_engine(self._url, **self._options)

    async def close(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.dispose()

    @contextlib.asynccontextmanager
    async def session(self, *, transaction: bool) -> AsyncIterator[_Session]:
        engine = self.engine
        if engine is None:
            raise ConnectionError("the database engine is not open")
        async with engine.connect() as conn:
            if not transaction:
                yield _Session(conn)
                return
            # The pool lends connections in autocommit; this one leaves it for
            # the transaction and is set back when it is returned.
            await conn.execution_options(isolation_level=self._transaction_level)
            async with conn.begin():
                yield _Session(conn)

    async def ping(self) -> None:
        async with self.session(transaction=False) as session:
            await session.rows(_SELECT_ONE, {})

    async def expire(self) -> None:
        """SQLAlchemy's pool invalidates a connection that failed, and its siblings
        are checked by ``pool_pre_ping`` when configured: nothing to do here."""

    async def create_tables(self, metadatas: Sequence[sa.MetaData]) -> None:
        assert self.engine is not None
        async with self.engine.begin() as conn:
            for metadata in metadatas:
                await conn.run_sync(metadata.create_all)


_SELECT_ONE = Statement(sa.text("SELECT 1 AS one"))
