"""Reads that keep answering while the database is down.

Every read's answer is kept (see :mod:`faasify.baas.cache`) under the caller's
scope; when the database cannot answer, the kept copy is served, marked
``Faasify-Stale: true`` with its ``Age``, instead of a 503. Keeping an answer in
Redis happens after the response has gone out, so a read costs the caller no
Redis round trip; a Redis that fails is logged once per outage and skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from faasify.baas.auth import Principal
from faasify.baas.cache import MemoryReadCache, ReadCache
from faasify.baas.database import Session
from faasify.baas.guard import DatabaseDown, DatabaseGuard
from faasify.baas.metrics import ServiceMetrics
from faasify.baas.outage import OutageLog
from faasify.baas.responses import json_response, render

__all__ = ["KeptReads", "read_field"]

logger = logging.getLogger("faasify.baas")


def read_field(request: Request) -> str:
    """What identifies a read within its scope: its path and query string."""
    scope = request.scope
    return f"{scope['path']}?{scope['query_string'].decode('latin-1')}"


class KeptReads:
    def __init__(
        self,
        guard: DatabaseGuard,
        cache: ReadCache,
        metrics: ServiceMetrics,
        redis_outage: OutageLog,
    ) -> None:
        self.guard = guard
        self.cache = cache
        self.metrics = metrics
        self.outage = redis_outage
        # An in-process cache costs no I/O: keep inline rather than schedule a task.
        self._inline = isinstance(cache, MemoryReadCache)

    async def read(
        self,
        request: Request,
        principal: Principal,
        name: str,
        load: Callable[[Session], Awaitable[Any]],
    ) -> Response:
        """Answer from the database, keeping the answer; when the database is
        down, answer with the kept copy, marked stale, rather than a 503."""
        scope = f"{principal.digest}:{name}"
        field = read_field(request)
        try:
            async with self.guard.session(transaction=False) as session:
                answer = await load(session)
        except DatabaseDown:
            stored = await self._kept(scope, field)
            if stored is None:
                raise
            value, stored_at = stored
            self.metrics.stale_reads.inc()
            age = str(max(0, int(time.time() - stored_at)))
            return json_response(value, headers={"Faasify-Stale": "true", "Age": age})
        if self._inline:
            await self.cache.keep(scope, field, answer)
            return Response(render(answer), media_type="application/json")
        return Response(
            render(answer),
            media_type="application/json",
            background=BackgroundTask(self._keep, scope, field, answer),
        )

    async def forget(self, principal: Principal, *names: str) -> None:
        """Drop the caller's kept reads of ``names`` (after a write changed them)."""
        scopes = [f"{principal.digest}:{name}" for name in names]
        try:
            await self.cache.drop(*scopes)
        except Exception as exc:
            self.outage.failed(exc)
        else:
            self.outage.succeeded()

    async def _keep(self, scope: str, field: str, answer: Any) -> None:
        try:
            await self.cache.keep(scope, field, answer)
        except Exception as exc:  # a cache that fails must not fail the read
            self.outage.failed(exc)
        else:
            self.outage.succeeded()

    async def _kept(self, scope: str, field: str) -> Any:
        try:
            stored = await self.cache.kept(scope, field)
        except Exception as exc:
            self.outage.failed(exc)
            return None
        self.outage.succeeded()
        return stored
