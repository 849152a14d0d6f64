"""The demo's front door: the function deployed once per stage, behind one address.

``python -m examples.todolist`` runs the function three times, once per stage,
each on a :class:`faasify.local.runtime.Scaler` of its own: real instance
processes behind the Lambda Runtime API, started cold when a request finds no
idle one, one request at a time each, up to ``max_instances``, stopped after
``idle_timeout`` idle seconds. That is what makes the stages' differences show:
a FaaS platform runs as many instances as there are requests in flight.

:class:`Gateway` plays API Gateway in front of them. ``/<stage>/...`` reaches that
stage's function as an HTTP API event of the *named stage* ``<stage>`` (so the
app sees ``/...`` below the root path ``/<stage>``, and the page's relative
addresses stay within it); every other path reaches the stage the demo was
started with, as the ``$default`` stage. ``/panel/`` is the panel
(:mod:`examples.todolist.panel`), which is the gateway's, not the function's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from examples.todolist.settings import STAGES, Stage
from faasify.local.events import build_event, read_result
from faasify.local.runtime import Scaler

__all__ = ["Answer", "Gateway", "create_app"]

logger = logging.getLogger("examples.todolist")

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Answer:
    """The function's HTTP answer, and which instance gave it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    instance: str | None = None
    cold: bool = False

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _refusal(status: int, message: str, **headers: str) -> Answer:
    body = json.dumps({"message": message}).encode()
    return Answer(status, [("content-type", "application/json"), *headers.items()], body)


class Gateway:
    """One scaler per stage, and the call that turns a request into an invoke of one.

    ``environments`` gives each stage's instances their environment
    (``TODO_STAGE``, ``DATABASE_URL``, ...): the function reads its settings at
    cold start, as it would on a platform.
    """

    def __init__(
        self,
        handler: str,
        environments: Mapping[Stage, dict[str, str]],
        *,
        default: Stage,
        max_instances: int = 4,
        idle_timeout: float = 60.0,
        queue_timeout: float = 30.0,
        cwd: str | None = None,
    ) -> None:
        if default not in environments:
            raise ValueError(f"no environment for the default stage {default!r}")
        self.default = default
        self.max_instances = max_instances
        self.idle_timeout = idle_timeout
        self.scalers: dict[Stage, Scaler] = {
            stage: Scaler(
                handler,
                max_instances=max_instances,
                idle_timeout=idle_timeout,
                # A crowd's requests wait for a cold start on 2 busy cores rather
                # than being throttled: the demo is about instances, not 429s.
                queue_timeout=queue_timeout,
                cwd=cwd,
                env=env,
            )
            for stage, env in environments.items()
        }

    async def start(self) -> None:
        for scaler in self.scalers.values():
            await scaler.start()

    async def close(self) -> None:
        """Stop every instance of every stage (SIGTERM, so each runs its shutdown)."""
        await asyncio.gather(*(scaler.close() for scaler in self.scalers.values()))

    async def call(
        self,
        stage: Stage,
        method: str,
        path: str,
        query: str = "",
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        named: bool = True,
        host: str | None = None,
        source_ip: str = "127.0.0.1",
    ) -> Answer:
        """Invoke ``stage``'s function with ``path`` (below the stage's prefix when
        ``named``, the whole path on the ``$default`` stage otherwise)."""
        event = build_event(
            "http-api-v2",
            method,
            path,
            query,
            headers,
            body,
            stage=stage if named else "$default",
            host=host,
            source_ip=source_ip,
        )
        outcome = await self.scalers[stage].invoke(event)
        if outcome.status == 429:
            return _refusal(429, "Rate Exceeded: every instance is busy", **{"retry-after": "1"})
        if outcome.result is None:
            reason = {502: "the function failed", 504: "the function timed out"}
            logger.warning("%s: %s", stage, outcome.error)
            return _refusal(outcome.status, reason.get(outcome.status, "the function failed"))
        try:
            result = read_result(outcome.result)
        except (KeyError, TypeError, ValueError):
            return _refusal(502, "the function returned something that is not an HTTP response")
        return Answer(result.status, result.headers, result.body, outcome.instance, outcome.cold)


def create_app(gateway: Gateway, panel_routes: Sequence[Any], lifespan: Any = None) -> Starlette:
    """The gateway's HTTP app: the panel under ``/panel/``, the stages everywhere else.

    ``lifespan`` (an async context manager factory) runs inside the gateway's own:
    the scalers start first and stop last.
    """

    async def function(request: Request) -> Response:
        raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        first, slash, rest = raw.lstrip("/").partition("/")
        if first in STAGES:
            if not slash:  # /pooled -> /pooled/: the page's relative addresses need it
                return RedirectResponse(f"/{first}/", status_code=308)
            stage: Stage = first
            path, named = "/" + rest, True
        else:
            stage, path, named = gateway.default, raw, False
        answer = await gateway.call(
            stage,
            request.method,
            path,
            request.url.query,
            [
                *request.headers.items(),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-port", str(request.url.port or 80)),
            ],
            await request.body(),
            named=named,
            host=request.url.hostname,
            source_ip=request.client.host if request.client else "127.0.0.1",
        )
        response = Response(answer.body, answer.status)
        response.raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers
            if name.lower() not in _HOP_BY_HOP
        ] + [(b"content-length", str(len(answer.body)).encode())]
        return response

    async def to_panel(request: Request) -> Response:
        return RedirectResponse("/panel/", status_code=308)

    @contextlib.asynccontextmanager
    async def both(app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            await gateway.close()

    return Starlette(
        routes=[
            Route("/panel", to_panel),
            Mount("/panel", routes=list(panel_routes)),
            Route("/{path:path}", function, methods=_METHODS),
        ],
        lifespan=both,
    )
