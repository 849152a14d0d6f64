"""Kept answers for stale reads: in process and in Redis, dropped by scope."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from faasify.baas.cache import MemoryReadCache, RedisReadCache


async def _exercise(cache: Any) -> None:
    scope = f"acme:alice:todos:{uuid.uuid4().hex[:6]}"
    other = f"{scope}:other"
    assert await cache.kept(scope, "/v1/todos?") is None
    before = time.time()
    await cache.keep(scope, "/v1/todos?", {"items": [{"id": 1}], "next": None})
    await cache.keep(scope, "/v1/todos?limit=1", {"items": [], "next": None})
    await cache.keep(other, "/v1/todos?", [1])
    value, stored_at = await cache.kept(scope, "/v1/todos?")
    assert value == {"items": [{"id": 1}], "next": None}
    assert before - 1 <= stored_at <= time.time() + 1
    await cache.drop(scope)
    assert await cache.kept(scope, "/v1/todos?") is None
    assert await cache.kept(scope, "/v1/todos?limit=1") is None
    assert (await cache.kept(other, "/v1/todos?"))[0] == [1]  # another scope stays


def test_memory_cache_keeps_and_drops_by_scope() -> None:
    asyncio.run(_exercise(MemoryReadCache()))


def test_memory_cache_is_bounded() -> None:
    async def scenario() -> None:
        cache = MemoryReadCache(max_entries=3)
        for i in range(5):
            await cache.keep("s", f"k{i}", i)
        assert await cache.kept("s", "k0") is None
        assert (await cache.kept("s", "k4") or (None,))[0] == 4

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_cache_is_shared_between_instances(redis_url: str) -> None:
    import redis.asyncio

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        prefix = f"faasify-test:{uuid.uuid4().hex[:8]}:"
        try:
            await _exercise(RedisReadCache(client, prefix=prefix))
            # Two service instances see each other's kept answers and drops.
            one, two = (
                RedisReadCache(lambda: client, prefix=prefix),
                RedisReadCache(client, prefix=prefix),
            )
            await one.keep("shared", "/x?", [1, 2])
            assert (await two.kept("shared", "/x?") or (None,))[0] == [1, 2]
            await two.drop("shared")
            assert await one.kept("shared", "/x?") is None
            ttl = await client.pttl(f"{prefix}scope-with-ttl")
            assert ttl == -2  # nothing kept there
            await one.keep("scope-with-ttl", "/y?", 1)
            assert 0 < await client.pttl(f"{prefix}scope-with-ttl") <= 86_400_000
        finally:
            keys = [key async for key in client.scan_iter(f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    asyncio.run(scenario())
