"""A TCP proxy in front of PostgreSQL that a test can partition, strand or cut,
and that records the statements clients send through it.

It runs its own event loop in a thread, so the service under test (in process
or in another process) sees a real network path that misbehaves:

* ``partition()``: nothing flows either way and new connections hang, as when
  packets are dropped; ``heal()`` lets everything held back through.
* ``strand()``: the connections open now go silent for good while new ones
  work, as after a failover to a standby that the old sockets never reach.
* ``cut()``: every open connection is reset at once.

With ``record=True`` it parses the frontend side of PostgreSQL's protocol and
keeps the text of every simple query (``Q``) and every statement parsed for
the extended protocol (``P``), in order, in :attr:`FaultProxy.statements`.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["FaultProxy"]

T = TypeVar("T")

_SSL_REQUEST, _GSS_REQUEST, _CANCEL_REQUEST = 80877103, 80877104, 80877102


class _Link:
    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.stranded = False

    def abort(self) -> None:
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()


class _Recorder:
    """The frontend messages of one connection, parsed as they stream by."""

    def __init__(self, into: list[str]) -> None:
        self.buffer = bytearray()
        self.started = False
        self.into = into

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return
                (length, code) = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    return
                del self.buffer[:length]
                if code not in (_SSL_REQUEST, _GSS_REQUEST, _CANCEL_REQUEST):
                    self.started = True  # the StartupMessage
                continue
            if len(self.buffer) < 5:
                return
            kind = self.buffer[0:1]
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            body = bytes(self.buffer[5 : 1 + length])
            del self.buffer[: 1 + length]
            if kind == b"Q":
                self.into.append(body.split(b"\x00", 1)[0].decode("utf-8", "replace"))
            elif kind == b"P":
                _name, query, _rest = body.split(b"\x00", 2)
                self.into.append(query.decode("utf-8", "replace"))


class FaultProxy:
    """``with FaultProxy(5432) as proxy: url = proxy.url(pg_url)``; see the module."""

    def __init__(self, target_port: int, *, record: bool = False) -> None:
        self.target_port = target_port
        self.record = record
        self.statements: list[str] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._links: set[_Link] = set()
        self._flowing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None

    # -- life --------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def url(self, pg_url: str) -> str:
        """``pg_url`` pointed at the proxy instead of PostgreSQL."""
        return pg_url.replace(f":{self.target_port}/", f":{self.port}/", 1)

    # -- faults ------------------------------------------------------------------------

    def partition(self) -> None:
        """Nothing flows either way, new connections hang, until :meth:`heal`."""
        self._call(self._set_flowing(False))

    def heal(self) -> None:
        self._call(self._set_flowing(True))

    def strand(self) -> None:
        """The connections open now go silent for good; new ones work."""

        async def strand() -> None:
            for link in self._links:
                link.stranded = True

        self._call(strand())

    def cut(self) -> None:
        """Reset every open connection."""

        async def cut() -> None:
            for link in list(self._links):
                link.abort()
            self._links.clear()

        self._call(cut())

    def open_links(self) -> int:
        async def count() -> int:
            return sum(1 for link in self._links if not link.stranded)

        return self._call(count())

    # -- plumbing ----------------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(10)

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for link in list(self._links):
            link.abort()
        self._links.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._flowing.wait()  # a partition: the connection attempt hangs
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            link.abort()
            self._links.discard(link)
            return
        link.server = up_writer
        recorder = _Recorder(self.statements) if self.record else None
        await asyncio.gather(
            self._pump(link, reader, up_writer, recorder), self._pump(link, up_reader, writer)
        )
        self._links.discard(link)

    async def _pump(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        recorder: _Recorder | None = None,
    ) -> None:
        assert self._flowing is not None
        with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                if link.stranded:
                    continue  # swallowed: the other side never hears of it
                if recorder is not None:
                    recorder.feed(data)
                writer.write(data)
                await writer.drain()
        if not link.stranded:
            writer.close()


@contextlib.contextmanager
def partitioned(proxy: FaultProxy) -> Iterator[None]:
    """A partition for the ``with`` block, healed however the block ends."""
    proxy.partition()
    try:
        yield
    finally:
        proxy.heal()
