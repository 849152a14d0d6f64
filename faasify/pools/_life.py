"""What every pool shares: opening on the instance's loop, closing at its end,
and knowing when a connection has sat idle long enough to deserve a check."""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Awaitable, Callable

from faasify._exceptions import PoolError
from faasify.core.instance import current_instance

__all__ = [
    "IdleClock",
    "opened_pools",
    "register_async_close",
    "register_sync_close",
    "socket_has_news",
]

#: Every pool this process opened, by the object whose method closes it: what a
#: SnapStart snapshot must close (faasify.adapters.aws.runtime.snapstart). Each
#: pool opens again on its next use.
opened_pools: dict[int, tuple[str, Callable[[], object], bool]] = {}


def _remember(name: str, close: Callable[[], object], asynchronous: bool) -> None:
    owner = getattr(close, "__self__", close)
    opened_pools[id(owner)] = (name, close, asynchronous)


class IdleClock:
    """Tells whether the last use was longer ago than ``threshold`` seconds.

    A Lambda instance is frozen between invokes; while frozen, the server, a
    proxy or a NAT may close its sockets without the instance noticing. An
    invoke that follows a long gap therefore checks its connection first; one
    that follows a short gap does not pay for a ping.
    """

    __slots__ = ("_last", "threshold")

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._last: float | None = None

    def touch(self) -> None:
        self._last = time.monotonic()

    def idle_too_long(self) -> bool:
        last = self._last
        return last is not None and time.monotonic() - last > self.threshold


def socket_has_news(fileno: int) -> bool:
    """Whether an idle connection's socket has something to read.

    A connection at rest should have nothing pending; data or end-of-file
    means the server spoke first, which it does when it closes the session
    (``pg_terminate_backend``, ``idle_session_timeout``, a restart). One
    non-blocking ``select`` call, no round trip.
    """
    try:
        readable, _, _ = select.select([fileno], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def register_async_close(name: str, close: Callable[[], Awaitable[None]]) -> None:
    """Close an async pool once, on the instance's loop, when the instance ends."""
    _remember(name, close, True)
    instance = current_instance()

    def on_shutdown(seconds_left: float) -> None:
        import asyncio

        loop = instance.loop
        if loop.is_closed() or loop.is_running():
            return
        # A pool that cannot close cleanly in time is left to the process exit.
        with contextlib.suppress(asyncio.TimeoutError, OSError, PoolError):
            loop.run_until_complete(asyncio.wait_for(close(), max(seconds_left, 0.05)))

    on_shutdown.__qualname__ = f"close pool {name}"
    instance.on_shutdown(on_shutdown)


def register_sync_close(name: str, close: Callable[[], None]) -> None:
    """Close a sync pool once when the instance ends."""
    _remember(name, close, False)

    def on_shutdown(seconds_left: float) -> None:
        close()

    on_shutdown.__qualname__ = f"close pool {name}"
    current_instance().on_shutdown(on_shutdown)
