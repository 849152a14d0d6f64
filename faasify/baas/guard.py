"""The connection policy: how a request gets at the database, and what a
database error becomes.

In order: the breaker refuses at once while the database is known to be down;
the gate bounds how many requests use the pool at once (and sheds the rest);
the service's tables are created if startup could not; then a pooled
connection, in autocommit or in a transaction. What goes wrong becomes an
answer the caller can act on: 503 with ``Retry-After`` for a database out of
reach (which the breaker counts), 422 for a value the database refused, 409 for
a conflict, 503 to retry a deadlock. The database's outage is logged once when
it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence

import sqlalchemy as sa

from faasify.baas.breaker import CircuitBreaker, CircuitOpen
from faasify.baas.database import Database, Session
from faasify.baas.database.errors import classify, describe
from faasify.baas.errors import Problem
from faasify.baas.outage import OutageLog
from faasify.baas.throttle import ConcurrencyGate, ThrottledError

__all__ = ["DatabaseDown", "DatabaseGuard", "Schema"]

logger = logging.getLogger("faasify.baas")


class DatabaseDown(Problem):
    """503 + Retry-After: the database cannot be used right now."""

    def __init__(self, retry_after: float, detail: str) -> None:
        seconds = str(max(1, math.ceil(retry_after)))
        super().__init__(503, detail, headers={"Retry-After": seconds})


class Schema:
    """The tables the service creates, created once the database answers.

    Startup tries; if the database cannot be reached then, the first request
    (or readiness check) that gets a connection tries again, so a service that
    started before its database still serves once the database is up.
    """

    def __init__(self, database: Database, metadatas: Sequence[sa.MetaData]) -> None:
        self._database = database
        self._metadatas = list(metadatas)
        self.pending = bool(self._metadatas)
        self._lock = asyncio.Lock()

    async def ensure(self) -> None:
        if not self.pending:
            return
        async with self._lock:
            if self.pending:
                await self._database.create_tables(self._metadatas)
                self.pending = False
                logger.debug("the service's tables are in place")

    async def at_startup(self) -> None:
        try:
            await self.ensure()
        except Exception as exc:
            logger.warning(
                "could not create the service's tables at startup: %s; "
                "trying again when the database answers",
                describe(exc),
            )


class DatabaseGuard:
    """Lends database sessions through the breaker and the gate."""

    def __init__(
        self, database: Database, schema: Schema, breaker: CircuitBreaker, gate: ConcurrencyGate
    ) -> None:
        self.database = database
        self.schema = schema
        self.breaker = breaker
        self.gate = gate
        self.open = False
        #: When a statement last succeeded (monotonic), for readiness under load.
        self.last_success = 0.0
        self.outage = OutageLog(
            "the database", "answering 503 and kept reads until it is back", logger
        )

    @contextlib.asynccontextmanager
    async def session(self, *, transaction: bool) -> AsyncIterator[Session]:
        if not self.open:
            raise DatabaseDown(1.0, "the service is starting")
        try:
            self.breaker.before()
        except CircuitOpen as exc:
            raise DatabaseDown(exc.retry_after, "the database is unavailable") from None
        try:
            async with self.gate.slot():
                if self.breaker.state == "open":  # it opened while this request waited
                    raise DatabaseDown(self.breaker.reset_timeout, "the database is unavailable")
                await self.schema.ensure()
                async with self.database.session(transaction=transaction) as session:
                    yield session
        except (ThrottledError, DatabaseDown, asyncio.CancelledError, GeneratorExit):
            self.breaker.abandon()  # no word from the database either way
            raise
        except Problem:
            self._answered()  # the database answered; the request was refused
            raise
        except Exception as exc:
            await self._failed(exc)
            raise
        else:
            self._answered()

    def _answered(self) -> None:
        self.breaker.success()
        self.outage.succeeded()
        self.last_success = time.monotonic()

    async def _failed(self, exc: Exception) -> None:
        fault = classify(exc)
        if fault == "down":
            self.breaker.failure()
            self.outage.failed(exc)
            with contextlib.suppress(Exception):
                await self.database.expire()
            raise DatabaseDown(1.0, "the database is unavailable") from None
        self._answered()
        if fault == "bad_value":
            logger.info("value refused by the database: %s", describe(exc))
            raise Problem(422, "a value cannot be stored in or compared with its field") from None
        if fault == "conflict":
            raise Problem(409, "the change conflicts with existing data") from None
        if fault == "retry":
            logger.info("the database asked to retry: %s", describe(exc))
            raise DatabaseDown(1.0, "the database asked to retry this request") from None
