"""Throttling: GCRA rate limits (in memory and in Redis), the concurrency gate,
and the middleware that answers 429 and 503 as problem+json.

The Redis tests run against a real server (``redis`` marker) and share no
keys: each uses its own, which expires by itself within a second or two.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from faasify.baas.throttle import (
    ConcurrencyGate,
    Decision,
    MemoryRateLimiter,
    RateLimited,
    RateLimitMiddleware,
    RedisRateLimiter,
    Shed,
    ThrottledError,
    throttle_error_handler,
)

ROOT = Path(__file__).resolve().parents[2]
WORKER = "tests.support.baas.throttle_worker"
T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    return asyncio.run(wrapped())


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def hits(limiter: MemoryRateLimiter | RedisRateLimiter, key: str, n: int) -> list[Decision]:
    return [await limiter.hit(key) for _ in range(n)]


# -- GCRA, in memory, on a clock the test controls ------------------------------------------


def test_burst_is_allowed_at_once_then_hits_are_paced_at_rate_per() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(rate=10, per=1.0, burst=5, clock=clock)

    burst = run(lambda: hits(limiter, "a", 6))
    assert [d.allowed for d in burst] == [True] * 5 + [False]
    assert [d.remaining for d in burst] == [4, 3, 2, 1, 0, 0]
    assert {d.limit for d in burst} == {5}
    assert burst[0].reset_after == pytest.approx(0.1)
    assert burst[4].reset_after == pytest.approx(0.5)

    # Hammer every millisecond for 10 s: exactly one hit per 100 ms gets through,
    # so the 10 s window holds burst + 10 s / 100 ms hits in all.
    async def hammer() -> int:
        allowed = 0
        for _ in range(10_000):
            clock.advance(0.001)
            allowed += (await limiter.hit("a")).allowed
        return allowed

    assert run(hammer) == 100
    assert (run(lambda: limiter.hit("b"))).remaining == 4  # another client, its own budget


def test_retry_after_is_exactly_when_the_next_hit_is_allowed() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(rate=3, per=1.5, burst=2, clock=clock)  # one per 500 ms

    async def scenario() -> None:
        await hits(limiter, "k", 2)
        clock.advance(0.2)
        refused = await limiter.hit("k")
        assert not refused.allowed
        assert refused.retry_after == pytest.approx(0.3)
        assert refused.reset_after == pytest.approx(0.8)
        clock.advance(refused.retry_after - 0.000_001)
        assert not (await limiter.hit("k")).allowed  # a refusal spends nothing
        clock.advance(0.000_001)
        accepted = await limiter.hit("k")
        assert accepted.allowed
        assert accepted.retry_after == 0
        assert accepted.remaining == 0
        clock.advance(10)  # idle: the whole burst is back
        assert [d.allowed for d in await hits(limiter, "k", 3)] == [True, True, False]

    run(scenario)


def test_memory_limiter_forgets_clients_whose_budget_is_full_again() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(rate=1, per=1.0, burst=1, clock=clock)

    async def many_clients() -> None:
        for round_ in range(5):
            for n in range(1000):
                assert (await limiter.hit(f"{round_}-{n}")).allowed
            clock.advance(2)

    run(many_clients)
    assert len(limiter._tats) <= 2048  # five thousand clients came; the idle ones went


@pytest.mark.parametrize(
    ("rate", "per", "burst"), [(0, 1.0, 1), (1, 0.0, 1), (1, -1.0, 1), (1, 1.0, 0)]
)
def test_nonsense_parameters_are_refused(rate: int, per: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"rate|per|burst"):
        MemoryRateLimiter(rate=rate, per=per, burst=burst)


# -- GCRA in Redis --------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_allows_the_burst_then_paces_with_a_right_retry_after(
    redis_url: str, tag: str
) -> None:
    async def scenario() -> None:
        async with redis_client(redis_url) as client:
            clock = FakeClock()  # the script's own arithmetic, on a clock the test moves
            limiter = RedisRateLimiter(client, rate=20, per=1.0, burst=5, clock=clock)
            burst = await hits(limiter, tag, 6)  # one per 50 ms
            assert [d.allowed for d in burst] == [True] * 5 + [False]
            assert [d.remaining for d in burst] == [4, 3, 2, 1, 0, 0]
            refused = burst[-1]
            assert refused.retry_after == pytest.approx(0.05)
            assert refused.reset_after == pytest.approx(0.25)
            clock.advance(0.04)
            assert not (await limiter.hit(tag)).allowed
            clock.advance(0.011)
            assert (await limiter.hit(tag)).allowed
            ttl = await client.pttl(f"faasify:rate:{tag}")
            assert 0 < ttl <= 250  # gone once the budget is full again


@pytest.mark.redis
def test_redis_timed_by_the_servers_clock_refuses_past_the_burst(redis_url: str, tag: str) -> None:
    async def scenario() -> None:
        async with redis_client(redis_url) as client:
            limiter = RedisRateLimiter(client, rate=1, per=10.0, burst=3)  # one per 10 s
            burst = await hits(limiter, tag, 4)
            assert [d.allowed for d in burst] == [True] * 3 + [False]
            # However long the hits took (the machine may be loaded), the refusal
            # waits for the next slot, which cannot be further than one interval.
            assert 0 < burst[-1].retry_after <= 10.0

    run(scenario)


@pytest.mark.redis
def test_redis_limiter_sends_the_script_again_when_the_server_lost_it(
    redis_url: str, tag: str
) -> None:
    async def scenario() -> None:
        async with redis_client(redis_url) as client:
            limiter = RedisRateLimiter(client, rate=1, per=60, burst=2, prefix="faasify-test:")
            # As after a restart or a failover: the server knows no such script.
            # (A digest of our own rather than SCRIPT FLUSH, which others' tests would feel.)
            limiter._sha = "0" * 40
            decisions = await hits(limiter, tag, 3)
            assert [d.allowed for d in decisions] == [True, True, False]
            assert await client.exists(f"faasify-test:{tag}") == 1

    run(scenario)


@pytest.mark.redis
def test_redis_limiter_takes_a_client_factory(redis_url: str, tag: str) -> None:
    async def scenario() -> None:
        async with redis_client(redis_url) as client:
            limiter = RedisRateLimiter(lambda: client, rate=1, per=60, burst=1)
            assert [d.allowed for d in await hits(limiter, tag, 2)] == [True, False]

    run(scenario)


# (seconds after the start, hits), with rate 10/s and burst 3: every hit lands
# at least 50 ms from a point where a decision would flip, so the two limiters,
# asked a fraction of a millisecond apart, must agree on everything.
AGREEMENT_SCHEDULE = [(0.0, 4), (0.05, 1), (0.15, 2), (0.25, 1), (0.35, 2), (1.0, 4), (1.05, 1)]
AGREEMENT_EXPECTED = [
    [True, True, True, False],
    [False],
    [True, False],
    [True],
    [True, False],
    [True, True, True, False],
    [False],
]


@pytest.mark.redis
def test_memory_and_redis_limiters_decide_the_same_sequence_alike(redis_url: str, tag: str) -> None:
    async def scenario() -> list[list[tuple[Decision, Decision]]]:
        async with redis_client(redis_url) as client:
            # One clock for both, moved by the schedule: the two decide at the same instants.
            clock = FakeClock()
            redis_limiter = RedisRateLimiter(client, rate=10, per=1.0, burst=3, clock=clock)
            memory_limiter = MemoryRateLimiter(rate=10, per=1.0, burst=3, clock=clock)
            start = clock.now
            seen: list[list[tuple[Decision, Decision]]] = []
            for at, n in AGREEMENT_SCHEDULE:
                clock.now = start + at
                seen.append([])
                for _ in range(n):
                    seen[-1].append((await memory_limiter.hit(tag), await redis_limiter.hit(tag)))
            return seen

    seen = run(scenario)
    assert [[m.allowed for m, _ in step] for step in seen] == AGREEMENT_EXPECTED
    for step in seen:
        for memory, redis in step:
            assert (memory.allowed, memory.remaining, memory.limit) == (
                redis.allowed,
                redis.remaining,
                redis.limit,
            )
            assert memory.retry_after == pytest.approx(redis.retry_after, abs=0.01)
            assert memory.reset_after == pytest.approx(redis.reset_after, abs=0.01)


@pytest.mark.redis
def test_redis_budget_holds_across_two_processes(redis_url: str, tag: str) -> None:
    """Two instances hammering one client's key together get one budget, not two."""
    rate, per, burst, seconds = 200, 1.0, 20, 2.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", WORKER, redis_url, tag, *map(str, (rate, per, burst, seconds))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            assert line == "READY", worker.stderr.read() if worker.stderr else ""
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=10)
            assert worker.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            worker.kill()

    allowed = sum(r["allowed"] for r in reports)
    window = max(r["last"] for r in reports) - min(r["first"] for r in reports)
    budget = burst + window * rate / per
    deviation = (allowed - budget) / budget
    print(
        f"\ncross-process: {allowed} allowed of {sum(r['denied'] for r in reports) + allowed}"
        f" hits in {window:.3f} s; budget {budget:.1f}; deviation {deviation:+.2%};"
        f" per process {[r['allowed'] for r in reports]}"
    )
    assert all(r["allowed"] > 0 and r["denied"] > 0 for r in reports)  # both competed
    assert abs(deviation) < 0.10


# -- the concurrency gate -------------------------------------------------------------------


def test_gate_never_lets_more_than_limit_in_with_200_tasks() -> None:
    gate = ConcurrencyGate(limit=7, queue_size=200, queue_timeout=5.0)
    inside = 0
    most = 0

    async def request(n: int) -> None:
        nonlocal inside, most
        async with gate.slot():
            inside += 1
            most = max(most, inside)
            assert gate.in_use <= gate.limit
            await asyncio.sleep(random.uniform(0, 0.004))
            inside -= 1

    async def scenario() -> None:
        await asyncio.gather(*(request(n) for n in range(200)))

    run(scenario)
    assert most == 7
    assert (gate.in_use, gate.waiting, gate.shed_total) == (0, 0, 0)


def test_gate_serves_waiters_in_arrival_order() -> None:
    gate = ConcurrencyGate(limit=1, queue_size=10, queue_timeout=5.0)
    order: list[int] = []

    async def request(n: int) -> None:
        async with gate.slot():
            order.append(n)
            await asyncio.sleep(0)

    async def scenario() -> None:
        tasks = []
        for n in range(10):
            tasks.append(asyncio.create_task(request(n)))
            await asyncio.sleep(0)  # arrive one after another
        await asyncio.gather(*tasks)

    run(scenario)
    assert order == list(range(10))


def test_gate_sheds_at_once_when_the_queue_is_full() -> None:
    gate = ConcurrencyGate(limit=1, queue_size=2, queue_timeout=5.0)

    async def request(release: asyncio.Event) -> None:
        async with gate.slot():
            await release.wait()

    async def fill_and_overflow() -> Shed:
        release = asyncio.Event()
        tasks = [asyncio.create_task(request(release)) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert (gate.in_use, gate.waiting) == (1, 2)
        started = time.monotonic()
        with pytest.raises(Shed) as refused:
            async with gate.slot():
                pass
        assert time.monotonic() - started < 0.01
        release.set()
        await asyncio.gather(*tasks)
        return refused.value

    first = run(fill_and_overflow)
    assert isinstance(first, ThrottledError)
    assert first.retry_after == 5.0  # no slot released before: the queue timeout
    # Now the gate has seen slots held for ~10 ms, and estimates from that:
    # the two waiters ahead and the holder, one at a time.
    second = run(fill_and_overflow)
    assert 0 < second.retry_after < 0.1
    assert gate.shed_total == 2
    assert (gate.in_use, gate.waiting) == (0, 0)


def test_gate_sheds_a_waiter_after_queue_timeout() -> None:
    gate = ConcurrencyGate(limit=1, queue_size=5, queue_timeout=0.05)

    async def scenario() -> float:
        release = asyncio.Event()

        async def holder() -> None:
            async with gate.slot():
                await release.wait()

        task = asyncio.create_task(holder())
        await asyncio.sleep(0)
        started = time.monotonic()
        with pytest.raises(Shed, match="waited") as refused:
            async with gate.slot():
                pass
        waited = time.monotonic() - started
        assert refused.value.retry_after > 0
        assert gate.waiting == 0
        release.set()
        await task
        return waited

    waited = run(scenario)
    assert 0.05 <= waited < 0.5
    assert (gate.in_use, gate.waiting, gate.shed_total) == (0, 0, 1)


def test_gate_leaks_no_slot_when_waiters_and_holders_are_cancelled() -> None:
    gate = ConcurrencyGate(limit=3, queue_size=100, queue_timeout=5.0)
    served = 0

    async def request() -> None:
        nonlocal served
        async with gate.slot():
            await asyncio.sleep(random.uniform(0.001, 0.01))
            served += 1

    async def scenario() -> None:
        rng = random.Random(7)
        tasks = [asyncio.create_task(request()) for _ in range(100)]
        await asyncio.sleep(0)
        assert (gate.in_use, gate.waiting) == (3, 97)
        for _ in range(10):  # cancel at random moments: waiting, inside, just handed a slot
            for task in rng.sample(tasks, 5):
                task.cancel()
            await asyncio.sleep(rng.uniform(0, 0.005))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        cancelled = sum(isinstance(r, asyncio.CancelledError) for r in results)
        assert cancelled > 0
        assert served == 100 - cancelled

    run(scenario)
    assert (gate.in_use, gate.waiting, gate.shed_total) == (0, 0, 0)


def test_a_cancelled_waiter_frees_its_place_in_the_queue() -> None:
    gate = ConcurrencyGate(limit=1, queue_size=1, queue_timeout=5.0)

    async def scenario() -> None:
        holder = gate.slot()
        await holder.__aenter__()
        first = asyncio.create_task(gate.slot().__aenter__())
        await asyncio.sleep(0)
        assert gate.waiting == 1
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert gate.waiting == 0
        second = asyncio.create_task(gate.slot().__aenter__())  # not shed: the place is free
        await asyncio.sleep(0)
        assert gate.waiting == 1
        await holder.__aexit__(None, None, None)
        await second
        assert (gate.in_use, gate.waiting) == (1, 0)

    run(scenario)


def test_a_waiter_cancelled_just_after_it_was_handed_the_slot_passes_it_on() -> None:
    gate = ConcurrencyGate(limit=1, queue_size=5, queue_timeout=5.0)

    async def scenario() -> None:
        holder = gate.slot()
        await holder.__aenter__()
        first = asyncio.create_task(gate.slot().__aenter__())
        second = asyncio.create_task(gate.slot().__aenter__())
        await asyncio.sleep(0)
        await holder.__aexit__(None, None, None)  # hands the slot to `first`...
        first.cancel()  # ...which is cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1)  # the slot went on to `second`
        assert (gate.in_use, gate.waiting) == (1, 0)

    run(scenario)


# -- the middleware and the error handler, through a Starlette app ---------------------------


def by_client_header(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-client":
            return str(value.decode())
    return None


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello", headers={"X-App": "yes"})


def limited_app(limiter: Any, **options: Any) -> Starlette:
    return Starlette(
        routes=[Route("/", hello)],
        middleware=[Middleware(RateLimitMiddleware, limiter=limiter, **options)],
    )


async def get_all(app: Starlette, *requests: dict[str, str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return [await client.get("/", headers=headers) for headers in requests]


def test_middleware_answers_429_problem_json_with_retry_after_and_ratelimit_headers() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(rate=1, per=60.0, burst=2, clock=clock)
    app = limited_app(limiter, key=by_client_header)
    ann, bob = {"x-client": "ann"}, {"x-client": "bob"}

    first, second, third, other = run(lambda: get_all(app, ann, ann, ann, bob))

    assert [r.status_code for r in (first, second, third, other)] == [200, 200, 429, 200]
    assert first.text == "hello"
    assert first.headers["x-app"] == "yes"
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    assert first.headers["ratelimit-reset"] == "60"
    assert second.headers["ratelimit-remaining"] == "0"
    assert second.headers["ratelimit-reset"] == "120"
    assert "retry-after" not in second.headers

    assert third.headers["content-type"] == "application/problem+json"
    assert third.headers["retry-after"] == "60"
    assert third.headers["ratelimit-limit"] == "2"
    assert third.headers["ratelimit-remaining"] == "0"
    assert third.headers["ratelimit-reset"] == "120"
    problem = third.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Too Many Requests"
    assert problem["status"] == 429
    assert "retry in 60 s" in problem["detail"]

    assert other.headers["ratelimit-remaining"] == "1"  # bob has his own budget

    clock.advance(59.5)  # Retry-After rounds up: 0.5 s left reads as 1
    (early,) = run(lambda: get_all(app, ann))
    assert early.status_code == 429
    assert early.headers["retry-after"] == "1"


def test_middleware_lets_unkeyed_requests_through_uncounted() -> None:
    limiter = MemoryRateLimiter(rate=1, per=60.0, burst=1)
    responses = run(lambda: get_all(limited_app(limiter, key=by_client_header), {}, {}, {}))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "ratelimit-limit" not in responses[0].headers


def test_middleware_keys_on_the_client_address_by_default() -> None:
    limiter = MemoryRateLimiter(rate=1, per=60.0, burst=1)
    responses = run(lambda: get_all(limited_app(limiter), {}, {}))
    assert [r.status_code for r in responses] == [200, 429]  # httpx's client: 127.0.0.1


class BrokenLimiter:
    async def hit(self, key: str) -> Decision:
        raise ConnectionError("Redis is gone")


def test_middleware_fails_open_when_the_limiter_fails(caplog: pytest.LogCaptureFixture) -> None:
    responses = run(lambda: get_all(limited_app(BrokenLimiter()), {}, {}, {}))
    assert [r.status_code for r in responses] == [200, 200, 200]
    # One line for the outage, with its reason, not one (or a traceback) per request.
    lines = [r for r in caplog.records if "rate limiter" in r.getMessage()]
    assert [r.getMessage() for r in lines] == [
        "the rate limiter unreachable (ConnectionError: Redis is gone); "
        "letting requests through unlimited until it is back"
    ]
    assert not any(r.exc_info for r in lines)


def test_middleware_can_fail_closed() -> None:
    app = limited_app(BrokenLimiter(), fail_open=False)
    with pytest.raises(ConnectionError):
        run(lambda: get_all(app, {}))


@pytest.mark.redis
def test_middleware_over_redis(redis_url: str, tag: str) -> None:
    async def scenario() -> list[httpx.Response]:
        async with redis_client(redis_url) as client:
            limiter = RedisRateLimiter(client, rate=1, per=10.0, burst=1)
            return await get_all(limited_app(limiter, key=lambda scope: tag), {}, {})

    allowed, refused = run(scenario)
    assert (allowed.status_code, refused.status_code) == (200, 429)
    assert refused.headers["retry-after"] == "10"


def test_shed_by_the_gate_becomes_503_problem_json_with_retry_after() -> None:
    gate = ConcurrencyGate(limit=1, queue_size=0, queue_timeout=1.0)

    async def busy(request: Request) -> Response:
        async with gate.slot():
            await asyncio.sleep(0.05)
        return PlainTextResponse("done")

    async def strict(request: Request) -> Response:
        raise RateLimited(Decision(False, 2.2, 0, 5, 9.1))

    app = Starlette(
        routes=[Route("/busy", busy), Route("/strict", strict)],
        exception_handlers={ThrottledError: throttle_error_handler},
    )

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            busy_responses = await asyncio.gather(client.get("/busy"), client.get("/busy"))
            return [*busy_responses, await client.get("/strict")]

    served, shed, limited = run(scenario)
    assert served.status_code == 200
    assert shed.status_code == 503
    assert shed.headers["content-type"] == "application/problem+json"
    assert shed.headers["retry-after"] == "1"
    problem = shed.json()
    assert (problem["title"], problem["status"]) == ("Service Unavailable", 503)
    assert "busy" in problem["detail"]
    assert gate.shed_total == 1

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.headers["ratelimit-limit"] == "5"
    assert limited.headers["ratelimit-reset"] == "10"
