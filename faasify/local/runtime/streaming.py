"""A streamed response, from an instance's Runtime API to the HTTP client, as it comes.

An instance in ``response-stream`` mode posts its answer with chunked
encoding (``Lambda-Runtime-Function-Response-Mode: streaming``). The listener
hands the body over as it is read (:class:`StreamedAnswer` is its
:class:`~faasify.local.runtime._http.BodySink`); the front serves it to the
HTTP client as it arrives, as a Function URL in ``RESPONSE_STREAM`` mode does:

- an ``application/vnd.awslambda.http-integration-response`` body starts with
  a JSON prelude (``statusCode``, ``headers``, ``multiValueHeaders``,
  ``cookies``) and eight NUL bytes; what follows is the client's body. A
  prelude that does not end within the first 16 KB is refused, as API Gateway
  refuses it. Any other content type streams as the body of a 200.
- the error trailers (``Lambda-Runtime-Function-Error-Type`` and
  ``-Body``) end the client's body short: its connection is dropped before the
  last chunk, so the client sees an incomplete response.
- only a few chunks wait between the two sides: a slow client holds the
  instance's writes, so a large download never piles up in memory here.
- a client that goes away closes the instance's connection, which faasify's
  loop answers by stopping the app's generator.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from faasify._exceptions import LocalRuntimeError

__all__ = ["PRELUDE_LIMIT", "StreamEnded", "StreamedAnswer"]

HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
PRELUDE_LIMIT = 16 * 1024
_DELIMITER = b"\0" * 8
_ACCEPTED = (202, [("Content-Type", "application/json")], b'{"status":"OK"}')
_END = object()


class StreamEnded(LocalRuntimeError):
    """The stream ended short: an error trailer, or the instance's connection closed."""

    def __init__(self, reason: str, error_type: str | None = None) -> None:
        super().__init__(reason)
        self.error_type = error_type


class StreamedAnswer:
    """One streamed answer: its head when known, its body chunk by chunk, its end."""

    def __init__(self, content_type: str, abort: Callable[[], None], *, depth: int = 4) -> None:
        loop = asyncio.get_running_loop()
        self._prelude = content_type.split(";", 1)[0].strip().lower() == HTTP_INTEGRATION
        self._abort = abort
        self._buffer = b""
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)
        #: ``(status, headers)`` once the prelude is read (or at once, without one).
        self.head: asyncio.Future[tuple[int, list[tuple[str, str]]]] = loop.create_future()
        #: The end: ``None`` when whole, else the :class:`StreamEnded` that cut it.
        self.done: asyncio.Future[StreamEnded | None] = loop.create_future()
        self.bytes = 0
        self.cancelled = False
        if not self._prelude:
            self.head.set_result((200, [("content-type", content_type)]))

    # -- the instance's side (the listener) ------------------------------------------

    async def feed(self, data: bytes) -> None:
        if self.done.done():
            return
        if not self.head.done():
            self._buffer += data
            head, found, rest = self._buffer.partition(_DELIMITER)
            if not found:
                if len(self._buffer) > PRELUDE_LIMIT:
                    self._fail(StreamEnded("the stream's prelude did not end within 16 KB"))
                    self._abort()
                return
            self._buffer = b""
            try:
                self.head.set_result(_read_prelude(head))
            except ValueError as exc:
                self._fail(StreamEnded(f"the stream's prelude is not valid: {exc}"))
                self._abort()
                return
            data = rest
        if data:
            self.bytes += len(data)
            await self._queue.put(data)

    async def end(
        self, trailers: list[tuple[str, str]]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        found = {name.lower(): value for name, value in trailers}
        error_type = found.get("lambda-runtime-function-error-type")
        if not self.head.done():
            self.head.set_result((200, []))  # an empty prelude-less end: nothing to stream
        if error_type:
            message = _error_message(found.get("lambda-runtime-function-error-body"))
            reason = StreamEnded(message or error_type, error_type)
            if not self.done.done():
                # After what was sent before the error: that part is the client's.
                self.done.set_result(reason)
                await self._queue.put(reason)
        elif not self.done.done():
            self.done.set_result(None)
            await self._queue.put(_END)
        return _ACCEPTED

    def broken(self) -> None:
        self._fail(StreamEnded("the instance's connection closed mid-stream"))

    def _fail(self, reason: StreamEnded) -> None:
        if not self.head.done():
            self.head.set_exception(reason)
            self.head.exception()  # a head nobody awaits is not "never retrieved"
        if not self.done.done():
            self.done.set_result(reason)
        # Past whatever waits in the queue: the reader sees the end next.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(reason)

    # -- the client's side (the front) ---------------------------------------------------

    async def body(self) -> AsyncIterator[bytes]:
        """The body's chunks as they come; raises :class:`StreamEnded` if it ends short."""
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, StreamEnded):
                raise item
            assert isinstance(item, bytes)
            yield item

    def cancel(self) -> None:
        """The client went away: close the instance's connection (its writes then fail)."""
        if self.done.done():
            return
        self.cancelled = True
        self._abort()
        self._fail(StreamEnded("the client went away"))


def _read_prelude(data: bytes) -> tuple[int, list[tuple[str, str]]]:
    prelude: Any = json.loads(data or b"{}")
    if not isinstance(prelude, dict):
        raise ValueError("not a JSON object")
    status = prelude.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r}")
    headers: list[tuple[str, str]] = [
        (str(name), str(value)) for name, value in (prelude.get("headers") or {}).items()
    ]
    for name, values in (prelude.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values or ())
    headers.extend(("set-cookie", str(cookie)) for cookie in prelude.get("cookies") or ())
    return status, headers


def _error_message(encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        error = json.loads(base64.b64decode(encoded))
    except ValueError:
        return None
    if isinstance(error, dict):
        return str(error.get("errorMessage") or "") or None
    return None
