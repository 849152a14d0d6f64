"""A concurrency gate in front of the database pool, which sheds load early.

Without it, a burst larger than the pool queues inside the pool: every
request waits its turn, latency grows with the queue, and past the clients'
own timeouts the service does work nobody will read. The gate lets ``limit``
requests in (the pool's size), queues at most ``queue_size`` more in arrival
order, and refuses the rest at once with :class:`Shed`, a 503 with
``Retry-After``. A waiter that has waited ``queue_timeout`` is refused too: a
prompt "come back later" is worth more than a late answer.

```python
gate = ConcurrencyGate(limit=10, queue_size=50, queue_timeout=1.0)

async with gate.slot():
    async with engine.connect() as conn:
        ...
```

A released slot passes straight to the first waiter, so a newcomer can never
overtake the queue. A waiter that is cancelled (client gone, request timed
out) leaves its place; one cancelled just after it was handed a slot passes
that slot on, so cancellation never leaks a slot.

The gate belongs to one event loop, like the pools: declare it at module scope
and use it from the instance's loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from types import TracebackType

from faasify.baas.throttle.errors import Shed

__all__ = ["ConcurrencyGate"]

# Weight of the newest sample in the moving average of slot hold times.
_HOLD_WEIGHT = 0.2


class ConcurrencyGate:
    """At most ``limit`` holders, ``queue_size`` FIFO waiters, the rest shed."""

    def __init__(self, limit: int, queue_size: int, queue_timeout: float) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        if queue_size < 0:
            raise ValueError(f"queue_size cannot be negative: {queue_size!r}")
        if queue_timeout < 0:
            raise ValueError(f"queue_timeout cannot be negative: {queue_timeout!r}")
        self.limit = limit
        self.queue_size = queue_size
        self.queue_timeout = queue_timeout
        self.shed_total = 0
        self._in_use = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._mean_hold: float | None = None

    @property
    def in_use(self) -> int:
        """Slots held right now (at most ``limit``)."""
        return self._in_use

    @property
    def waiting(self) -> int:
        """Requests queued for a slot right now (at most ``queue_size``)."""
        return len(self._waiters)

    def slot(self) -> _Slot:
        """A slot for the ``async with`` block; raises :class:`Shed` on entry if refused."""
        return _Slot(self)

    def retry_after(self) -> float:
        """Seconds a refused client should wait: the time the queue ahead takes to drain.

        Estimated from a moving average of how long slots are held; before the
        first release, ``queue_timeout``, after which the queue has turned over.
        """
        if self._mean_hold is None:
            return self.queue_timeout
        return self._mean_hold * (len(self._waiters) + 1) / self.limit

    async def _acquire(self) -> None:
        if self._in_use < self.limit and not self._waiters:
            self._in_use += 1
            return
        if len(self._waiters) >= self.queue_size:
            raise self._shed(f"{self.limit} requests in progress and {self.waiting} waiting")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.queue_timeout, self._expire, waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed a slot in the same instant as cancelled: pass it on.
                self._release()
            else:
                self._discard(waiter)
            raise
        finally:
            timer.cancel()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot changes hands; in_use stays
                return
        self._in_use -= 1

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._discard(waiter)
            waiter.set_exception(self._shed(f"waited {self.queue_timeout:g} s for a slot"))

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already gone: expired or handed a slot
            self._waiters.remove(waiter)

    def _shed(self, reason: str) -> Shed:
        self.shed_total += 1
        return Shed(f"the service is busy: {reason}", retry_after=self.retry_after())

    def _held(self, seconds: float) -> None:
        mean = self._mean_hold
        self._mean_hold = seconds if mean is None else mean + _HOLD_WEIGHT * (seconds - mean)

    def __repr__(self) -> str:
        return (
            f"<ConcurrencyGate in_use={self._in_use}/{self.limit}, "
            f"waiting={self.waiting}/{self.queue_size}, shed_total={self.shed_total}>"
        )


class _Slot:
    """One use of the gate. Exit never awaits, so it cannot be interrupted."""

    __slots__ = ("_entered", "_gate")

    def __init__(self, gate: ConcurrencyGate) -> None:
        self._gate = gate
        self._entered = 0.0

    async def __aenter__(self) -> None:
        await self._gate._acquire()
        self._entered = time.monotonic()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._gate._held(time.monotonic() - self._entered)
        self._gate._release()
