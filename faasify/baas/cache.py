"""The last good answer of every read, kept to serve while the database is down.

Reads are answered from the database; each answer is also kept here. When the
database cannot be reached (or the breaker is open), a read is answered with
the kept copy, marked stale (``Faasify-Stale: true`` and ``Age``), instead of
a 503. A write invalidates the writer's kept reads of that collection by
bumping a generation number, which costs one operation and no key scan.

``MemoryReadCache`` keeps answers in the instance (bounded, LRU);
``RedisReadCache`` shares them between service instances.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["MemoryReadCache", "ReadCache", "RedisReadCache", "Stored"]

Stored = tuple[Any, float]  # (the JSON answer, when it was stored, epoch seconds)


class ReadCache(Protocol):
    async def generation(self, scope: str) -> int: ...
    async def invalidate(self, scope: str) -> None: ...
    async def put(self, key: str, value: Any) -> None: ...
    async def get(self, key: str) -> Stored | None: ...


class MemoryReadCache:
    """Kept answers in this process, at most ``max_entries`` of them."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, Stored] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._max = max_entries

    async def generation(self, scope: str) -> int:
        return self._generations.get(scope, 0)

    async def invalidate(self, scope: str) -> None:
        self._generations[scope] = self._generations.get(scope, 0) + 1

    async def put(self, key: str, value: Any) -> None:
        self._entries[key] = (value, time.time())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> Stored | None:
        return self._entries.get(key)


class RedisReadCache:
    """Kept answers in Redis, shared by every service instance, for ``keep_for`` s."""

    def __init__(
        self,
        redis: Any | Callable[[], Any],
        *,
        keep_for: float = 86_400,
        prefix: str = "faasify:read:",
    ) -> None:
        self._redis = redis
        self._keep_ms = int(keep_for * 1000)
        self._prefix = prefix

    def _client(self) -> Any:
        return (
            self._redis()
            if callable(self._redis) and not hasattr(self._redis, "get")
            else self._redis
        )

    async def generation(self, scope: str) -> int:
        value = await self._client().get(f"{self._prefix}gen:{scope}")
        return int(value or 0)

    async def invalidate(self, scope: str) -> None:
        await self._client().incr(f"{self._prefix}gen:{scope}")

    async def put(self, key: str, value: Any) -> None:
        payload = json.dumps([value, time.time()])
        await self._client().set(f"{self._prefix}{key}", payload, px=self._keep_ms)

    async def get(self, key: str) -> Stored | None:
        raw = await self._client().get(f"{self._prefix}{key}")
        if raw is None:
            return None
        value, stored_at = json.loads(raw)
        return value, float(stored_at)
