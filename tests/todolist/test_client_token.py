"""The BaaS client's per-caller token and named queries, as the todolist uses them."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import jwt

from faasify.baas import AsyncClient, Client


def test_with_token_sends_the_callers_token_and_shares_the_connection() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"rows": [{"n": 2}]})

    client = Client("http://service", api_key="function-key", transport=httpx.MockTransport(answer))
    alice = client.with_token("alice-token")
    assert alice.query("todo_count") == {"rows": [{"n": 2}]}
    client.list("todos")
    assert seen[0].headers["authorization"] == "Bearer alice-token"
    assert "x-api-key" not in seen[0].headers
    assert seen[0].url.path == "/v1/queries/todo_count"
    assert seen[1].headers["x-api-key"] == "function-key"  # the client itself is unchanged
    assert "authorization" not in seen[1].headers
    assert alice._http is client._http


def test_async_with_token_and_query_parameters() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"rows": []})

    async def scenario() -> None:
        client = AsyncClient("http://service", transport=httpx.MockTransport(answer))
        await client.with_token("bob-token").query("todo_page", limit=5, offset=10)
        await client.aclose()

    asyncio.run(scenario())
    assert seen[0].headers["authorization"] == "Bearer bob-token"
    assert dict(seen[0].url.params) == {"limit": "5", "offset": "10"}


def test_forwarded_tokens_scope_rows_in_the_real_service(baas_url: str, secret: str) -> None:
    def token(name: str) -> str:
        exp = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
        return jwt.encode({"sub": name, "exp": exp}, secret, algorithm="HS256")

    client = Client(baas_url)
    alice, bob = client.with_token(token("tok-alice")), client.with_token(token("tok-bob"))
    alice.create("todos", {"text": "a1"})
    alice.create("todos", {"text": "a2"})
    bob.create("todos", {"text": "b1"})
    assert alice.query("todo_count")["rows"] == [{"n": 2}]
    assert bob.query("todo_count")["rows"] == [{"n": 1}]
    page = alice.query("todo_page", limit=1, offset=1)["rows"]
    assert [row["text"] for row in page] == ["a1"]
    client.close()
