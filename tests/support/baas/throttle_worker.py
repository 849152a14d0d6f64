"""One "service instance" for the cross-process rate limit test.

Usage: python -m tests.support.baas.throttle_worker REDIS_URL KEY RATE PER BURST SECONDS

Prints ``READY`` once connected, waits for a line on stdin (so that all
workers start together), then hits KEY for SECONDS (at most ``_MAX_HITS``
times) and prints one JSON line: hits allowed and denied, and the wall-clock
times of its first and last hit.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from redis.asyncio import Redis

from faasify.baas.throttle import RedisRateLimiter

_MAX_HITS = 200_000


async def _main(url: str, key: str, rate: int, per: float, burst: int, seconds: float) -> None:
    client = Redis.from_url(url)
    try:
        await client.ping()
        limiter = RedisRateLimiter(client, rate=rate, per=per, burst=burst)
        print("READY", flush=True)
        sys.stdin.readline()
        allowed = denied = 0
        first = time.time()
        deadline = time.monotonic() + seconds
        last = first
        for _ in range(_MAX_HITS):
            decision = await limiter.hit(key)
            last = time.time()
            if decision.allowed:
                allowed += 1
            else:
                denied += 1
            if time.monotonic() >= deadline:
                break
        report = {"allowed": allowed, "denied": denied, "first": first, "last": last}
        print(json.dumps(report), flush=True)
    finally:
        await client.aclose()


if __name__ == "__main__":
    url, key, rate, per, burst, seconds = sys.argv[1:7]
    asyncio.run(_main(url, key, int(rate), float(per), int(burst), float(seconds)))
