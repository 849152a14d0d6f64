"""The candidates: ways of getting one request through one app, all timed the same way.

A candidate turns an app and a workload into a :class:`Prepared` call: the
function the benchmark times, its arguments, and a reader that recovers the
status and body from whatever the function returns (a Lambda result dict, or
the floor's own tuple). Arguments are passed through pytest-benchmark rather
than closed over in a lambda so that no candidate pays for an extra Python
frame the others do not.

The *floor* is the app called directly with a hand-built scope or environ: it
is what the app costs with no adapter at all, so ``candidate / floor`` is the
adapter's overhead as a factor, comparable across apps of different weight.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from benchmarks.apps.workload import WORKLOADS, Workload, asgi_scope, wsgi_environ
from faasify import handler
from faasify.adapters.aws.events import read_result
from faasify.local.context import LocalContext

__all__ = ["CANDIDATES", "CONTEXT", "FLOOR_SPEC_VERSION", "Candidate", "Prepared"]

#: The ASGI spec version faasify's scope advertises (runners/asgi.py); the
#: floor must advertise the same so that the app takes the same code path.
FLOOR_SPEC_VERSION = "2.4"

#: One Lambda context for every invoke, as the runtime would pass.
CONTEXT = LocalContext(function_name="faasify-bench", request_id="bench-request-id")

Reader = Callable[[Any], tuple[int, bytes]]


def _noop() -> None:
    """Nothing to release."""


@dataclass
class Prepared:
    """A candidate ready to time: ``call(*args)`` is one invoke."""

    call: Callable[..., Any]
    args: tuple[Any, ...]
    read: Reader
    close: Callable[[], None] = field(default=_noop)


Preparer = Callable[[Any, Workload], Prepared]


@dataclass(frozen=True)
class Candidate:
    """A named adapter (or the floor), with a preparer per app kind it supports."""

    name: str
    preparers: Mapping[str, Preparer]

    def supports(self, kind: str) -> bool:
        return kind in self.preparers

    def prepare(self, app: Any, kind: str, workload: Workload) -> Prepared:
        return self.preparers[kind](app, workload)


def _read_lambda(result: dict[str, Any]) -> tuple[int, bytes]:
    """Status and body of a Lambda HTTP result, base64 or not."""
    http = read_result(result)
    return http.status, http.body


def _read_tuple(result: tuple[int, Any, bytes]) -> tuple[int, bytes]:
    return result[0], result[2]


@functools.cache
def _faasify_spec_version() -> str:
    """The spec version faasify really puts in the scope, read by a probe app.

    Checked rather than assumed, so that a change in faasify cannot silently
    make the floor do different work from the app behind faasify.
    """
    seen: dict[str, Any] = {}

    async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")  # "auto" mode: treated as unsupported
        seen.update(scope["asgi"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    probe_handler = handler(probe)
    try:
        probe_handler(WORKLOADS["GET"].event, CONTEXT)
    finally:
        probe_handler.close()
    return str(seen["spec_version"])


def _asgi_floor(app: Any, workload: Workload) -> Prepared:
    """The ASGI app on one persistent loop, with minimal receive/send closures.

    This is the least any buffered adapter can do: copy the scope (apps write
    into it), hand over the body, collect the response.
    """
    advertised = _faasify_spec_version()
    if advertised != FLOOR_SPEC_VERSION:
        raise AssertionError(
            f"faasify advertises ASGI spec {advertised}, floor {FLOOR_SPEC_VERSION}"
        )
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    base_scope = asgi_scope(workload, FLOOR_SPEC_VERSION)
    body = workload.body

    def call() -> tuple[int, Any, bytes]:
        scope = dict(base_scope)
        received = False
        status = 0
        headers: Any = ()
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
            else:
                chunk = message.get("body")
                if chunk:
                    chunks.append(chunk)

        run(app(scope, receive, send))
        return status, headers, b"".join(chunks)

    return Prepared(call, (), _read_tuple, loop.close)


def _wsgi_floor(app: Any, workload: Workload) -> Prepared:
    """The WSGI app called with a prebuilt environ: a copy and a fresh input stream per call."""
    base_environ = wsgi_environ(workload)
    body = workload.body

    def call() -> tuple[int, Any, bytes]:
        environ = dict(base_environ)
        environ["wsgi.input"] = io.BytesIO(body)
        started: list[Any] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            started[:] = (status, headers)
            return None

        result = app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(started[0][:3]), started[1], content

    return Prepared(call, (), _read_tuple)


def _faasify(app: Any, workload: Workload) -> Prepared:
    """The public API, as a user writes it; lifespan startup happens here, once."""
    lambda_handler = handler(app)
    return Prepared(lambda_handler, (workload.event, CONTEXT), _read_lambda, lambda_handler.close)


def _mangum(lifespan: Literal["auto", "on", "off"]) -> Preparer:
    def prepare(app: Any, workload: Workload) -> Prepared:
        from mangum import Mangum

        return Prepared(Mangum(app, lifespan=lifespan), (workload.event, CONTEXT), _read_lambda)

    return prepare


def _apig_wsgi(app: Any, workload: Workload) -> Prepared:
    from apig_wsgi import make_lambda_handler

    return Prepared(make_lambda_handler(app), (workload.event, CONTEXT), _read_lambda)


def _serverless_wsgi(app: Any, workload: Workload) -> Prepared:
    from serverless_wsgi import handle_request

    return Prepared(handle_request, (app, workload.event, CONTEXT), _read_lambda)


def _mangum_a2wsgi(app: Any, workload: Workload) -> Prepared:
    """Flask behind an ASGI bridge: a2wsgi runs each request on its thread pool."""
    from a2wsgi import WSGIMiddleware
    from mangum import Mangum

    bridge: Any = WSGIMiddleware(app)
    return Prepared(
        Mangum(bridge, lifespan="off"),
        (workload.event, CONTEXT),
        _read_lambda,
        lambda: bridge.executor.shutdown(wait=True),
    )


def _candidates(*items: Candidate) -> dict[str, Candidate]:
    return {candidate.name: candidate for candidate in items}


#: Every candidate, in the order the report lists them (floor first).
CANDIDATES: dict[str, Candidate] = _candidates(
    Candidate("floor", {"asgi": _asgi_floor, "wsgi": _wsgi_floor}),
    Candidate("faasify", {"asgi": _faasify, "wsgi": _faasify}),
    Candidate("mangum-off", {"asgi": _mangum("off")}),
    Candidate("mangum-auto", {"asgi": _mangum("auto")}),
    Candidate("apig-wsgi", {"wsgi": _apig_wsgi}),
    Candidate("serverless-wsgi", {"wsgi": _serverless_wsgi}),
    Candidate("mangum+a2wsgi", {"wsgi": _mangum_a2wsgi}),
)
