"""The data service: a Starlette app that owns the database pool.

```python
service = Service(database_url=..., collections=[Collection("todos", todos)], auth=keys)
app = service.app        # run it with uvicorn or gunicorn, behind any load balancer
```

It exposes each collection as JSON over HTTP under ``/v1/<name>``, with
``/healthz`` (the process is up), ``/readyz`` (the database answers) and
``/openapi.json``. Without a ``database_url`` (or ``DATABASE_URL``) it runs on
an in-memory SQLite database, so it works on one machine with no servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from faasify.baas.auth import Authenticator, Principal
from faasify.baas.breaker import CircuitBreaker, CircuitOpen
from faasify.baas.cache import MemoryReadCache, ReadCache, RedisReadCache, Stored
from faasify.baas.collection import Collection
from faasify.baas.idempotency import IdempotencyKeys, fingerprint
from faasify.baas.metrics import MetricsMiddleware, ServiceMetrics
from faasify.baas.problems import Problem, problem_response
from faasify.baas.query import NamedQuery
from faasify.baas.throttle import (
    ConcurrencyGate,
    MemoryRateLimiter,
    RateLimiter,
    RateLimitMiddleware,
    RedisRateLimiter,
    ThrottledError,
    throttle_error_handler,
)
from faasify.pools.sqlalchemy import pooler_safe_asyncpg_args

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Pooler", "Service", "credential_key"]

#: What sits between the service's pool and PostgreSQL, if anything.
Pooler = Literal["pgbouncer", "rds-proxy"]

logger = logging.getLogger("faasify.baas")

ANONYMOUS = Principal(tenant="public", owner="public")
_EMBEDDED_URL = "sqlite+aiosqlite:///:memory:"


def _async_url(url: str) -> str:
    """``postgresql://`` means asyncpg here: the service's engine is async."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


_DISCONNECT_ERRORS = ("ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError")
# SQLSTATEs that mean "no usable server", not "a bad statement": connection
# exceptions (class 08), shutdown and crash (57P01-57P03, what
# pg_terminate_backend sends), too many connections (53300).
_DISCONNECT_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _is_disconnect(exc: DBAPIError) -> bool:
    """Whether a driver error means the database is out of reach (not a bad query).

    Only these open the breaker and make reads fall back to the kept copy; a
    constraint violation or a syntax error means the database answered.
    """
    original = exc.orig
    cause = getattr(original, "__cause__", None)
    state = _sqlstate(exc)
    return (
        exc.connection_invalidated
        or isinstance(original, OSError)
        or type(original).__name__ in _DISCONNECT_ERRORS
        or type(cause).__name__ in _DISCONNECT_ERRORS
        or (state is not None and (state.startswith("08") or state in _DISCONNECT_STATES))
    )


def _sqlstate(exc: DBAPIError) -> str | None:
    original = exc.orig
    cause = getattr(original, "__cause__", None)  # asyncpg's error, under SQLAlchemy's adapter
    state = getattr(original, "sqlstate", None) or getattr(cause, "sqlstate", None)
    return state if isinstance(state, str) else None


def _is_bad_value(exc: DBAPIError) -> bool:
    """A value the database refused (SQLSTATE class 22: out of range, bad
    encoding...): the caller's to fix, so a 422, not a 500."""
    state = _sqlstate(exc)
    return isinstance(exc, DataError) or (state is not None and state.startswith("22"))


def _configure_for_pooler(pooler: str, url: str, options: dict[str, Any]) -> None:
    """Make asyncpg safe behind PgBouncer (transaction mode) or RDS Proxy.

    The driver settings are :func:`faasify.pools.sqlalchemy.pooler_safe_asyncpg_args`,
    the ones ``SQLAlchemyPool(pgbouncer=True)`` uses. The service never sends
    asyncpg's reset query (``RESET ALL; UNLISTEN *; ...``, which pins RDS Proxy
    sessions): its pool is SQLAlchemy's, which ends a checkout with a plain
    ROLLBACK.
    """
    if pooler not in ("pgbouncer", "rds-proxy"):
        raise ValueError(f"pooler must be 'pgbouncer' or 'rds-proxy', not {pooler!r}")
    if "+asyncpg" not in url:
        return
    connect_args = dict(options.get("connect_args") or {})
    pooler_safe_asyncpg_args(connect_args)
    options["connect_args"] = connect_args


def _open_redis(url: str) -> Redis:
    """The service's Redis client: short timeouts and no retries.

    A rate check or a kept read must not hold a request up: with redis-py's
    defaults (retries with backoff) a Redis that stopped answering would add
    seconds to every request. Here each call gives up after 0.25 s, and the
    service goes on without it (no shared limit, no kept read).
    """
    from redis.asyncio import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(
        url, retry=Retry(NoBackoff(), 0), socket_timeout=0.25, socket_connect_timeout=0.25
    )


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


class _DatabaseDown(Problem):
    """503 + Retry-After: the database cannot be used right now."""

    def __init__(self, retry_after: float, detail: str) -> None:
        seconds = str(max(1, math.ceil(retry_after)))
        super().__init__(503, detail, headers={"Retry-After": seconds})


def _json_or_empty(status: int, body: Any, *, replayed: bool = False) -> Response:
    headers = {"Idempotency-Replayed": "true"} if replayed else None
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def credential_key(scope: Scope) -> str | None:
    """The rate-limit budget a request counts against: its credential, else its address.

    The credential is hashed, so no key or token is stored in Redis.
    """
    for name, value in scope.get("headers", ()):
        if name in (b"x-api-key", b"authorization"):
            return "cred:" + hashlib.sha256(value).hexdigest()[:32]
    client = scope.get("client")
    return f"addr:{client[0]}" if client else None


class Service:
    """A declared data API over one database, with its own bounded pool."""

    def __init__(
        self,
        *,
        collections: Sequence[Collection],
        queries: Sequence[NamedQuery] = (),
        database_url: str | None = None,
        auth: Authenticator | Iterable[Authenticator] | None = None,
        pool_size: int = 10,
        pool_timeout: float = 5.0,
        max_body_bytes: int = 64 * 1024,
        create_tables: bool = False,
        engine_options: dict[str, Any] | None = None,
        concurrency: int | None = None,
        queue_size: int | None = None,
        queue_timeout: float = 1.0,
        rate_limiter: RateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        read_cache: ReadCache | None = None,
        redis_url: str | None = None,
        rate_limit: tuple[int, float] | None = None,
        rate_burst: int | None = None,
        pooler: Pooler | None = None,
        idempotency_ttl: float = 86_400.0,
    ) -> None:
        self.collections = {c.name: c for c in collections}
        self.queries = {q.name: q for q in queries}
        if "queries" in self.collections:
            raise ValueError("'queries' is reserved for named queries (/v1/queries/<name>)")
        url = database_url or os.environ.get("DATABASE_URL") or _EMBEDDED_URL
        self.database_url = _async_url(url)
        if auth is None:
            self._authenticators: list[Authenticator] = []
        elif isinstance(auth, Iterable):
            self._authenticators = list(auth)
        else:
            self._authenticators = [auth]
        self.pool_size = pool_size
        self.max_body_bytes = max_body_bytes
        self._create_tables = create_tables
        options = dict(engine_options or {})
        if self.database_url.startswith("sqlite"):
            from sqlalchemy.pool import StaticPool

            # One in-memory database shared by the service's connections.
            options.setdefault("poolclass", StaticPool)
        else:
            options.setdefault("pool_size", pool_size)
            options.setdefault("max_overflow", 0)
            options.setdefault("pool_timeout", pool_timeout)
        self._pooler = pooler
        self._transaction_level = (
            "SERIALIZABLE" if self.database_url.startswith("sqlite") else "READ COMMITTED"
        )
        if pooler is not None:
            _configure_for_pooler(pooler, self.database_url, options)
        self._engine_options = options
        self.engine: AsyncEngine | None = None
        if idempotency_ttl <= 0:
            raise ValueError(f"idempotency_ttl must be positive, not {idempotency_ttl!r}")
        self.idempotency = IdempotencyKeys()
        self.idempotency_ttl = idempotency_ttl
        self.breaker = breaker or CircuitBreaker()
        # One Redis client for the shared pieces (rate budgets, kept reads),
        # opened by the lifespan on the serving loop and closed with it.
        self.redis_url = redis_url or os.environ.get("REDIS_URL") or None
        self.redis: Redis | None = None
        if read_cache is None:
            read_cache = RedisReadCache(self._redis_client) if self.redis_url else MemoryReadCache()
        self.read_cache: ReadCache = read_cache
        if rate_limiter is None and rate_limit is not None:
            rate, per = rate_limit
            burst = rate_burst or rate
            rate_limiter = (
                RedisRateLimiter(self._redis_client, rate, per, burst)
                if self.redis_url
                else MemoryRateLimiter(rate, per, burst)
            )
        self.rate_limiter = rate_limiter
        # Work in flight is bounded before it reaches the pool: past the queue,
        # requests are shed with 503 + Retry-After instead of piling up.
        limit = concurrency or pool_size
        queue = queue_size if queue_size is not None else 4 * limit
        if self.database_url.startswith("sqlite"):
            # The embedded database is one connection shared by every request:
            # two requests using it at once would share a transaction, and one's
            # rollback would take the other's acknowledged write with it.
            limit = 1
        self.gate = ConcurrencyGate(limit, queue, queue_timeout)
        self.metrics = ServiceMetrics(self.gate, self.breaker)
        middleware = [Middleware(MetricsMiddleware, metrics=self.metrics)]
        if rate_limiter is not None:
            middleware.append(
                Middleware(RateLimitMiddleware, limiter=rate_limiter, key=credential_key)
            )
        self.app = Starlette(
            routes=[
                Route("/healthz", self._healthz),
                Route("/readyz", self._readyz),
                Route("/openapi.json", self._openapi),
                Route("/metrics", self._metrics),
                Route("/v1/queries/{query}", self._query),
                Route("/v1/{collection}", self._items, methods=["GET", "POST", "DELETE"]),
                Route("/v1/{collection}/{item_id}", self._item, methods=["GET", "PATCH", "DELETE"]),
            ],
            lifespan=self._lifespan,
            middleware=middleware,
            exception_handlers={
                Problem: self._problem,
                ThrottledError: throttle_error_handler,
                Exception: self._unexpected,
            },
        )

    # -- life -------------------------------------------------------------------------

    def _redis_client(self) -> Redis:
        if self.redis is None:
            raise ConnectionError("the service's Redis client is not open (outside its lifespan)")
        return self.redis

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if self.redis_url:
                self.redis = _open_redis(self.redis_url)
                stack.push_async_callback(self._close_redis)
            options = dict(self._engine_options)
            if not self._pooler:
                # Connections run in autocommit unless a write asks for a
                # transaction (see _connection): most requests are one statement.
                options.setdefault("isolation_level", "AUTOCOMMIT")
            self.engine = create_async_engine(self.database_url, **options)
            stack.push_async_callback(self._close_engine)
            await self._create_own_tables()
            purger = asyncio.create_task(self._purge_keys_forever())
            stack.push_async_callback(_cancelled, purger)
            yield

    async def _create_own_tables(self) -> None:
        """The idempotency table (and the collections' with ``create_tables``).

        The index that makes purging cheap is created on its own too, since
        ``create_all`` skips a table that exists (one made by an earlier version).
        """
        assert self.engine is not None
        metadatas = [self.idempotency.table.metadata]  # the service's own, always
        if self._create_tables:
            metadatas += list({c.table.metadata for c in self.collections.values()})
        try:
            async with self.engine.begin() as conn:
                for metadata in metadatas:
                    await conn.run_sync(metadata.create_all)
                for index in self.idempotency.table.indexes:
                    await conn.run_sync(partial(index.create, checkfirst=True))
        except (OSError, DBAPIError, PoolTimeout) as exc:  # down at start: /readyz says so
            logger.warning("could not create the service's tables at startup: %s", exc)

    async def _close_engine(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        self.engine = None

    async def _close_redis(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        self.redis = None

    async def purge_idempotency_keys(self) -> int:
        """Forget keys older than ``idempotency_ttl``; how many went.

        Runs by itself a minute after startup, then every ``idempotency_ttl / 4``
        (at least hourly) while the service is up; call it yourself from a
        scheduled job if you prefer.
        """
        if self.engine is None:
            raise RuntimeError("the service is not running")
        async with self.engine.begin() as conn:
            return await self.idempotency.purge(conn, self.idempotency_ttl)

    async def _purge_keys_forever(self) -> None:
        every = min(self.idempotency_ttl / 4, 3600.0)
        # Short-lived instances purge too; several instances starting together
        # do not all purge at the same moment.
        await asyncio.sleep(min(every, 60.0) * random.uniform(0.5, 1.0))
        while True:
            try:
                purged = await self.purge_idempotency_keys()
            except Exception as exc:  # down, busy or anything else: try next time
                logger.warning("idempotency key purge failed: %s", exc)
            else:
                if purged:
                    logger.info("purged %d idempotency keys", purged)
            await asyncio.sleep(every)

    # -- plumbing -----------------------------------------------------------------------

    async def _problem(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def _unexpected(self, request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error serving %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "the service failed; see its logs"))

    def _principal(self, request: Request) -> Principal:
        if not self._authenticators:
            return ANONYMOUS
        for authenticator in self._authenticators:
            principal = authenticator.authenticate(request)
            if principal is not None:
                return principal
        raise Problem(401, "credentials required", headers={"WWW-Authenticate": "Bearer"})

    def _collection(self, request: Request) -> Collection:
        collection = self.collections.get(request.path_params["collection"])
        if collection is None:
            raise Problem(404, "no such collection")
        return collection

    async def _json_body(self, request: Request) -> tuple[Any, bytes]:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise Problem(415, "send the body as application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Problem(413, f"the body is larger than {self.max_body_bytes} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise Problem(413, f"the body is larger than {self.max_body_bytes} bytes")
        try:
            return json.loads(body), body
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "the body is not valid JSON") from None

    @contextlib.asynccontextmanager
    async def _connection(self, *, transaction: bool) -> AsyncIterator[Any]:
        """A pooled connection; database trouble becomes a 503 the client may retry.

        The breaker refuses at once while the database is known to be down; the
        gate bounds how many requests use the pool at the same time. Without
        ``transaction`` the connection runs in autocommit: a read or a write of
        one statement is atomic by itself, and BEGIN and COMMIT would be two
        more round trips to the database for each request.
        """
        engine = self.engine
        if engine is None:
            raise _DatabaseDown(1.0, "the service is starting")
        try:
            self.breaker.before()
        except CircuitOpen as exc:
            raise _DatabaseDown(exc.retry_after, "the database is unavailable") from None
        try:
            async with self.gate.slot():
                # Behind a transaction-mode pooler every statement runs inside a
                # transaction: asyncpg prepares a statement and runs it in two
                # exchanges, and outside one the pooler may hand the second to
                # another server connection.
                if self._pooler:
                    async with engine.begin() as conn:
                        yield conn
                elif transaction:
                    # The pool lends connections in autocommit; this one leaves it
                    # for the transaction and is set back when it is returned.
                    async with engine.connect() as conn:
                        await conn.execution_options(isolation_level=self._transaction_level)
                        async with conn.begin():
                            yield conn
                else:
                    async with engine.connect() as conn:
                        yield conn
        except (Problem, ThrottledError):
            self.breaker.success()  # the database answered; the request was refused
            raise
        except IntegrityError:
            self.breaker.success()
            raise Problem(409, "the change conflicts with existing data") from None
        except (PoolTimeout, DBAPIError, OSError) as exc:
            if isinstance(exc, DBAPIError) and _is_bad_value(exc):
                self.breaker.success()  # a value the column cannot hold (range, encoding)
                logger.info("value refused by the database: %s", exc.orig)
                raise Problem(
                    422, "a value cannot be stored in or compared with its field"
                ) from None
            if isinstance(exc, DBAPIError) and not _is_disconnect(exc):
                self.breaker.success()
                raise
            self.breaker.failure()
            logger.warning("database unavailable: %s", exc)
            raise _DatabaseDown(1.0, "the database is unavailable") from None
        else:
            self.breaker.success()

    async def _read(self, request: Request, principal: Principal, name: str, load: Any) -> Response:
        """Answer a read from the database, keeping the answer; when the database is
        down, answer with the kept copy, marked stale, rather than a 503."""
        scope = f"{principal.tenant}:{principal.owner}:{name}"
        try:
            async with self._connection(transaction=False) as conn:
                answer = await load(conn)
        except _DatabaseDown:
            stored = await self._kept(scope, request)
            if stored is None:
                raise
            value, stored_at = stored
            self.metrics.stale_reads.inc()
            age = str(max(0, int(time.time() - stored_at)))
            return JSONResponse(value, headers={"Faasify-Stale": "true", "Age": age})
        try:
            generation = await self.read_cache.generation(scope)
            await self.read_cache.put(
                f"{scope}:{generation}:{request.url.path}?{request.url.query}", answer
            )
        except Exception as exc:  # a cache that fails must not fail the read
            logger.warning("read cache unavailable: %s", exc)
        return JSONResponse(answer)

    async def _kept(self, scope: str, request: Request) -> Stored | None:
        try:
            generation = await self.read_cache.generation(scope)
            return await self.read_cache.get(
                f"{scope}:{generation}:{request.url.path}?{request.url.query}"
            )
        except Exception as exc:
            logger.warning("read cache unavailable: %s", exc)
            return None

    # -- endpoints --------------------------------------------------------------------------

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _readyz(self, request: Request) -> Response:
        async with self._connection(transaction=False) as conn:
            await conn.execute(sa.text("SELECT 1"))
        return JSONResponse({"status": "ready"})

    async def _items(self, request: Request) -> Response:
        collection = self._collection(request)
        principal = self._principal(request)
        if request.method == "GET":

            async def page(conn: Any) -> Any:
                return await collection.list(conn, principal, request.query_params)

            return await self._read(request, principal, collection.name, page)
        if request.method == "DELETE":
            ids = request.query_params.getlist("id")

            async def delete_all(conn: Any) -> tuple[int, Any]:
                await collection.delete_many(conn, principal, ids)
                return 204, None

            # All or none: the statement and its check run in one transaction.
            query = request.url.query.encode()
            return await self._write(request, principal, query, delete_all, atomic=True)
        body, raw = await self._json_body(request)

        async def create(conn: Any) -> tuple[int, Any]:
            return 201, await collection.create(conn, principal, body)

        return await self._write(request, principal, raw, create)

    async def _item(self, request: Request) -> Response:
        collection = self._collection(request)
        principal = self._principal(request)
        item_id = request.path_params["item_id"]
        if request.method == "GET":

            async def item(conn: Any) -> Any:
                return await collection.get(conn, principal, item_id)

            return await self._read(request, principal, collection.name, item)
        if request.method == "PATCH":
            body, raw = await self._json_body(request)

            async def update(conn: Any) -> tuple[int, Any]:
                return 200, await collection.update(conn, principal, item_id, body)

            return await self._write(request, principal, raw, update)

        async def delete(conn: Any) -> tuple[int, Any]:
            await collection.delete(conn, principal, item_id)
            return 204, None

        return await self._write(request, principal, b"", delete)

    async def _write(
        self,
        request: Request,
        principal: Principal,
        raw_body: bytes,
        change: Callable[[Any], Awaitable[tuple[int, Any]]],
        *,
        atomic: bool = False,
    ) -> Response:
        """Run ``change`` once per ``Idempotency-Key``.

        ``raw_body`` is what, beside the method, path and caller, makes two
        requests the same one. A keyed write stores its key and answer in the
        same transaction as the change; an unkeyed one is a single statement,
        atomic by itself, unless ``atomic`` asks for a transaction anyway.
        """
        key = request.headers.get("idempotency-key")
        owner = f"{principal.tenant}:{principal.owner}"
        async with self._connection(transaction=atomic or key is not None) as conn:
            if key is not None:
                request_print = fingerprint(request.method, request.url.path, owner, raw_body)
                replay = await self.idempotency.claim(conn, owner, key, request_print)
                if replay is not None:
                    return _json_or_empty(replay.status, replay.body, replayed=True)
            status, body = await change(conn)
            if key is not None:
                await self.idempotency.record(conn, owner, key, status, body)
        collection = request.path_params["collection"]
        try:
            await self.read_cache.invalidate(f"{owner}:{collection}")
            await self.read_cache.invalidate(f"{owner}:queries")
        except Exception as exc:
            logger.warning("read cache unavailable: %s", exc)
        return _json_or_empty(status, body)

    async def _query(self, request: Request) -> Response:
        named = self.queries.get(request.path_params["query"])
        if named is None:
            raise Problem(404, "no such query")
        principal = self._principal(request)

        async def rows(conn: Any) -> Any:
            return await named.run(conn, principal, request.query_params)

        # A write to any collection may change what a query returns: queries are
        # kept per caller under their own name and dropped with every write.
        return await self._read(request, principal, "queries", rows)

    async def _metrics(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def _openapi(self, request: Request) -> Response:
        return JSONResponse(self.openapi())

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the declared collections."""
        problem = {"$ref": "#/components/schemas/Problem"}
        errors = {
            str(code): {
                "description": text,
                "content": {"application/problem+json": {"schema": problem}},
            }
            for code, text in (
                (400, "bad request"),
                (401, "credentials missing or invalid"),
                (404, "not found (or not yours)"),
                (413, "body too large"),
                (415, "not JSON"),
                (422, "invalid fields"),
                (429, "rate limit reached; retry after Retry-After"),
                (503, "busy or database unavailable; retry after Retry-After"),
            )
        }
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {
            "Problem": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            }
        }
        for name, collection in self.collections.items():
            schemas[name] = collection.schema()
            ref = {"$ref": f"#/components/schemas/{name}"}
            page = {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": ref},
                    "next": {"type": ["string", "null"]},
                },
            }
            paths[f"/v1/{name}"] = {
                "get": {
                    "summary": f"List {name}",
                    "responses": {
                        "200": {"description": "a page", "content": _json_content(page)},
                        **errors,
                    },
                },
                "delete": {
                    "summary": f"Delete several {name} items, all or none",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "query",
                            "required": True,
                            "style": "form",
                            "explode": True,
                            "schema": {"type": "array", "items": {"type": "string"}},
                        }
                    ],
                    "responses": {"204": {"description": "all deleted"}, **errors},
                },
                "post": {
                    "summary": f"Create a {name} item",
                    "requestBody": {"content": _json_content(ref)},
                    "responses": {
                        "201": {"description": "created", "content": _json_content(ref)},
                        **errors,
                    },
                },
            }
            paths[f"/v1/{name}/{{item_id}}"] = {
                "get": {
                    "summary": f"Get a {name} item",
                    "responses": {
                        "200": {"description": "the item", "content": _json_content(ref)},
                        **errors,
                    },
                },
                "patch": {
                    "summary": f"Update a {name} item",
                    "requestBody": {"content": _json_content(ref)},
                    "responses": {
                        "200": {"description": "updated", "content": _json_content(ref)},
                        **errors,
                    },
                },
                "delete": {
                    "summary": f"Delete a {name} item",
                    "responses": {"204": {"description": "deleted"}, **errors},
                },
            }
        return {
            "openapi": "3.1.0",
            "info": {"title": "faasify data service", "version": "1"},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }
