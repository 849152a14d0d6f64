"""The client: against the real service over HTTP, and its retry rules."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from faasify.baas.client import (
    AsyncClient,
    Client,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    Throttled,
    TransportFailed,
    Unauthorized,
)
from tests.baas.test_service import ALICE, BOB, make_service, todos_table


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    service = make_service("sqlite+aiosqlite:///:memory:", todos_table("todos"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(service.app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sync_client_crud_and_typed_errors(base_url: str) -> None:
    alice = Client(base_url, api_key=ALICE)
    bob = Client(base_url, api_key=BOB)
    item = alice.create("todos", {"text": "from a function"})
    assert alice.get("todos", item["id"])["text"] == "from a function"
    assert alice.update("todos", item["id"], {"done": True})["done"] is True
    assert item["id"] in [i["id"] for i in alice.list("todos", limit=50)["items"]]
    with pytest.raises(NotFound):
        bob.get("todos", item["id"])
    with pytest.raises(InvalidRequest) as caught:
        alice.create("todos", {"text": 1})
    assert caught.value.status == 422
    assert "wrong type" in caught.value.problem["detail"]
    with pytest.raises(Unauthorized):
        Client(base_url, api_key="nope").list("todos")
    alice.delete("todos", item["id"])
    with pytest.raises(NotFound):
        alice.get("todos", item["id"])
    alice.close()
    bob.close()


def test_delete_many_all_or_none_sync_and_async(base_url: str) -> None:
    alice = Client(base_url, api_key=ALICE)
    ids = [alice.create("todos", {"text": f"bulk {i}"})["id"] for i in range(4)]

    def mine() -> set[int]:
        return {i["id"] for i in alice.list("todos", limit=50)["items"]}

    with pytest.raises(NotFound):
        alice.delete_many("todos", [ids[0], 987_654])
    assert set(ids) <= mine()  # nothing deleted
    alice.delete_many("todos", ids[:2])
    assert not set(ids[:2]) & mine()

    async def rest() -> None:
        client = AsyncClient(base_url, api_key=ALICE)
        try:
            await client.delete_many("todos", ids[2:])
        finally:
            await client.aclose()

    asyncio.run(rest())
    assert not set(ids) & mine()
    alice.close()


def test_async_client_crud(base_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        client = AsyncClient(base_url, api_key=ALICE)
        try:
            item = await client.create("todos", {"text": "async"})
            await client.update("todos", item["id"], {"text": "async, edited"})
            return await client.get("todos", item["id"])
        finally:
            await client.aclose()

    assert asyncio.run(scenario())["text"] == "async, edited"


class Flaky:
    """A transport that answers 503/429 a few times, then succeeds; records requests."""

    def __init__(self, failures: list[tuple[int, str]]) -> None:
        self.failures = list(failures)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        if self.failures:
            status, retry_after = self.failures.pop(0)
            return httpx.Response(
                status, headers={"Retry-After": retry_after}, json={"status": status}
            )
        return httpx.Response(201, json={"id": 1, "text": "ok"})


def test_writes_retry_with_one_idempotency_key_and_honour_retry_after() -> None:
    flaky = Flaky([(503, "0.2"), (429, "0.1")])
    client = Client("http://service", transport=httpx.MockTransport(flaky), backoff=0.001)
    assert client.create("todos", {"text": "x"}) == {"id": 1, "text": "ok"}
    keys = {r.headers["Idempotency-Key"] for r in flaky.requests}
    assert len(flaky.requests) == 3
    assert len(keys) == 1
    gaps = [b - a for a, b in zip(flaky.times, flaky.times[1:], strict=False)]
    assert gaps[0] >= 0.2
    assert gaps[1] >= 0.1
    second = Flaky([])
    Client("http://service", transport=httpx.MockTransport(second)).create("todos", {})
    assert second.requests[0].headers["Idempotency-Key"] not in keys


def test_retries_run_out_with_a_typed_error() -> None:
    flaky = Flaky([(503, "0")] * 10)
    client = Client(
        "http://service", transport=httpx.MockTransport(flaky), retries=2, backoff=0.001
    )
    with pytest.raises(ServiceUnavailable) as caught:
        client.list("todos")
    assert len(flaky.requests) == 3
    assert isinstance(caught.value, Throttled)


def test_async_client_retries_too() -> None:
    flaky = Flaky([(429, "0.05")])

    async def handler(request: httpx.Request) -> httpx.Response:
        return flaky(request)

    async def scenario() -> dict[str, Any]:
        client = AsyncClient("http://service", transport=httpx.MockTransport(handler))
        try:
            return await client.create("todos", {"text": "x"})
        finally:
            await client.aclose()

    assert asyncio.run(scenario())["id"] == 1
    assert len(flaky.requests) == 2
    assert len({r.headers["Idempotency-Key"] for r in flaky.requests}) == 1


def test_unreachable_service_is_a_transport_error_after_retries() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = Client(f"http://127.0.0.1:{port}", retries=1, backoff=0.001, timeout=1)
    with pytest.raises(TransportFailed):
        client.list("todos")
