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

__all__ = ["Handler", "serve"]

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
    finally:
        writer.close()


async def serve(handler: Handler, host: str = "127.0.0.1") -> tuple[asyncio.Server, int]:
    """Listen on an ephemeral port of ``host``; return the server and its port."""
    sock = socket.socket()
    sock.bind((host, 0))
    server = await asyncio.start_server(lambda r, w: _serve_connection(handler, r, w), sock=sock)
    return server, sock.getsockname()[1]
