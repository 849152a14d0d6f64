"""The client's call signatures: a parameter may share a name with an argument,
and a view made with an empty token is refused rather than sent without a credential.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from faasify.baas import AsyncClient, Client


def _recording() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"rows": [], "items": []})

    return seen, httpx.MockTransport(answer)


def test_query_and_list_take_parameters_named_like_their_first_argument() -> None:
    seen, transport = _recording()
    client = Client("http://service", api_key="k", transport=transport)
    assert client.query("by_name", name="bob") == {"rows": [], "items": []}
    client.list("todos", collection="inbox", done="false")
    client.close()
    assert seen[0].url.path == "/v1/queries/by_name"
    assert dict(seen[0].url.params) == {"name": "bob"}
    assert seen[1].url.path == "/v1/todos"
    assert dict(seen[1].url.params) == {"collection": "inbox", "done": "false"}


def test_async_query_and_list_take_parameters_named_like_their_first_argument() -> None:
    seen, transport = _recording()

    async def scenario() -> None:
        client = AsyncClient("http://service", api_key="k", transport=transport)
        await client.query("by_name", name="bob")
        await client.list("todos", collection="inbox")
        await client.aclose()

    asyncio.run(scenario())
    assert (seen[0].url.path, dict(seen[0].url.params)) == ("/v1/queries/by_name", {"name": "bob"})
    assert (seen[1].url.path, dict(seen[1].url.params)) == ("/v1/todos", {"collection": "inbox"})


@pytest.mark.parametrize("token", ["", "   "])
def test_with_token_refuses_an_empty_token(token: str) -> None:
    seen, transport = _recording()
    client = Client("http://service", api_key="function-key", transport=transport)
    aclient = AsyncClient("http://service", api_key="function-key")
    with pytest.raises(ValueError, match="non-empty bearer token"):
        client.with_token(token)
    with pytest.raises(ValueError, match="non-empty bearer token"):
        aclient.with_token(token)
    # the client itself keeps its own credential
    client.list("todos")
    assert seen[0].headers["x-api-key"] == "function-key"
    client.close()
    asyncio.run(aclient.aclose())
