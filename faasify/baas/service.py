"""The data service: a Starlette app that owns the database pool.

```python
service = Service(collections=[Collection("todos", todos)], auth=keys, database=url)
app = service.app        # run it with uvicorn, behind any load balancer
```

It exposes each collection as JSON over HTTP under ``/v1/<name>``, with
``/healthz`` (the process is up), ``/readyz`` (the instance can serve),
``/metrics`` and ``/openapi.json``. Without a database URL (nor
``DATABASE_URL``) it runs on an in-memory SQLite database, so it works on one
machine with no servers.

This module wires the pieces together; each lives in a module of its own: the
options (:mod:`.config`), the database paths (:mod:`.database`), the connection
policy (:mod:`.guard`), kept reads (:mod:`.reads`), idempotent writes
(:mod:`.writes`), who is calling (:mod:`.access`), the endpoints
(:mod:`.routes`), the OpenAPI document (:mod:`.openapi`) and what happens at
startup and shutdown (:mod:`.lifespan`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from faasify.baas.access import AccessMiddleware
from faasify.baas.auth import Authenticator
from faasify.baas.breaker import CircuitBreaker
from faasify.baas.cache import MemoryReadCache, ReadCache, RedisReadCache
from faasify.baas.collection import Collection
from faasify.baas.config import (
    DatabaseConfig,
    IdempotencyConfig,
    LimitsConfig,
    OutageConfig,
    Pooler,
)
from faasify.baas.database import Database, open_database
from faasify.baas.errors import Problem, ServiceConfigurationError
from faasify.baas.guard import DatabaseGuard, Schema
from faasify.baas.idempotency import IdempotencyKeys
from faasify.baas.lifespan import lifespan
from faasify.baas.metrics import MetricsMiddleware, ServiceMetrics
from faasify.baas.openapi import build_openapi
from faasify.baas.outage import OutageLog
from faasify.baas.problems import http_error_handler, problem_response
from faasify.baas.query import NamedQuery
from faasify.baas.reads import KeptReads
from faasify.baas.routes import routes
from faasify.baas.throttle import (
    ConcurrencyGate,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    ThrottledError,
    throttle_error_handler,
)
from faasify.baas.writes import IdempotentWrites

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Pooler", "Service"]

logger = logging.getLogger("faasify.baas")


class Service:
    """A declared data API over one database, with its own bounded pool.

    ``database`` is a :class:`DatabaseConfig` or just its URL; ``limits``,
    ``outage`` and ``idempotency`` group the rest of the options (see
    :mod:`faasify.baas.config`); every group has defaults that suit one service
    beside one database.
    """

    def __init__(
        self,
        *,
        collections: Sequence[Collection],
        queries: Sequence[NamedQuery] = (),
        auth: Authenticator | Iterable[Authenticator] | None = None,
        database: DatabaseConfig | str | None = None,
        redis_url: str | None = None,
        limits: LimitsConfig | None = None,
        outage: OutageConfig | None = None,
        idempotency: IdempotencyConfig | None = None,
    ) -> None:
        self.collections = {c.name: c for c in collections}
        self.queries = {q.name: q for q in queries}
        if "queries" in self.collections:
            raise ServiceConfigurationError(
                "'queries' is reserved for named queries (/v1/queries/<name>)"
            )
        if isinstance(database, str) or database is None:
            database = DatabaseConfig(database)
        self.database_config = database
        self.limits = limits or LimitsConfig()
        outage = outage or OutageConfig()
        self.idempotency_config = idempotency or IdempotencyConfig()
        if auth is None:
            self._authenticators: list[Authenticator] = []
        elif isinstance(auth, Iterable):
            self._authenticators = list(auth)
        else:
            self._authenticators = [auth]

        # Redis: one client for the shared pieces (rate budgets, kept reads),
        # opened by the lifespan on the serving loop and closed with it.
        self.redis_url = redis_url or os.environ.get("REDIS_URL") or None
        self.redis: Redis | None = None
        self.redis_outage = OutageLog(
            "Redis", "going on without shared rate limits and kept reads", logger
        )

        self.database: Database = open_database(database)
        self.idempotency = IdempotencyKeys(name=self.idempotency_config.table)
        own_tables = [self.idempotency.table.metadata]
        if database.creates_tables:
            own_tables += list({c.table.metadata: None for c in collections})
        self.breaker = outage.breaker or CircuitBreaker()
        self.gate = self._gate(database, self.limits)
        self.guard = DatabaseGuard(
            self.database, Schema(self.database, own_tables), self.breaker, self.gate
        )
        self.metrics = ServiceMetrics(self.gate, self.breaker)
        self.read_cache: ReadCache = outage.read_cache or (
            RedisReadCache(self._redis_client) if self.redis_url else MemoryReadCache()
        )
        self.reads = KeptReads(self.guard, self.read_cache, self.metrics, self.redis_outage)
        self.writes = IdempotentWrites(self.guard, self.idempotency, self.reads)
        self.rate_limiter = self._rate_limiter(self.limits)
        self.app = Starlette(
            routes=routes(self),
            lifespan=self._lifespan,
            middleware=[
                Middleware(MetricsMiddleware, metrics=self.metrics),
                Middleware(
                    AccessMiddleware,
                    authenticators=self._authenticators,
                    limiter=self.rate_limiter,
                    outage=self.redis_outage,
                ),
            ],
            exception_handlers={
                Problem: self._problem,
                HTTPException: http_error_handler,
                ThrottledError: throttle_error_handler,
                Exception: self._unexpected,
            },
        )

    # -- wiring ------------------------------------------------------------------------

    @staticmethod
    def _gate(database: DatabaseConfig, limits: LimitsConfig) -> ConcurrencyGate:
        """Work in flight is bounded before it reaches the pool: past the queue,
        requests are shed with 503 + Retry-After instead of piling up."""
        limit = limits.concurrency or database.pool_size
        queue = limits.queue_size if limits.queue_size is not None else 4 * limit
        if database.in_memory:
            # The embedded database is one connection shared by every request:
            # two requests using it at once would share a transaction, and one's
            # rollback would take the other's acknowledged write with it.
            limit = 1
        return ConcurrencyGate(limit, queue, limits.queue_timeout)

    def _rate_limiter(self, limits: LimitsConfig) -> RateLimiter | None:
        if limits.rate_limiter is not None or limits.rate_limit is None:
            return limits.rate_limiter
        rate, per = limits.rate_limit
        burst = limits.rate_burst or rate
        if self.redis_url:
            return RedisRateLimiter(self._redis_client, rate, per, burst)
        return MemoryRateLimiter(rate, per, burst)

    def _redis_client(self) -> Redis:
        if self.redis is None:
            raise ConnectionError("the service's Redis client is not open (outside its lifespan)")
        return self.redis

    # -- life ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with lifespan(self):
            yield

    async def _close_database(self) -> None:
        self.guard.open = False
        await self.database.close()

    async def _close_redis(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        self.redis = None

    async def purge_idempotency_keys(self) -> int:
        """Forget keys older than the idempotency TTL; how many went.

        Runs by itself a minute after startup, then every quarter of the TTL (at
        least hourly) while the service is up; call it yourself from a
        scheduled job if you prefer.
        """
        if not self.guard.open:
            raise RuntimeError("the service is not running")
        async with self.database.session(transaction=False) as session:
            return await self.idempotency.purge(session, self.idempotency_config.ttl)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the declared collections and named queries."""
        return build_openapi(
            self.collections.values(),
            self.queries.values(),
            authenticated=bool(self._authenticators),
        )

    # -- errors -------------------------------------------------------------------------

    async def _problem(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def _unexpected(self, request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error serving %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "the service failed; see its logs"))
