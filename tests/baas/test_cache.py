"""Kept answers for stale reads: in process and in Redis, with generation invalidation."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from faasify.baas.cache import MemoryReadCache, RedisReadCache


async def _exercise(cache: Any) -> None:
    scope = f"acme:alice:todos:{uuid.uuid4().hex[:6]}"
    generation = await cache.generation(scope)
    key = f"{scope}:{generation}:/v1/todos?"
    assert await cache.get(key) is None
    before = time.time()
    await cache.put(key, {"items": [{"id": 1}], "next": None})
    value, stored_at = await cache.get(key)
    assert value == {"items": [{"id": 1}], "next": None}
    assert before - 1 <= stored_at <= time.time() + 1
    await cache.invalidate(scope)
    assert await cache.generation(scope) == generation + 1


def test_memory_cache_keeps_and_invalidates_by_generation() -> None:
    asyncio.run(_exercise(MemoryReadCache()))


def test_memory_cache_is_bounded() -> None:
    async def scenario() -> None:
        cache = MemoryReadCache(max_entries=3)
        for i in range(5):
            await cache.put(f"k{i}", i)
        assert await cache.get("k0") is None
        assert (await cache.get("k4") or (None,))[0] == 4

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_cache_is_shared_between_instances(redis_url: str) -> None:
    import redis.asyncio

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            await _exercise(RedisReadCache(client))
            # Two service instances see each other's kept answers and invalidations.
            one, two = RedisReadCache(lambda: client), RedisReadCache(client)
            key = f"shared:{uuid.uuid4().hex}"
            await one.put(key, [1, 2])
            assert (await two.get(key) or (None,))[0] == [1, 2]
        finally:
            await client.aclose()

    asyncio.run(scenario())
