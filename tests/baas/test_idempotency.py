"""Idempotent writes: replayed, refused on reuse, never applied twice, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from faasify.baas.client import AsyncClient
from faasify.baas.service import Service
from tests.baas.test_service import ALICE, BOB, make_service, todos_table
from tests.support.baas.shared import count, execute

Scenario = Callable[[httpx.AsyncClient, Service, sa.Table], Any]


def run(database: str, request: pytest.FixtureRequest, scenario: Scenario) -> Any:
    global _RUN
    _RUN = uuid.uuid4().hex[:8]
    table = todos_table(f"todos_{uuid.uuid4().hex[:8]}")
    url = (
        "sqlite+aiosqlite:///:memory:"
        if database == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    service = make_service(url, table)

    async def main() -> Any:
        transport = httpx.ASGITransport(app=service.app)
        async with (
            service.app.router.lifespan_context(service.app),
            httpx.AsyncClient(transport=transport, base_url="http://svc") as http,
        ):
            try:
                return await scenario(http, service, table)
            finally:
                await execute(service, sa.schema.DropTable(table))
                await execute(service, sa.schema.DropTable(service.idempotency.table))

    return asyncio.run(main())


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


_RUN = uuid.uuid4().hex[:8]  # keys outlive a test in the shared PostgreSQL: make them unique


def keyed(key: str, who: str = ALICE) -> dict[str, str]:
    return {"X-API-Key": who, "Idempotency-Key": f"{_RUN}-{key}"}


@pytest.mark.parametrize("database", DATABASES)
def test_a_retry_replays_the_first_answer(database: str, request: pytest.FixtureRequest) -> None:
    async def scenario(http: httpx.AsyncClient, service: Service, table: sa.Table) -> None:
        first = await http.post("/v1/todos", json={"text": "once"}, headers=keyed("k1"))
        again = await http.post("/v1/todos", json={"text": "once"}, headers=keyed("k1"))
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotency-replayed"] == "true"
        assert "idempotency-replayed" not in first.headers
        assert await count(service, table) == 1
        # Deletes and updates too.
        item = first.json()["id"]
        for _ in range(2):
            patched = await http.patch(
                f"/v1/todos/{item}", json={"done": True}, headers=keyed("k2")
            )
            assert patched.json()["done"] is True
        deleted = [await http.delete(f"/v1/todos/{item}", headers=keyed("k3")) for _ in range(2)]
        assert [d.status_code for d in deleted] == [204, 204]

    run(database, request, scenario)


@pytest.mark.parametrize("database", DATABASES)
def test_a_key_reused_for_another_request_is_refused(
    database: str, request: pytest.FixtureRequest
) -> None:
    async def scenario(http: httpx.AsyncClient, service: Service, table: sa.Table) -> None:
        await http.post("/v1/todos", json={"text": "a"}, headers=keyed("k"))
        other = await http.post("/v1/todos", json={"text": "b"}, headers=keyed("k"))
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        # Keys are per caller: Bob's "k" is his own.
        bobs = await http.post("/v1/todos", json={"text": "b"}, headers=keyed("k", BOB))
        assert bobs.status_code == 201
        assert await count(service, table) == 2

    run(database, request, scenario)


@pytest.mark.parametrize("database", DATABASES)
def test_a_failed_write_leaves_no_key_behind(database: str, request: pytest.FixtureRequest) -> None:
    async def scenario(http: httpx.AsyncClient, service: Service, table: sa.Table) -> None:
        failed = await http.patch("/v1/todos/999999", json={"done": True}, headers=keyed("k"))
        assert failed.status_code == 404
        created = await http.post("/v1/todos", json={"text": "x"}, headers=keyed("k"))
        assert created.status_code == 201

    run(database, request, scenario)


@pytest.mark.postgres
def test_concurrent_duplicates_apply_once(request: pytest.FixtureRequest) -> None:
    async def scenario(http: httpx.AsyncClient, service: Service, table: sa.Table) -> None:
        responses = await asyncio.gather(
            *(
                http.post("/v1/todos", json={"text": "dup"}, headers=keyed("same"))
                for _ in range(20)
            )
        )
        assert {r.status_code for r in responses} <= {201, 503}
        ids = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(ids) == 1
        assert await count(service, table) == 1

    run("postgres", request, scenario)


class LosesTheFirstAnswer(httpx.AsyncBaseTransport):
    """The first request reaches the service and is applied; its answer is lost."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.keys: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key", ""))
        response = await self.inner.handle_async_request(request)
        if len(self.keys) == 1:
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


@pytest.mark.parametrize("database", DATABASES)
def test_a_write_retried_by_the_client_after_a_timeout_is_applied_once(
    database: str, request: pytest.FixtureRequest
) -> None:
    async def scenario(http: httpx.AsyncClient, service: Service, table: sa.Table) -> None:
        lossy = LosesTheFirstAnswer(httpx.ASGITransport(app=service.app))
        client = AsyncClient("http://svc", api_key=ALICE, transport=lossy, backoff=0.001)
        try:
            item = await client.create("todos", {"text": "exactly once"})
        finally:
            await client.aclose()
        assert item["text"] == "exactly once"
        assert len(lossy.keys) == 2
        assert lossy.keys[0] == lossy.keys[1] != ""
        assert await count(service, table) == 1

    run(database, request, scenario)
