"""The runtime's front door: HTTP requests in, events to instances, responses out."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faasify.local.events import EventFormat, build_event, read_result
from faasify.local.runtime.request_log import LogFormat, log_request
from faasify.local.runtime.scaler import InvokeOutcome, Scaler
from faasify.local.runtime.websocket import WebSocketApi

__all__ = ["METRICS_PATH", "create_app"]

METRICS_PATH = "/_faasify/metrics"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def _error(status: int, message: str, **headers: str) -> Response:
    body = json.dumps({"message": message}).encode()
    return Response(body, status, media_type="application/json", headers=headers)


def _response(outcome: InvokeOutcome) -> Response:
    """What the client gets for ``outcome``: the function's answer, or the runtime's error."""
    if outcome.status == 429:
        return _error(429, "Rate Exceeded: every instance is busy", **{"Retry-After": "1"})
    if outcome.result is None:
        message = {502: "the function failed", 504: "the function timed out"}.get(
            outcome.status, "error"
        )
        return _error(outcome.status, f"{message}: {outcome.error}")
    try:
        result = read_result(outcome.result)
    except (KeyError, TypeError, ValueError):
        outcome.error = "the function returned something that is not an HTTP response"
        return _error(502, outcome.error)
    response = Response(result.body, result.status)
    response.raw_headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in result.headers
        if name.lower() not in _HOP_BY_HOP
    ] + [(b"content-length", str(len(result.body)).encode())]
    return response


def create_app(
    scaler: Scaler, event_format: EventFormat = "http-api-v2", *, log_format: LogFormat = "text"
) -> Starlette:
    """A Starlette app that serves every path through ``scaler``'s instances.

    Every request is logged as one line (see :mod:`.request_log`) with the
    status the client got.
    """

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(scaler.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def invoke(request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        host, port = request.url.hostname or "127.0.0.1", request.url.port or 80
        event: dict[str, Any] = build_event(
            event_format,
            request.method,
            raw_path.decode("latin-1"),
            request.url.query,
            [
                *request.headers.items(),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-port", str(port)),
            ],
            await request.body(),
            host=None if event_format == "function-url" else host,
            source_ip=request.client.host if request.client else "127.0.0.1",
        )
        outcome = await scaler.invoke(event)
        response = _response(outcome)
        log_request(request.method, request.url.path, response.status_code, outcome, log_format)
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await scaler.start()
        try:
            yield
        finally:
            await scaler.close()

    # A WebSocket to any path is a WebSocket API's connection (see .websocket).
    websockets = WebSocketApi(scaler, log_format=log_format)
    return Starlette(
        routes=[
            Route(METRICS_PATH, metrics),
            *websockets.routes(),
            Route("/{path:path}", invoke, methods=_METHODS),
        ],
        lifespan=lifespan,
    )
