"""One ASGI HTTP request/response cycle on the instance's persistent loop.

The whole cycle is one run of the app's own coroutine (:func:`faasify.core.eager.run`:
no turn of the loop at all when the app awaits nothing), with no extra queue
or thread. The scope advertises ASGI spec 2.4 because the response is buffered
and the "client" can never disconnect mid-response; frameworks then skip the
per-request task that listens for a disconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faasify.core.eager import run
from faasify.core.http import Request, Response

if TYPE_CHECKING:
    from faasify.core.types import ASGIApp, Message

__all__ = ["ASGIRunner"]

_ASGI = {"version": "3.0", "spec_version": "2.4"}
_DISCONNECT: Message = {"type": "http.disconnect"}


def _asgi_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    # UTF-8 restores the bytes a client sent: the platforms decode them as UTF-8.
    try:
        return [(name.encode(), value.encode()) for name, value in headers]
    except AttributeError:
        from faasify._exceptions import InvalidRequestError

        raise InvalidRequestError("header names and values must be strings") from None
    except UnicodeEncodeError:
        from faasify._exceptions import InvalidRequestError

        raise InvalidRequestError("a header holds bytes that are not text") from None


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
        if self._state:
            # A shallow copy per request, as uvicorn gives: shared values, and
            # keys a request adds stay its own. An empty state needs no copy;
            # frameworks create their own on first use.
            scope["state"] = self._state.copy()

        # The cycle's state lives in closures: cheaper per invoke than an object.
        loop = self._loop
        body = request.body
        read = complete = False
        status = 0
        headers: Any = ()
        chunks: list[bytes] = []
        waiter: asyncio.Future[None] | None = None

        async def receive() -> Message:
            nonlocal read, waiter
            if not read:
                read = True
                return {"type": "http.request", "body": body, "more_body": False}
            # The body is read: the next event is the end of the connection,
            # which for a buffered response comes once the response is whole.
            if not complete:
                waiter = loop.create_future()
                await waiter
            return _DISCONNECT

        async def send(message: Message) -> None:
            nonlocal status, headers, complete
            kind = message["type"]
            if kind == "http.response.body":
                if not status:
                    from faasify._exceptions import AppProtocolError

                    raise AppProtocolError("http.response.body sent before http.response.start")
                chunk = message.get("body")
                if chunk:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    complete = True
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
            elif kind == "http.response.start":
                if status:
                    from faasify._exceptions import AppProtocolError

                    raise AppProtocolError("http.response.start sent twice")
                status = message["status"]
                headers = message.get("headers", ())
            else:
                from faasify._exceptions import AppProtocolError

                raise AppProtocolError(f"unexpected ASGI message {kind!r} in an HTTP cycle")

        try:
            run(loop, self._app(scope, receive, send))
        except Exception as exc:
            if not complete:
                raise
            # The response is whole (Starlette, for one, sends its 500 page and
            # then re-raises): the client gets it and the error is reported.
            if self._late_error is not None:
                self._late_error(request, exc)
        if not status:
            from faasify._exceptions import IncompleteResponseError

            raise IncompleteResponseError("the app returned without sending a response")
        return Response(
            status,
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers],
            b"".join(chunks),
        )
