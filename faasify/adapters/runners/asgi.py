"""One ASGI HTTP request/response cycle on the instance's persistent loop.

The whole cycle is one ``run_until_complete`` of the app's own coroutine: no
extra task, queue or thread, which is what a hand-written call would cost. The
scope advertises ASGI spec 2.4 because the response is buffered and the
"client" can never disconnect mid-response; frameworks then skip the
per-request task that listens for a disconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faasify.adapters.http import Request, Response
from faasify.adapters.types import ASGIApp, Message

__all__ = ["ASGIRunner", "IncompleteResponseError"]

_ASGI = {"version": "3.0", "spec_version": "2.4"}
_DISCONNECT: Message = {"type": "http.disconnect"}


class IncompleteResponseError(RuntimeError):
    """The app returned without sending a response."""


def _asgi_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    try:
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    except UnicodeEncodeError:
        # Values outside Latin-1 arrive from clients that sent raw UTF-8.
        return [(name.encode("utf-8"), value.encode("utf-8")) for name, value in headers]


class _Cycle:
    """The receive/send pair of one request, collecting the buffered response."""

    __slots__ = ("_body", "_loop", "_read", "_waiter", "chunks", "complete", "headers", "status")

    def __init__(self, body: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self._body = body
        self._loop = loop
        self._read = False
        self._waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: Any = ()
        self.chunks: list[bytes] = []
        self.complete = False

    async def receive(self) -> Message:
        if not self._read:
            self._read = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        # The body is read: the next event is the end of the connection, which
        # for a buffered response comes once the response is complete.
        if not self.complete:
            self._waiter = self._loop.create_future()
            await self._waiter
        return _DISCONNECT

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if not self.status:
                raise RuntimeError("http.response.body sent before http.response.start")
            body = message.get("body")
            if body:
                self.chunks.append(body)
            if not message.get("more_body", False):
                self.complete = True
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        elif kind == "http.response.start":
            if self.status:
                raise RuntimeError("http.response.start sent twice")
            self.status = message["status"]
            self.headers = message.get("headers", ())
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in an HTTP cycle")


class ASGIRunner:
    """Runs HTTP requests through an ASGI 3 app on one persistent loop."""

    __slots__ = ("_app", "_late_error", "_loop", "_state")

    def __init__(
        self,
        app: ASGIApp,
        loop: asyncio.AbstractEventLoop,
        state: dict[str, Any] | None = None,
        late_error: Callable[[Request, Exception], None] | None = None,
    ) -> None:
        self._app = app
        self._loop = loop
        self._state = state
        self._late_error = late_error

    def run(self, request: Request) -> Response:
        root_path = request.root_path
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.scheme,
            "path": root_path + request.path if root_path else request.path,
            "raw_path": request.raw_path,
            "root_path": root_path,
            "query_string": request.query_string,
            "headers": _asgi_headers(request.headers),
            "client": request.client,
            "server": request.server,
            "aws.event": request.event,
            "aws.context": request.context,
        }
        if self._state is not None:
            scope["state"] = self._state.copy()
        cycle = _Cycle(request.body, self._loop)
        try:
            self._loop.run_until_complete(self._app(scope, cycle.receive, cycle.send))
        except Exception as exc:
            if not cycle.complete:
                raise
            # The response is whole (Starlette, for one, sends its 500 page and
            # then re-raises): the client gets it and the error is reported.
            if self._late_error is not None:
                self._late_error(request, exc)
        if not cycle.status:
            raise IncompleteResponseError("the app returned without sending a response")
        return Response(
            cycle.status,
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in cycle.headers],
            b"".join(cycle.chunks),
        )
