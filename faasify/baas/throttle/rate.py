"""Per-client rate limits with GCRA, the generic cell rate algorithm.

GCRA is a token bucket written as one number per client: the *theoretical
arrival time* (TAT) at which the client's bucket would be full again. A hit is
allowed when moving the TAT one emission interval ``T = per / rate`` later
keeps it within the tolerance ``burst * T`` of now. So a client may send
``burst`` requests at once and then ``rate`` per ``per`` seconds, and any window
of length ``L`` holds at most ``burst + floor(L / T)`` allowed hits. There is no
refill timer and no counter reset, only that one timestamp, which expires by
itself once it lies in the past.

Why a Lua script of our own rather than the ``limits`` package: the service
runs as several instances that must share one budget per client. A GCRA step
in Lua is one round trip that reads and writes the TAT atomically on the
Redis server, timed by the server's own ``TIME``, so instances whose clocks
disagree still agree exactly on every client's budget. ``limits`` (5.8) would
also work with redis-py 8.1 through ``implementation="redispy"``, but its
``[redis]`` extra pins ``redis<8``, which conflicts with the redis-py this
project installs, and it would be a dependency for some twenty lines of Lua.

Times are kept in integer microseconds on both sides: Lua numbers are doubles
and Redis stringifies them with 14 significant digits, which would round a
microsecond timestamp (16 digits); integers below 2**53 stay exact, so the
Redis and in-memory limiters compute the very same decisions. The interval is
rounded to a whole microsecond (``rate=3, per=1`` paces at 333 333 µs), far
below anything a client can notice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Decision", "MemoryRateLimiter", "RateLimiter", "RedisRateLimiter"]

_MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one hit, with what a client needs to pace itself.

    ``retry_after``: seconds until a hit would be allowed (0 when allowed).
    ``remaining``: hits that would be allowed right now after this one.
    ``limit``: the burst, the most hits allowed at once.
    ``reset_after``: seconds until the client's budget is full again.
    """

    allowed: bool
    retry_after: float
    remaining: int
    limit: int
    reset_after: float


class RateLimiter(Protocol):
    """Anything that can count a hit against a client's budget."""

    async def hit(self, key: str) -> Decision:
        """Count one request of ``key`` and say whether it may proceed."""
        ...


class _Gcra:
    """Parameters shared by both limiters, validated once, in microseconds."""

    __slots__ = ("burst", "interval", "tolerance")

    def __init__(self, rate: int, per: float, burst: int) -> None:
        if rate < 1:
            raise ValueError(f"rate must be at least 1, not {rate!r}")
        if not per > 0:
            raise ValueError(f"per must be a positive number of seconds, not {per!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.burst = burst
        self.interval = max(1, round(per * _MICROS / rate))
        self.tolerance = self.interval * burst

    def step(self, tat: int | None, now: int) -> tuple[Decision, int | None]:
        """One GCRA step: the decision, and the new TAT (None when unchanged).

        Mirrored line for line by :data:`_SCRIPT`; keep the two together.
        """
        tat = now if tat is None or tat < now else tat
        new_tat = tat + self.interval
        allow_at = new_tat - self.tolerance
        if now < allow_at:
            return _decision(self.burst, False, 0, allow_at - now, tat - now), None
        remaining = (now - allow_at) // self.interval
        return _decision(self.burst, True, remaining, 0, new_tat - now), new_tat


def _decision(limit: int, allowed: bool, remaining: int, retry_us: int, reset_us: int) -> Decision:
    return Decision(
        allowed=allowed,
        retry_after=retry_us / _MICROS,
        remaining=remaining,
        limit=limit,
        reset_after=reset_us / _MICROS,
    )


# KEYS[1]: the client's TAT. ARGV[1]: interval T, ARGV[2]: tolerance, both in µs;
# ARGV[3], when given, the time in µs (a clock of the caller's, for tests),
# otherwise the server's TIME. Returns {allowed, remaining, retry_after_us,
# reset_after_us}. TIME makes the
# script non-deterministic, which Redis 5+ handles by replicating its effects
# (the SET), not the script. The key expires when its TAT passes: by then a
# missing key and a stored one mean the same thing.
_SCRIPT = """
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tonumber(ARGV[2])
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
"""
_SCRIPT_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()


class RedisRateLimiter:
    """GCRA in Redis: one budget per client, shared by every service instance.

    ``redis`` is a ``redis.asyncio.Redis`` client, or a function returning
    one, such as ``lambda: cache.client`` for a :class:`faasify.pools.RedisPool`,
    whose client is rebuilt after the pool closes. Each hit is one EVALSHA;
    only when the server has lost the script (a restart, a failover, SCRIPT
    FLUSH) is it sent again with EVAL, which also caches it anew.

    Keys are ``prefix + key`` and expire as soon as the client's budget is
    full again, so idle clients cost Redis nothing.
    """

    def __init__(
        self,
        redis: Redis | Callable[[], Redis],
        rate: int,
        per: float,
        burst: int,
        *,
        prefix: str = "faasify:rate:",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._gcra = _Gcra(rate, per, burst)
        self._redis = redis
        self._prefix = prefix
        self._sha = _SCRIPT_SHA
        #: The time source, in seconds; ``None`` (the default) reads the Redis
        #: server's own clock, so that instances whose clocks drift agree. A
        #: clock of the caller's makes the budget's decisions repeatable (tests).
        self._clock = clock

    @property
    def limit(self) -> int:
        return self._gcra.burst

    async def hit(self, key: str) -> Decision:
        from redis.exceptions import NoScriptError

        client = self._redis() if callable(self._redis) else self._redis
        args: tuple[str | int, ...] = (
            self._prefix + key,
            self._gcra.interval,
            self._gcra.tolerance,
        )
        if self._clock is not None:
            args += (round(self._clock() * _MICROS),)
        try:
            reply = await client.evalsha(self._sha, 1, *args)
        except NoScriptError:
            reply = await client.eval(_SCRIPT, 1, *args)
        allowed, remaining, retry_us, reset_us = (int(value) for value in reply)
        return _decision(self._gcra.burst, bool(allowed), remaining, retry_us, reset_us)

    def __repr__(self) -> str:
        return _describe(self, self._gcra)


class MemoryRateLimiter:
    """GCRA in this process: the same decisions as :class:`RedisRateLimiter`.

    For a single instance, for tests, and as the fallback while there is no
    Redis. It reads a monotonic clock (``clock``, in seconds), so a wall clock
    stepped by NTP can neither grant nor take away budget. A hit never awaits,
    so concurrent requests on one event loop cannot interleave inside it.

    Clients whose budget is full again are forgotten in sweeps that run each
    time the table has doubled, so memory follows the number of *active*
    clients at amortised O(1) per hit.
    """

    def __init__(
        self,
        rate: int,
        per: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gcra = _Gcra(rate, per, burst)
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._sweep_at = _MIN_SWEEP

    @property
    def limit(self) -> int:
        return self._gcra.burst

    async def hit(self, key: str) -> Decision:
        now = round(self._clock() * _MICROS)
        decision, new_tat = self._gcra.step(self._tats.get(key), now)
        if new_tat is not None:
            self._tats[key] = new_tat
            if len(self._tats) >= self._sweep_at:
                self._sweep(now)
        return decision

    def _sweep(self, now: int) -> None:
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        self._sweep_at = max(_MIN_SWEEP, 2 * len(self._tats))

    def __repr__(self) -> str:
        return _describe(self, self._gcra)


_MIN_SWEEP = 1024


def _describe(limiter: object, gcra: _Gcra) -> str:
    rate = _MICROS / gcra.interval
    return f"<{type(limiter).__name__} {rate:g}/s, burst {gcra.burst}>"
