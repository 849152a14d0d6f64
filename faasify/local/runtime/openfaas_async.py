"""OpenFaaS's asynchronous path, as ``faasify local`` serves it.

``/async-function/<name>[/path]`` takes the request as OpenFaaS's gateway
does: it is queued (the HTTP event the function would get for ``/path``) and
answered at once with 202 and the call's ``X-Call-Id`` (the client's own, if
it sent one). With an ``X-Callback-Url``, the function's result is POSTed
there when it has run (see :mod:`faasify.local.async_invoke.callback`). A
callback URL that is not http(s) is refused (400); a queue that cannot take
the event answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faasify._exceptions import QueueUnavailable
from faasify.local.async_invoke.dispatcher import AsyncInvoker
from faasify.local.events import EventFormat, build_event
from faasify.local.runtime.request_log import LogFormat, log_request
from faasify.local.runtime.scaler import InvokeOutcome

__all__ = ["openfaas_async_routes"]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_CALL_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Headers about the queueing itself, not for the function (which gets X-Call-Id).
_OWN = {"x-callback-url", "x-call-id"}


def _error(status: int, message: str, **headers: str) -> Response:
    return Response(
        json.dumps({"message": message}), status, media_type="application/json", headers=headers
    )


def openfaas_async_routes(
    invoker: AsyncInvoker, event_format: EventFormat, *, log_format: LogFormat = "text"
) -> list[Route]:
    """The ``/async-function/`` routes, queueing through ``invoker``."""

    async def queue(request: Request) -> Response:
        method, path = request.method, request.url.path
        call_id = request.headers.get("x-call-id") or str(uuid.uuid4())
        callback = request.headers.get("x-callback-url")

        def logged(response: Response, error: str | None = None) -> Response:
            status = response.status_code
            outcome = InvokeOutcome(call_id, status, None, error, None, False, None, 0.0, 0.0)
            log_request(method, path, status, outcome, log_format)
            return response

        if not _CALL_ID.fullmatch(call_id):
            message = "X-Call-Id must be 1 to 128 letters, digits or ._:-"
            return logged(_error(400, message), message)
        if callback is not None:
            parts = urlsplit(callback)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                message = f"X-Callback-Url {callback!r} is not an http(s) URL"
                return logged(_error(400, message), message)
        rest = request.path_params.get("rest", "")
        port = request.url.port or 80
        event = build_event(
            event_format,
            method,
            "/" + rest,
            request.url.query,
            [
                *((k, v) for k, v in request.headers.items() if k not in _OWN),
                ("x-call-id", call_id),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-port", str(port)),
            ],
            await request.body(),
            host=None if event_format == "function-url" else request.url.hostname,
            source_ip=request.client.host if request.client else "127.0.0.1",
        )
        try:
            await invoker.accept(event, "openfaas", event_id=call_id, callback_url=callback)
        except QueueUnavailable as exc:
            return logged(_error(503, str(exc), **{"Retry-After": "1"}), str(exc))
        return logged(Response(status_code=202, headers={"X-Call-Id": call_id}))

    return [
        Route("/async-function/{name}", queue, methods=_METHODS),
        Route("/async-function/{name}/{rest:path}", queue, methods=_METHODS),
    ]
