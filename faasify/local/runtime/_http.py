"""A minimal HTTP/1.1 server on asyncio streams, for the Runtime API listeners.

The protocol work is h11's; this module only loops over requests on each
connection (keep-alive, as the runtime clients use it) and hands each one to
an ``async`` function. It installs no signal handlers and needs no thread, so
one process can run a listener per instance next to the front server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import h11

__all__ = ["Handler", "Listener"]

#: ``(method, target, body) -> (status, headers, body)``
Handler = Callable[[str, str, bytes], Awaitable[tuple[int, list[tuple[str, str]], bytes]]]


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(65536))


async def _serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            event = await _next_event(conn, reader)
            if not isinstance(event, h11.Request):
                return
            chunks = []
            while True:
                part = await _next_event(conn, reader)
                if isinstance(part, h11.Data):
                    chunks.append(bytes(part.data))
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            status, headers, body = await handler(
                event.method.decode(), event.target.decode(), b"".join(chunks)
            )
            head = [*headers, ("Content-Length", str(len(body)))]
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

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1") -> None:
        sock = socket.socket()
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._accept, sock=sock)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(_serve_connection(self._handler, reader, writer))
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
