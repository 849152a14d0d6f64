"""The runtime's front door: HTTP requests in, events to instances, responses out.

A streamed answer (``--invoke-mode response-stream``) goes to the client as
it arrives, chunked, with the status and headers of its prelude; one that the
function ends with an error trailer, or that its instance stops sending, ends
the client's connection before the body's end, so that the client sees an
incomplete response rather than a whole one. In tenant isolation mode each
request names its tenant in ``X-Amz-Tenant-Id``, the header Lambda's Invoke
API takes it in.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from faasify.local.events import EventFormat, build_event, read_result
from faasify.local.runtime.request_log import LogFormat, log_request
from faasify.local.runtime.scaler import InvokeOutcome, Scaler
from faasify.local.runtime.streaming import StreamEnded
from faasify.local.runtime.websocket import WebSocketApi

if TYPE_CHECKING:
    from faasify.local.async_invoke.dispatcher import AsyncInvoker

__all__ = ["METRICS_PATH", "create_app"]

METRICS_PATH = "/_faasify/metrics"
TENANT_HEADER = "x-amz-tenant-id"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
# Tenant ids as Lambda takes them: 1 to 256 characters of letters, digits and
# a few marks (the Invoke API's TenantId constraints).
_TENANT = re.compile(r"[A-Za-z0-9._:/=+@-]{1,256}")


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


def _streamed(outcome: InvokeOutcome, done: Any) -> Response:
    """The streamed answer, served as it arrives; logged once its body has ended."""
    stream = outcome.stream
    assert stream is not None
    status, headers = stream.head.result()
    started = time.monotonic()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stream.body():
                yield chunk
        except StreamEnded as exc:
            outcome.error = f"the stream ended short: {exc}"
            # Raised on, the connection ends before the last chunk: the client
            # sees an incomplete body, not a whole one.
            raise
        finally:
            if not stream.done.done():
                stream.cancel()  # the client went away: so does the instance's stream
                outcome.error = "the client went away mid-stream"
            outcome.duration_ms += (time.monotonic() - started) * 1000
            done(outcome)

    response = StreamingResponse(body(), status)
    response.raw_headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers
        if name.lower() not in _HOP_BY_HOP
    ]
    return response


def create_app(
    scaler: Scaler,
    event_format: EventFormat = "http-api-v2",
    *,
    log_format: LogFormat = "text",
    async_invoker: AsyncInvoker | None = None,
) -> Starlette:
    """A Starlette app that serves every path through ``scaler``'s instances.

    Every request is logged as one line (see :mod:`.request_log`) with the
    status the client got; a streamed one when its body has ended. Lambda's
    Invoke API (:mod:`.invoke_api`) and OpenFaaS's ``/async-function/``
    (:mod:`.openfaas_async`) are served too; their asynchronous invokes go
    through ``async_invoker`` (by default one on an in-process queue).
    """
    # Imported here: faasify.local.async_invoke builds on this package's modules.
    from faasify.local.async_invoke.dispatcher import AsyncInvoker
    from faasify.local.runtime.invoke_api import invoke_api_routes
    from faasify.local.runtime.openfaas_async import openfaas_async_routes

    invoker = async_invoker or AsyncInvoker(scaler, log_format=log_format)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(scaler.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def invoke(request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        host, port = request.url.hostname or "127.0.0.1", request.url.port or 80
        tenant = None
        if scaler.tenant_isolation:
            tenant = request.headers.get(TENANT_HEADER)
            if tenant is None or not _TENANT.fullmatch(tenant):
                what = "has no" if tenant is None else "has an invalid"
                response = _error(
                    400,
                    f"this function runs in tenant isolation mode and the request {what} "
                    f"tenant id: send 1 to 256 letters, digits or ._:/=+@- in {TENANT_HEADER}",
                )
                log_request(
                    request.method,
                    request.url.path,
                    400,
                    InvokeOutcome("", 400, None, "no tenant id", None, False, None, 0.0, 0.0),
                    log_format,
                )
                return response
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
        method, path = request.method, request.url.path
        outcome = await scaler.invoke(event, tenant=tenant, label=f"{method} {path}")
        if outcome.stream is not None:

            def finished(done: InvokeOutcome) -> None:
                log_request(method, path, done.status, done, log_format)

            return _streamed(outcome, finished)
        response = _response(outcome)
        log_request(method, path, response.status_code, outcome, log_format)
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await scaler.start()
        try:
            await invoker.start()
            try:
                yield
            finally:
                await invoker.close()
        finally:
            await scaler.close()

    # A WebSocket to any path is a WebSocket API's connection (see .websocket).
    websockets = WebSocketApi(scaler, log_format=log_format)
    return Starlette(
        routes=[
            Route(METRICS_PATH, metrics),
            *invoke_api_routes(scaler, invoker, log_format=log_format),
            *openfaas_async_routes(invoker, event_format, log_format=log_format),
            *websockets.routes(),
            Route("/{path:path}", invoke, methods=_METHODS),
        ],
        lifespan=lifespan,
    )
