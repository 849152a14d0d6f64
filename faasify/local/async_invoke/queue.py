"""The queue behind asynchronous invocations: its protocol, and the in-process one.

A queue takes an event (``put`` returns once the event is safe: for JetStream,
once the stream acknowledged it) and hands events out as deliveries, which the
dispatcher settles: ``ack`` (done, gone from the queue), ``nak(delay)`` (back in
the queue, for later), ``in_progress`` (still working: do not redeliver yet).
:class:`MemoryQueue` is the embedded default: nothing to run, nothing survives
the process. :class:`~.jetstream.JetStreamQueue` is the durable one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Delivery", "MemoryQueue", "Queue"]


class Delivery(Protocol):
    """One message handed to the dispatcher, until it settles it."""

    @property
    def data(self) -> bytes: ...

    async def ack(self) -> None: ...

    async def nak(self, delay: float) -> None: ...

    async def in_progress(self) -> None: ...


class Queue(Protocol):
    """Where accepted events wait for the dispatcher."""

    #: How often a delivery being worked on must say so (``in_progress``), in seconds.
    heartbeat: float

    async def open(self) -> None:
        """Connect (raises :class:`~faasify.QueueUnavailable` if it cannot)."""

    async def put(self, data: bytes, message_id: str | None = None) -> None:
        """Keep ``data``; return once it is safe (raises ``QueueUnavailable`` if not).

        ``message_id`` names this publish, so that a queue that can drops a repeat."""

    async def get(self, most: int) -> Sequence[Delivery]:
        """At least one and at most ``most`` deliveries, waiting for them."""

    async def close(self) -> None: ...

    def describe(self) -> str: ...


class _MemoryDelivery:
    def __init__(self, queue: MemoryQueue, data: bytes) -> None:
        self._queue = queue
        self._data = data

    @property
    def data(self) -> bytes:
        return self._data

    async def ack(self) -> None:
        return None

    async def nak(self, delay: float) -> None:
        self._queue.later(self._data, delay)

    async def in_progress(self) -> None:
        return None


class MemoryQueue:
    """An in-process queue: events wait in memory, and a restart loses them."""

    heartbeat = 3600.0

    def __init__(self) -> None:
        self._ready: asyncio.Queue[bytes] | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    def _queue(self) -> asyncio.Queue[bytes]:
        if self._ready is None:
            self._ready = asyncio.Queue()
        return self._ready

    async def open(self) -> None:
        self._queue()

    async def put(self, data: bytes, message_id: str | None = None) -> None:
        self._queue().put_nowait(data)

    def later(self, data: bytes, delay: float) -> None:
        """Put ``data`` back after ``delay`` seconds."""
        if delay <= 0:
            self._queue().put_nowait(data)
            return

        def due() -> None:
            self._timers.discard(handle)
            self._queue().put_nowait(data)

        handle = asyncio.get_running_loop().call_later(delay, due)
        self._timers.add(handle)

    async def get(self, most: int) -> Sequence[Delivery]:
        queue = self._queue()
        found = [_MemoryDelivery(self, await queue.get())]
        while len(found) < most and not queue.empty():
            found.append(_MemoryDelivery(self, queue.get_nowait()))
        return found

    async def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    @property
    def depth(self) -> int:
        """Events waiting (not counting those waiting out a delay)."""
        return 0 if self._ready is None else self._ready.qsize()

    def describe(self) -> str:
        return "in-process queue"
