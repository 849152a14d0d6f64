"""The service's two ways to a database, behind one small interface.

PostgreSQL is served on asyncpg directly (:mod:`.postgres`): each statement is
built with SQLAlchemy Core once per shape, compiled once to PostgreSQL's SQL,
and run as asyncpg's cached prepared statement, which costs a fraction of
SQLAlchemy's engine layer per request. Every other database (the embedded
SQLite, a file) goes through SQLAlchemy's async engine (:mod:`.engine`).

Both lend a :class:`Session`: one connection for one request, in autocommit or
in a transaction, that runs :class:`~faasify.baas.database.statements.Statement`
objects and answers rows as dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import sqlalchemy as sa

from faasify.baas.config import DatabaseConfig
from faasify.baas.database.statements import Statement

__all__ = ["Database", "Session", "Statement", "open_database"]


class Session(Protocol):
    """One connection lent to one request."""

    dialect: str

    async def rows(self, statement: Statement, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a statement that returns rows (a SELECT, or DML with RETURNING)."""
        ...

    async def execute(self, statement: Statement, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it touched."""
        ...


class Database(Protocol):
    """A pool of connections to one database, opened and closed with the service."""

    dialect: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def session(self, *, transaction: bool) -> AbstractAsyncContextManager[Session]:
        """A pooled connection for the ``async with`` block; with ``transaction``
        everything in the block commits together or not at all."""
        ...

    async def ping(self) -> None:
        """Raise unless the database answers a trivial statement (within the timeouts)."""
        ...

    async def expire(self) -> None:
        """Replace every pooled connection before it is used again: after a
        connection was found dead, its siblings are likely dead too."""
        ...

    async def create_tables(self, metadatas: Sequence[sa.MetaData]) -> None:
        """Create the tables (and their indexes) that do not exist yet."""
        ...


def open_database(config: DatabaseConfig) -> Database:
    """The database ``config`` names: asyncpg for PostgreSQL, SQLAlchemy otherwise.

    Nothing connects yet: :meth:`Database.open` does, on the serving loop.
    """
    if config.is_postgres:
        from faasify.baas.database.postgres import PostgresDatabase

        return PostgresDatabase(config)
    from faasify.baas.database.engine import EngineDatabase

    return EngineDatabase(config)
