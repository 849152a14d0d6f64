"""The last good answer of every read, kept to serve while the database is down.

Reads are answered from the database; each answer is also kept here, under the
caller's scope (its tenant and owner, and the collection) and the request's path
and query. When the database cannot be reached (or the breaker is open), a read
is answered with the kept copy, marked stale (``Faasify-Stale: true`` and
``Age``), instead of a 503. A write drops the writer's kept reads of that
collection (and of its named queries).

``MemoryReadCache`` keeps answers in the instance (bounded, LRU);
``RedisReadCache`` shares them between service instances: each scope is one
hash, so keeping an answer, finding one and dropping a scope are one round trip
each.
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
    async def keep(self, scope: str, field: str, value: Any) -> None:
        """Keep ``value`` as the answer to ``field`` (a path and query) in ``scope``."""
        ...

    async def kept(self, scope: str, field: str) -> Stored | None:
        """The answer kept for ``field`` in ``scope``, and when it was kept."""
        ...

    async def drop(self, *scopes: str) -> None:
        """Forget every answer kept in each of ``scopes``."""
        ...


class MemoryReadCache:
    """Kept answers in this process, at most ``max_entries`` of them.

    Dropping a scope bumps its generation number, which the entries' keys carry,
    so it costs one operation however many answers the scope holds; the orphaned
    entries age out of the LRU.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[tuple[str, int, str], Stored] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._max = max_entries

    async def keep(self, scope: str, field: str, value: Any) -> None:
        key = (scope, self._generations.get(scope, 0), field)
        self._entries[key] = (value, time.time())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def kept(self, scope: str, field: str) -> Stored | None:
        return self._entries.get((scope, self._generations.get(scope, 0), field))

    async def drop(self, *scopes: str) -> None:
        for scope in scopes:
            self._generations[scope] = self._generations.get(scope, 0) + 1


class RedisReadCache:
    """Kept answers in Redis, shared by every service instance, for ``keep_for`` s
    after the scope was last read."""

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

    async def keep(self, scope: str, field: str, value: Any) -> None:
        key = self._prefix + scope
        payload = json.dumps([value, time.time()])
        pipeline = self._client().pipeline(transaction=False)
        pipeline.hset(key, field, payload)
        pipeline.pexpire(key, self._keep_ms)
        await pipeline.execute()

    async def kept(self, scope: str, field: str) -> Stored | None:
        raw = await self._client().hget(self._prefix + scope, field)
        if raw is None:
            return None
        value, stored_at = json.loads(raw)
        return value, float(stored_at)

    async def drop(self, *scopes: str) -> None:
        if scopes:
            await self._client().delete(*(self._prefix + scope for scope in scopes))
