"""The pool of one: a single connection held directly, for ``max_size=1``.

One request per instance at a time needs one connection, and a general pool
pays for generality on every checkout: asyncpg's adds a task and two timers
per query (measured: three extra event-loop turns). This holder has the same
``acquire``/``release``/``close`` shape; an uncontended checkout is a lock
taken without suspending, and a timeout applies only when a second user
actually has to wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["OneConnection"]


class OneConnection:
    """Holds the instance's connection; reconnects when it is found closed."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        init: Callable[[Any], Awaitable[None]],
        reset: Callable[[Any], Awaitable[None]],
        dropped: Callable[[str], None],
    ) -> None:
        self._connect = connect
        self._init = init
        self._reset = reset
        self._dropped = dropped
        self._connection: Any = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Make the connection now (``min_size=1``: at cold start)."""
        async with self._lock:
            await self._ensure()

    async def _ensure(self) -> Any:
        connection = self._connection
        if connection is None or connection.is_closed():
            if connection is not None:
                self._dropped("connection closed; replacing it")
            connection = self._connection = await self._connect()
            await self._init(connection)
        return connection

    async def acquire(self, timeout: float | None = None) -> Any:
        if self._lock.locked():
            await asyncio.wait_for(self._lock.acquire(), timeout)
        else:
            await self._lock.acquire()  # free: returns without suspending
        try:
            return await self._ensure()
        except BaseException:
            self._lock.release()
            raise

    async def release(self, connection: Any) -> None:
        try:
            if not connection.is_closed():
                await self._reset(connection)
        except Exception:
            connection.terminate()
        finally:
            self._lock.release()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close()
