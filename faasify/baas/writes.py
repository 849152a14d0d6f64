"""Writes applied once per ``Idempotency-Key``, and kept reads dropped after them.

A keyed write stores its key and its answer in the same transaction as the
change (see :mod:`faasify.baas.idempotency`); an unkeyed one is a single
statement, atomic by itself, unless the change asks for a transaction anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from faasify.baas.auth import Principal
from faasify.baas.database import Session
from faasify.baas.guard import DatabaseGuard
from faasify.baas.idempotency import IdempotencyKeys, fingerprint
from faasify.baas.reads import KeptReads
from faasify.baas.responses import render

__all__ = ["Change", "IdempotentWrites"]

#: A write's work on the session: the HTTP status and the body to answer with.
Change = Callable[[Session], Awaitable[tuple[int, Any]]]


def _answer(
    status: int, body: Any, *, replayed: bool = False, background: BackgroundTask | None = None
) -> Response:
    headers = {"Idempotency-Replayed": "true"} if replayed else None
    if body is None:
        return Response(status_code=status, headers=headers, background=background)
    return Response(
        render(body),
        status,
        headers,
        media_type="application/json",
        background=background,
    )


class IdempotentWrites:
    def __init__(self, guard: DatabaseGuard, keys: IdempotencyKeys, reads: KeptReads) -> None:
        self.guard = guard
        self.keys = keys
        self.reads = reads

    async def write(
        self,
        request: Request,
        principal: Principal,
        raw_body: bytes,
        change: Change,
        *,
        collection: str,
        atomic: bool = False,
    ) -> Response:
        """Run ``change`` once per ``Idempotency-Key``.

        ``raw_body`` is what, beside the method, path and caller, makes two
        requests the same one.
        """
        key = request.headers.get("idempotency-key")
        owner = principal.digest
        async with self.guard.session(transaction=atomic or key is not None) as session:
            if key is not None:
                request_print = fingerprint(request.method, request.url.path, owner, raw_body)
                replay = await self.keys.claim(session, owner, key, request_print)
                if replay is not None:
                    return _answer(replay.status, replay.body, replayed=True)
            status, body = await change(session)
            if key is not None:
                await self.keys.record(session, owner, key, status, body)
        # A write to a collection may change what the caller's named queries return.
        forget = BackgroundTask(self.reads.forget, principal, collection, "queries")
        return _answer(status, body, background=forget)
