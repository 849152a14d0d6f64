"""The service tried the way an attacker would, over HTTP only: principals whose
ids collide across tenants, one credential spelled several ways, and bodies,
query strings and paths the service must refuse with a 4xx, never a 500."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from faasify.baas import APIKeys, Collection, JWTAuth, Principal, Service, hash_api_key
from faasify.baas.query import NamedQuery
from faasify.baas.throttle import MemoryRateLimiter
from tests.support.baas.shared import (
    database_params,
    drop_tables,
    execute,
    limits,
    served,
    service_options,
)

SECRET = "attack-secret-" + "z" * 32
ONE, TWO = "key-tenant-one-" + "1" * 16, "key-tenant-two-" + "2" * 16
ACME_ALICE = "key-acme-alice-" + "3" * 16


def _table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(200), nullable=False, index=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("meta", sa.JSON, nullable=True),
    )


def _service(url: str, table: sa.Table, **options: Any) -> Service:
    keys = APIKeys(
        {
            hash_api_key(ONE): Principal("tenant-one", "u-shared"),
            hash_api_key(TWO): Principal("tenant-two", "u-shared"),
            hash_api_key(ACME_ALICE): Principal("acme", "alice"),
        }
    )
    count = NamedQuery(
        "count",
        sa.select(sa.func.count().label("n"))
        .select_from(table)
        .where(table.c.owner == sa.bindparam("owner")),
    )
    return Service(
        collections=[Collection("todos", table)],
        queries=[count],
        auth=[keys, JWTAuth(SECRET)],
        **service_options(url, **options),
    )


@pytest.fixture(params=database_params())
def table_and_url(request: pytest.FixtureRequest) -> Iterator[tuple[sa.Table, str]]:
    url = request.param if request.param.startswith("sqlite") else request.getfixturevalue("pg_url")
    table = _table(f"todos_{uuid.uuid4().hex[:8]}")
    try:
        yield table, url
    finally:
        drop_tables(url, table)


def _token(claims: dict[str, Any]) -> dict[str, str]:
    import jwt

    return {"Authorization": f"Bearer {jwt.encode({'exp': time.time() + 60, **claims}, SECRET)}"}


# -- tenants ------------------------------------------------------------------------


def test_principals_whose_owner_ids_collide_across_tenants_stay_apart(
    table_and_url: tuple[sa.Table, str],
) -> None:
    table, url = table_and_url

    async def scenario() -> dict[str, Any]:
        async with served(_service(url, table)) as http:
            one = {"X-API-Key": ONE}
            created = await http.post("/v1/todos", json={"text": "tenant one's"}, headers=one)
            assert created.status_code == 201
            item = created.json()["id"]
            listed_one = await http.get("/v1/todos", headers=one)
            cursor_page = await http.get("/v1/todos", params={"limit": 1}, headers=one)
            two = {"X-API-Key": TWO}
            seen: dict[str, Any] = {
                "get": (await http.get(f"/v1/todos/{item}", headers=two)).status_code,
                "patch": (
                    await http.patch(f"/v1/todos/{item}", json={"text": "mine"}, headers=two)
                ).status_code,
                "list": (await http.get("/v1/todos", headers=two)).json()["items"],
                "count": (await http.get("/v1/queries/count", headers=two)).json(),
                "own_count": (await http.get("/v1/queries/count", headers=one)).json(),
                "bulk": (
                    await http.delete("/v1/todos", params={"id": item}, headers=two)
                ).status_code,
            }
            # A page cursor issued to tenant one does not open tenant one's rows to two.
            cursor = cursor_page.json()["next"] or listed_one.json()["items"][0]["id"]
            replayed = await http.get("/v1/todos", params={"cursor": str(cursor)}, headers=two)
            seen["cursor"] = replayed.json().get("items", []) if replayed.is_success else []
            # A token for the same subject in another tenant, and one naming a
            # tenant the subject does not belong to.
            same_sub = _token({"sub": "u-shared", "tenant": "tenant-two"})
            seen["jwt_delete"] = (
                await http.delete(f"/v1/todos/{item}", headers=same_sub)
            ).status_code
            alice = await http.post(
                "/v1/todos", json={"text": "acme alice's"}, headers={"X-API-Key": ACME_ALICE}
            )
            assert alice.status_code == 201
            evil = _token({"sub": "alice", "tenant": "evilcorp"})
            seen["evil_list"] = (await http.get("/v1/todos", headers=evil)).json()["items"]
            seen["evil_get"] = (
                await http.get(f"/v1/todos/{alice.json()['id']}", headers=evil)
            ).status_code
            seen["still_one"] = (await http.get(f"/v1/todos/{item}", headers=one)).json()
            return seen

    seen = asyncio.run(scenario())
    assert seen["get"] == seen["patch"] == seen["bulk"] == seen["jwt_delete"] == 404
    assert seen["list"] == []
    assert seen["cursor"] == []
    assert seen["count"] == {"rows": [{"n": 0}]}
    assert seen["own_count"] == {"rows": [{"n": 1}]}
    assert seen["evil_list"] == []
    assert seen["evil_get"] == 404
    assert seen["still_one"]["text"] == "tenant one's"


def test_tenant_and_owner_joined_by_a_separator_do_not_collide(
    table_and_url: tuple[sa.Table, str],
) -> None:
    """``a:b`` / ``c`` and ``a`` / ``b:c`` are two principals, whatever the
    service joins tenant and owner with internally."""
    table, url = table_and_url
    left = _token({"sub": "c", "tenant": "a:b"})
    right = _token({"sub": "b:c", "tenant": "a"})

    async def scenario() -> tuple[list[Any], int, list[str | None]]:
        async with served(_service(url, table)) as http:
            created = await http.post("/v1/todos", json={"text": "left's"}, headers=left)
            assert created.status_code == 201
            listed = (await http.get("/v1/todos", headers=right)).json()["items"]
            got = (await http.get(f"/v1/todos/{created.json()['id']}", headers=right)).status_code
            key = {"Idempotency-Key": f"same-key-{uuid.uuid4().hex}"}
            answers = [
                await http.post("/v1/todos", json={"text": "x"}, headers={**who, **key})
                for who in (left, right)
            ]
            assert [a.status_code for a in answers] == [201, 201]
            return listed, got, [a.headers.get("idempotency-replayed") for a in answers]

    listed, got, replayed = asyncio.run(scenario())
    assert listed == []
    assert got == 404
    assert replayed == [None, None]  # right's key is its own, not a replay of left's


# -- one credential, several spellings --------------------------------------------------


@pytest.mark.parametrize(
    "spellings",
    [
        ["Bearer {key}", "Bearer  {key}", "bearer {key}", "BEARER {key}", "Bearer\t{key}"],
    ],
)
def test_the_rate_limit_follows_the_principal_not_the_header(spellings: list[str]) -> None:
    table = _table(f"todos_{uuid.uuid4().hex[:8]}")
    service = _service(
        "sqlite+aiosqlite:///:memory:",
        table,
        **limits(rate_limiter=MemoryRateLimiter(rate=1, per=60.0, burst=3)),
    )

    async def scenario() -> list[int]:
        async with served(service) as http:
            statuses = []
            for spelling in spellings * 3:
                header = {"Authorization": spelling.format(key=ONE)}
                statuses.append((await http.get("/v1/todos", headers=header)).status_code)
            statuses.append((await http.get("/v1/todos", headers={"X-API-Key": ONE})).status_code)
            return statuses

    statuses = asyncio.run(scenario())
    assert statuses.count(200) == 3, statuses
    assert set(statuses) == {200, 429}


def test_a_jwt_and_an_api_key_of_one_principal_share_one_budget() -> None:
    table = _table(f"todos_{uuid.uuid4().hex[:8]}")
    service = _service(
        "sqlite+aiosqlite:///:memory:",
        table,
        **limits(rate_limiter=MemoryRateLimiter(rate=1, per=60.0, burst=2)),
    )
    token = _token({"sub": "u-shared", "tenant": "tenant-one"})

    async def scenario() -> list[int]:
        async with served(service) as http:
            return [
                (await http.get("/v1/todos", headers=headers)).status_code
                for headers in ({"X-API-Key": ONE}, token, {"X-API-Key": ONE}, {"X-API-Key": TWO})
            ]

    assert asyncio.run(scenario()) == [200, 200, 429, 200]


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "n", "score": NaN}',
        b'{"text": "n", "score": Infinity}',
        b'{"text": "n", "score": -Infinity}',
        b'{"text": "n", "score": 1e400}',
        b'{"text": "n", "meta": {"a": "\\ud800"}}',
        b'{"text": "\\udfff"}',
        b'{"text": "n", "meta": {"\\ud800": 1}}',
        b'{"text": "n", "meta": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "overflow",
        "surrogate-in-json",
        "surrogate-in-text",
        "surrogate-key",
        "nested-1000",
        "nested-100000",
    ],
)
def test_values_json_cannot_carry_are_refused_before_anything_is_written(
    table_and_url: tuple[sa.Table, str], body: bytes
) -> None:
    table, url = table_and_url

    async def scenario() -> tuple[list[int], int, Any]:
        async with served(_service(url, table, max_body_bytes=1_000_000)) as http:
            headers = {"X-API-Key": ONE, "Content-Type": "application/json"}
            created = await http.post("/v1/todos", content=body, headers=headers)
            item = await http.post("/v1/todos", json={"text": "ok"}, headers={"X-API-Key": ONE})
            patched = await http.patch(
                f"/v1/todos/{item.json()['id']}", content=body, headers=headers
            )
            listed = await http.get("/v1/todos", headers={"X-API-Key": ONE})
            return (
                [created.status_code, patched.status_code],
                listed.status_code,
                listed.json(),
            )

    statuses, listed, page = asyncio.run(scenario())
    assert all(status in (400, 422) for status in statuses), statuses
    assert listed == 200
    assert [item["text"] for item in page["items"]] == ["ok"]  # nothing else was stored


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/todos", {"limit": "\u00b2"}),
        ("/v1/todos", {"limit": "\u0663"}),
        ("/v1/todos", {"limit": " 5"}),
        ("/v1/todos", {"limit": "1_0"}),
        ("/v1/todos", {"meta": "x"}),
        ("/v1/todos", {"score": "nan"}),
        ("/v1/todos", {"id": "\u0663"}),
        ("/v1/todos/\u0663", {}),
        ("/v1/todos/1_0", {}),
        ("/v1/todos", {"cursor": "W10="}),
        ("/v1/todos", {"cursor": "WyJ4Il0="}),
        ("/v1/todos", {"cursor": "bnVsbA=="}),
        ("/v1/queries/count", {"owner": "x"}),
    ],
)
def test_query_strings_and_paths_that_cannot_be_parsed_are_a_400(
    table_and_url: tuple[sa.Table, str], path: str, params: dict[str, str]
) -> None:
    table, url = table_and_url

    async def scenario() -> httpx.Response:
        async with served(_service(url, table)) as http:
            return await http.get(path, params=params, headers={"X-API-Key": ONE})

    response = asyncio.run(scenario())
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_stored_values_json_cannot_carry_do_not_make_a_list_unreadable(
    table_and_url: tuple[sa.Table, str],
) -> None:
    """Rows written by something other than the service (a migration, another
    program) may hold NaN or infinity: the list still answers."""
    table, url = table_and_url

    async def scenario() -> httpx.Response:
        service = _service(url, table)
        async with served(service) as http:
            first = await http.post("/v1/todos", json={"text": "a"}, headers={"X-API-Key": ONE})
            assert first.status_code == 201
            await _poke(service, table, first.json()["id"], float("nan"))
            return await http.get("/v1/todos", headers={"X-API-Key": ONE})

    listed = asyncio.run(scenario())
    assert listed.status_code == 200
    assert listed.json()["items"][0]["score"] is None


async def _poke(service: Service, table: sa.Table, item: int, score: float) -> None:
    await execute(
        service,
        sa.update(table).where(table.c.id == sa.bindparam("item")).values(score=score),
        item=item,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("PUT", "/v1/todos"), ("POST", "/v1/todos/1"), ("DELETE", "/healthz")],
)
def test_unknown_routes_and_wrong_methods_answer_problem_json(method: str, path: str) -> None:
    table = _table("todos")

    async def scenario() -> httpx.Response:
        async with served(_service("sqlite+aiosqlite:///:memory:", table)) as http:
            return await http.request(method, path, headers={"X-API-Key": ONE})

    response = asyncio.run(scenario())
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == response.status_code
