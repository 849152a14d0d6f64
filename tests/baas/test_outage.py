"""The database goes away mid-load and comes back: the breaker opens, reads are
served stale, writes are refused cleanly, and the service recovers by itself."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from faasify.baas.breaker import CircuitBreaker, CircuitOpen
from tests.baas.test_service import ALICE, make_service, todos_table
from tests.support.baas.shared import execute


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> str:
    """The breaker's state, read afresh: a property that the calls between two reads
    change, which a type checker would otherwise take as fixed by the first read."""
    return breaker.state


def test_breaker_opens_refuses_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=5.0, clock=clock)
    for _ in range(2):
        breaker.before()
        breaker.failure()
    assert state(breaker) == "closed"
    breaker.before()
    breaker.failure()
    assert state(breaker) == "open"
    with pytest.raises(CircuitOpen) as caught:
        breaker.before()
    assert caught.value.retry_after == pytest.approx(5.0)
    clock.now += 5.0
    assert state(breaker) == "half_open"
    breaker.before()  # the one probe
    with pytest.raises(CircuitOpen):
        breaker.before()  # no second probe while the first is out
    breaker.failure()  # the probe failed: open again
    assert state(breaker) == "open"
    clock.now += 5.0
    breaker.before()
    breaker.success()
    assert state(breaker) == "closed"
    assert breaker.opened_total == 2


class Proxy:
    """A TCP proxy to PostgreSQL that the test can cut and restore."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.links |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for link in self.links:
            link.transport.abort()
        self.links.clear()
        await asyncio.sleep(0.05)

    async def restore(self) -> None:
        await self.start()


@pytest.mark.postgres
def test_database_cut_off_mid_load_and_restored(pg_url: str) -> None:
    table = todos_table(f"todos_{uuid.uuid4().hex[:8]}")
    port = int(pg_url.rsplit(":", 1)[1].split("/", 1)[0])

    async def scenario() -> dict[str, Any]:
        proxy = Proxy(port)
        await proxy.start()
        url = pg_url.replace(f":{port}/", f":{proxy.port}/")
        service = make_service(
            url,
            table,
            pool_size=3,
            breaker=CircuitBreaker(failure_threshold=3, reset_timeout=0.5),
            connect_timeout=1.0,
        )
        seen: dict[str, Any] = {}
        transport = httpx.ASGITransport(app=service.app)
        headers = {"X-API-Key": ALICE}
        async with (
            service.app.router.lifespan_context(service.app),
            httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as http,
        ):
            created = await http.post("/v1/todos", json={"text": "before"})
            assert created.status_code == 201
            fresh = await http.get("/v1/todos")
            assert fresh.status_code == 200
            assert "faasify-stale" not in fresh.headers

            await proxy.cut()
            during = await asyncio.gather(*(http.get("/v1/todos") for _ in range(10)))
            writes = await asyncio.gather(
                *(http.post("/v1/todos", json={"text": "during"}) for _ in range(10))
            )
            seen["reads"] = [(r.status_code, r.headers.get("faasify-stale")) for r in during]
            seen["stale_body"] = during[-1].json()
            seen["writes"] = [(r.status_code, r.headers.get("retry-after")) for r in writes]
            seen["breaker"] = service.breaker.state
            started = time.monotonic()
            refused = await http.post("/v1/todos", json={"text": "during"})
            seen["refused_fast"] = time.monotonic() - started
            seen["refused"] = refused.status_code

            await proxy.restore()
            await asyncio.sleep(0.6)
            recovered = await http.post("/v1/todos", json={"text": "after"})
            seen["recovered"] = recovered.status_code
            listing = await http.get("/v1/todos")
            seen["after"] = [i["text"] for i in listing.json()["items"]]
            seen["after_stale"] = listing.headers.get("faasify-stale")
            await execute(service, sa.schema.DropTable(table))
            await execute(service, sa.schema.DropTable(service.idempotency.table))
        await proxy.cut()
        seen["fresh_body"] = fresh.json()
        return seen

    seen = asyncio.run(scenario())
    assert seen["reads"] == [(200, "true")] * 10  # every read answered, from the kept copy
    assert seen["stale_body"] == seen["fresh_body"]
    assert {status for status, _ in seen["writes"]} == {503}
    assert all(retry for _, retry in seen["writes"])  # every refusal says when to retry
    assert seen["breaker"] == "open"
    assert seen["refused"] == 503
    assert seen["refused_fast"] < 0.1  # refused by the open breaker, no connect attempt
    assert seen["recovered"] == 201
    assert seen["after"] == ["before", "after"]  # no refused write was stored
    assert seen["after_stale"] is None
