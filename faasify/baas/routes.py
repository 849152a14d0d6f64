"""The service's endpoints: each collection's operations, named queries,
health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faasify.baas.access import principal_of
from faasify.baas.collection import Collection
from faasify.baas.database import Session
from faasify.baas.errors import Problem
from faasify.baas.responses import json_response
from faasify.baas.values import parse_body

if TYPE_CHECKING:
    from faasify.baas.service import Service

__all__ = ["routes"]

#: How recent a success must be for readiness to skip its own probe.
_RECENT = 1.0
#: How long readiness waits for the database, and for Redis.
_PROBE_TIMEOUT = 2.0


class _Endpoints:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.collections = service.collections
        self.queries = service.queries
        self.reads = service.reads
        self.writes = service.writes
        self.max_body_bytes = service.limits.max_body_bytes

    def _collection(self, request: Request) -> Collection:
        collection = self.collections.get(request.path_params["collection"])
        if collection is None:
            raise Problem(404, "no such collection")
        return collection

    async def _json_body(self, request: Request) -> tuple[Any, bytes]:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise Problem(415, "send the body as application/json")
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise Problem(413, f"the body is larger than {limit} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Problem(413, f"the body is larger than {limit} bytes")
        return parse_body(body), body

    # -- collections ------------------------------------------------------------------

    async def items(self, request: Request) -> Response:
        collection = self._collection(request)
        principal = principal_of(request.scope)
        method = request.method
        if method == "GET":
            params = request.query_params

            async def page(session: Session) -> Any:
                return await collection.list(session, principal, params)

            return await self.reads.read(request, principal, collection.name, page)
        if method == "DELETE":
            ids = request.query_params.getlist("id")

            async def delete_all(session: Session) -> tuple[int, Any]:
                await collection.delete_many(session, principal, ids)
                return 204, None

            # All or none: the statement and its check run in one transaction.
            return await self.writes.write(
                request,
                principal,
                request.scope["query_string"],
                delete_all,
                collection=collection.name,
                atomic=True,
            )
        body, raw = await self._json_body(request)

        async def create(session: Session) -> tuple[int, Any]:
            return 201, await collection.create(session, principal, body)

        return await self.writes.write(request, principal, raw, create, collection=collection.name)

    async def item(self, request: Request) -> Response:
        collection = self._collection(request)
        principal = principal_of(request.scope)
        item_id = request.path_params["item_id"]
        if request.method == "GET":

            async def one(session: Session) -> Any:
                return await collection.get(session, principal, item_id)

            return await self.reads.read(request, principal, collection.name, one)
        if request.method == "PATCH":
            body, raw = await self._json_body(request)

            async def update(session: Session) -> tuple[int, Any]:
                return 200, await collection.update(session, principal, item_id, body)

            return await self.writes.write(
                request, principal, raw, update, collection=collection.name
            )

        async def delete(session: Session) -> tuple[int, Any]:
            await collection.delete(session, principal, item_id)
            return 204, None

        return await self.writes.write(request, principal, b"", delete, collection=collection.name)

    async def query(self, request: Request) -> Response:
        named = self.queries.get(request.path_params["query"])
        if named is None:
            raise Problem(404, "no such query")
        principal = principal_of(request.scope)
        params = request.query_params

        async def rows(session: Session) -> Any:
            return await named.run(session, principal, params)

        # A write to any collection may change what a query returns: queries are
        # kept per caller under their own name and dropped with every write.
        return await self.reads.read(request, principal, "queries", rows)

    # -- operations ---------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """Whether this instance can serve: its database answers (and its Redis,
        when it has one), each within a short timeout. Never queued behind the
        gate: a busy instance is a ready one."""
        checks = {"database": await self._database_check()}
        if self.service.redis_url:
            checks["redis"] = await self._redis_check()
        if all(value == "ok" for value in checks.values()):
            return json_response({"status": "ready", "checks": checks})
        failing = ", ".join(
            f"the {name} is {value}" for name, value in checks.items() if value != "ok"
        )
        raise Problem(
            503, f"not ready: {failing}", headers={"Retry-After": "1"}, extra={"checks": checks}
        )

    async def _database_check(self) -> str:
        guard = self.service.guard
        if not guard.open:
            return "starting"
        if (
            time.monotonic() - guard.last_success < _RECENT
            and guard.breaker.state == "closed"
            and not guard.schema.pending
        ):
            return "ok"
        try:
            await asyncio.wait_for(self._probe_database(), _PROBE_TIMEOUT)
        except Exception:
            return "unreachable"
        return "ok"

    async def _probe_database(self) -> None:
        guard = self.service.guard
        await guard.schema.ensure()
        await guard.database.ping()
        guard.last_success = time.monotonic()

    async def _redis_check(self) -> str:
        redis = self.service.redis
        if redis is None:
            return "starting"
        try:
            await asyncio.wait_for(redis.ping(), _PROBE_TIMEOUT)
        except Exception as exc:
            self.service.redis_outage.failed(exc)
            return "unreachable"
        self.service.redis_outage.succeeded()
        return "ok"

    async def metrics(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        registry = self.service.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, request: Request) -> Response:
        return json_response(self.service.openapi())


def routes(service: Service) -> list[Route]:
    endpoints = _Endpoints(service)
    return [
        Route("/healthz", endpoints.healthz, methods=["GET"]),
        Route("/readyz", endpoints.readyz, methods=["GET"]),
        Route("/openapi.json", endpoints.openapi, methods=["GET"]),
        Route("/metrics", endpoints.metrics, methods=["GET"]),
        Route("/v1/queries/{query}", endpoints.query, methods=["GET"]),
        Route("/v1/{collection}", endpoints.items, methods=["GET", "POST", "DELETE"]),
        Route("/v1/{collection}/{item_id}", endpoints.item, methods=["GET", "PATCH", "DELETE"]),
    ]
