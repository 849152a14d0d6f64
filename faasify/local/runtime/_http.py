"""A minimal HTTP/1.1 server on asyncio streams, for the Runtime API listeners.

The protocol work is h11's; this module only loops over requests on each
connection (keep-alive, as the runtime clients use it) and hands each one to
an ``async`` function. It installs no signal handlers and needs no thread, so
one process can run a listener per instance next to the front server.

A chunked request body can instead be handed over as it arrives, to a
:class:`BodySink` the listener's ``streamer`` gives for it (a streamed
response, ``Lambda-Runtime-Function-Response-Mode: streaming``): each chunk as
read, the trailers at the end. The sink's ``feed`` may wait (its reader is
slow): the connection is not read meanwhile, so the runtime's writes wait too.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Protocol

import h11

__all__ = ["BodySink", "Handler", "Listener", "Streamer"]

Headers = list[tuple[str, str]]
Answer = tuple[int, Headers, bytes]
#: ``(method, target, headers, body) -> (status, headers, body)``
Handler = Callable[[str, str, Headers, bytes], Awaitable[Answer]]


class BodySink(Protocol):
    """Where a request body goes as it is read."""

    async def feed(self, data: bytes) -> None:
        """One chunk of the body, as read."""
        ...

    async def end(self, trailers: Headers) -> Answer:
        """The body ended (with these trailers); the answer to the request."""
        ...

    def broken(self) -> None:
        """The connection ended before the body did."""
        ...


#: ``(method, target, headers, abort) -> sink or None``: a sink takes the body of
#: this request as it comes (``None``: read it whole for the handler); ``abort()``
#: closes the connection from this end.
Streamer = Callable[[str, str, Headers, Callable[[], None]], Awaitable[BodySink | None]]


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(65536))


def _text(pairs: list[tuple[bytes, bytes]]) -> Headers:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader) -> bytes | None:
    chunks = []
    while True:
        part = await _next_event(conn, reader)
        if isinstance(part, h11.Data):
            chunks.append(bytes(part.data))
        elif isinstance(part, h11.EndOfMessage):
            return b"".join(chunks)
        else:
            return None


async def _stream_body(
    sink: BodySink, conn: h11.Connection, reader: asyncio.StreamReader
) -> Answer | None:
    try:
        while True:
            part = await _next_event(conn, reader)
            if isinstance(part, h11.Data):
                await sink.feed(bytes(part.data))
            elif isinstance(part, h11.EndOfMessage):
                return await sink.end(_text(list(part.headers)))
            else:
                sink.broken()
                return None
    except BaseException:
        sink.broken()
        raise


async def _serve_connection(
    handler: Handler,
    streamer: Streamer | None,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            event = await _next_event(conn, reader)
            if not isinstance(event, h11.Request):
                return
            method, target = event.method.decode(), event.target.decode()
            headers = _text(list(event.headers))
            sink = None
            if streamer is not None and any(
                name == "transfer-encoding" and "chunked" in value.lower()
                for name, value in headers
            ):
                sink = await streamer(method, target, headers, writer.transport.abort)
            if sink is not None:
                answer = await _stream_body(sink, conn, reader)
                if answer is None:
                    return
            else:
                body = await _read_body(conn, reader)
                if body is None:
                    return
                answer = await handler(method, target, headers, body)
            status, head, body = answer
            head = [*head, ("Content-Length", str(len(body)))]
            # One write per response: small separate segments would meet the
            # client's delayed ACK and cost tens of milliseconds.
            writer.write(
                b"".join(
                    (
                        conn.send(h11.Response(status_code=status, headers=head)) or b"",
                        conn.send(h11.Data(data=body)) or b"",
                        conn.send(h11.EndOfMessage()) or b"",
                    )
                )
            )
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (h11.RemoteProtocolError, ConnectionError, asyncio.IncompleteReadError):
        return
    except asyncio.CancelledError:
        # The listener is being torn down (the instance stopped, the runtime
        # exits): ending the connection is the point, so the task ends quietly
        # rather than as "cancelled", which asyncio's stream callback would log.
        return
    finally:
        writer.close()


class Listener:
    """A listening socket and the connections it is serving, closed together.

    ``asyncio.Server.close`` (before Python 3.13) leaves connection handlers
    running; an instance that stops must end its runtime client's pending
    long poll too, so the handler tasks are tracked and cancelled here.
    """

    def __init__(self, handler: Handler, streamer: Streamer | None = None) -> None:
        self._handler = handler
        self._streamer = streamer
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1") -> None:
        sock = socket.socket()
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._accept, sock=sock)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(
            _serve_connection(self._handler, self._streamer, reader, writer)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
