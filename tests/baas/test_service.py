"""The data service: CRUD, tenancy, auth and every kind of bad input, on the
embedded SQLite default and on the real PostgreSQL."""

from __future__ import annotations

import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client; httpx still drives it fine.
    warnings.simplefilter("ignore", UserWarning)  # StarletteDeprecationWarning
    from starlette.testclient import TestClient

from faasify.baas.auth import APIKeys, JWTAuth, Principal, hash_api_key
from faasify.baas.collection import Collection
from faasify.baas.service import Service
from tests.support.baas.shared import drop_service_tables, service_options

ALICE, BOB = "key-alice-0123456789", "key-bob-9876543210"
JWT_SECRET = "test-secret-" + "x" * 32


def todos_table(name: str) -> sa.Table:
    metadata = sa.MetaData()
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.now()),
    )


def make_service(database_url: str, table: sa.Table, **options: Any) -> Service:
    keys = APIKeys(
        {
            hash_api_key(ALICE): Principal(tenant="acme", owner="alice"),
            hash_api_key(BOB): Principal(tenant="globex", owner="bob"),
        }
    )
    return Service(
        collections=[Collection("todos", table, read_only=["created_at"], max_page_size=50)],
        auth=[keys, JWTAuth(JWT_SECRET)],
        **service_options(database_url, **options),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    name = f"todos_{uuid.uuid4().hex[:8]}"
    table = todos_table(name)
    if request.param == "sqlite":
        url = "sqlite+aiosqlite:///:memory:"
    else:
        url = request.getfixturevalue("pg_url")
    service = make_service(url, table)
    with TestClient(service.app) as test_client:
        yield test_client
    drop_service_tables(url, service)


def as_(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_crud_round_trip(client: TestClient) -> None:
    created = client.post("/v1/todos", json={"text": "write tests"}, headers=as_(ALICE))
    assert created.status_code == 201
    item = created.json()
    assert item["text"] == "write tests"
    assert item["done"] is False
    assert "owner" not in item
    item_id = item["id"]
    assert client.get(f"/v1/todos/{item_id}", headers=as_(ALICE)).json()["text"] == "write tests"
    patched = client.patch(f"/v1/todos/{item_id}", json={"done": True}, headers=as_(ALICE))
    assert patched.json()["done"] is True
    listed = client.get("/v1/todos", headers=as_(ALICE)).json()
    assert [i["id"] for i in listed["items"]] == [item_id]
    assert listed["next"] is None
    assert client.delete(f"/v1/todos/{item_id}", headers=as_(ALICE)).status_code == 204
    assert client.get(f"/v1/todos/{item_id}", headers=as_(ALICE)).status_code == 404


def test_another_tenant_can_neither_read_change_nor_detect(client: TestClient) -> None:
    item_id = client.post("/v1/todos", json={"text": "alice's"}, headers=as_(ALICE)).json()["id"]
    missing = client.get("/v1/todos/999999", headers=as_(BOB))
    attempts = [
        client.get(f"/v1/todos/{item_id}", headers=as_(BOB)),
        client.patch(f"/v1/todos/{item_id}", json={"text": "mine"}, headers=as_(BOB)),
        client.delete(f"/v1/todos/{item_id}", headers=as_(BOB)),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404]
    # Someone else's row looks exactly like no row at all.
    assert attempts[0].json()["title"] == missing.json()["title"]
    assert client.get("/v1/todos", headers=as_(BOB)).json()["items"] == []
    assert client.get("/v1/todos", params={"owner": "alice"}, headers=as_(BOB)).status_code == 400
    still = client.get(f"/v1/todos/{item_id}", headers=as_(ALICE)).json()
    assert still["text"] == "alice's"


def test_cursor_pagination_walks_every_row_once(client: TestClient) -> None:
    for i in range(25):
        client.post("/v1/todos", json={"text": f"t{i}", "done": i % 2 == 0}, headers=as_(ALICE))
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/todos", params=params, headers=as_(ALICE)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == 25
    assert seen == sorted(set(seen))
    done = client.get("/v1/todos", params={"done": "true", "limit": 50}, headers=as_(ALICE))
    assert len(done.json()["items"]) == 13
    newest = client.get("/v1/todos", params={"order": "-id", "limit": 1}, headers=as_(ALICE))
    assert newest.json()["items"][0]["id"] == max(seen)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "post",
            "/v1/todos",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("post", "/v1/todos", {"json": {"text": 5}}, 422),
        ("post", "/v1/todos", {"json": {"text": "x", "colour": "red"}}, 422),
        ("post", "/v1/todos", {"json": {"text": "x", "owner": "bob"}}, 422),
        ("post", "/v1/todos", {"json": {"text": "x" * 201}}, 422),
        ("post", "/v1/todos", {"json": {"done": True}}, 422),
        ("post", "/v1/todos", {"json": ["a", "list"]}, 422),
        ("post", "/v1/todos", {"json": {"text": "x" * 70_000}}, 413),
        (
            "post",
            "/v1/todos",
            {"content": b"text=x", "headers": {"content-type": "text/plain"}},
            415,
        ),
        ("get", "/v1/todos", {"params": {"cursor": "!!not-a-cursor"}}, 400),
        ("get", "/v1/todos", {"params": {"limit": "51"}}, 400),
        ("get", "/v1/todos", {"params": {"limit": "zero"}}, 400),
        ("get", "/v1/todos", {"params": {"colour": "red"}}, 400),
        ("get", "/v1/todos", {"params": {"done": "maybe"}}, 400),
        ("get", "/v1/todos", {"params": {"order": "text; DROP TABLE todos"}}, 400),
        ("get", "/v1/todos/not-a-number", {}, 400),
        ("patch", "/v1/todos/1", {"json": {}}, 422),
        ("get", "/v1/nothing", {}, 404),
    ],
)
def test_bad_input_gets_a_problem_response(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    kwargs = dict(kwargs)  # the parameter is shared by both databases' runs
    headers = {**as_(ALICE), **kwargs.pop("headers", {})}
    response = getattr(client, method)(path, headers=headers, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert "Traceback" not in problem["detail"]
    assert "SELECT" not in problem["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "nope"}, {"Authorization": "Bearer a.b.c"}, {"Authorization": "Basic x"}],
)
def test_credentials_are_required(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/todos", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_jwt_bearer_tokens(client: TestClient) -> None:
    import jwt

    good = jwt.encode({"sub": "carol", "tenant": "initech", "exp": time.time() + 60}, JWT_SECRET)
    expired = jwt.encode({"sub": "carol", "exp": time.time() - 5}, JWT_SECRET)
    forged = jwt.encode({"sub": "carol", "exp": time.time() + 60}, "another-secret-" + "y" * 32)
    bearer = {"Authorization": f"Bearer {good}"}
    assert client.post("/v1/todos", json={"text": "carol's"}, headers=bearer).status_code == 201
    assert len(client.get("/v1/todos", headers=bearer).json()["items"]) == 1
    assert client.get("/v1/todos", headers=as_(ALICE)).json()["items"] == []
    for token in (expired, forged):
        denied = client.get("/v1/todos", headers={"Authorization": f"Bearer {token}"})
        assert denied.status_code == 401


def test_health_readiness_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok"}}
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/healthz", "/readyz", "/v1/todos", "/v1/todos/{item_id}"}
    assert "owner" not in document["components"]["schemas"]["todos"]["properties"]


def test_unreachable_database_is_a_503_with_retry_after() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    service = make_service(
        f"postgresql://postgres@127.0.0.1:{port}/x",
        todos_table("todos"),
        connect_timeout=1.0,
        create_tables=False,
    )
    with TestClient(service.app) as test_client:
        for path in ("/readyz", "/v1/todos"):
            response = test_client.get(path, headers=as_(ALICE))
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.headers["content-type"] == "application/problem+json"


def test_rate_limit_per_credential_answers_429_with_retry_after() -> None:
    from faasify.baas.throttle import MemoryRateLimiter

    service = make_service(
        "sqlite+aiosqlite:///:memory:",
        todos_table("todos"),
        rate_limiter=MemoryRateLimiter(rate=1, per=60.0, burst=3),
    )
    with TestClient(service.app) as test_client:
        statuses = [test_client.get("/v1/todos", headers=as_(ALICE)).status_code for _ in range(5)]
        other = test_client.get("/v1/todos", headers=as_(BOB))
        refused = test_client.get("/v1/todos", headers=as_(ALICE))
    assert statuses == [200, 200, 200, 429, 429]
    assert other.status_code == 200  # a budget per credential
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429


@pytest.mark.postgres
def test_concurrent_clients_never_exceed_the_pool_and_lose_no_write(pg_url: str) -> None:
    """200 concurrent clients against a pool of 5: 2xx or 503 + Retry-After, all
    accepted writes stored, and PostgreSQL never sees more than 5 backends."""
    import asyncio

    import httpx

    from tests.support.servers import Servers

    tag = f"faasify-baas-{uuid.uuid4().hex[:8]}"
    table = todos_table(f"todos_{uuid.uuid4().hex[:8]}")
    service = make_service(
        pg_url,
        table,
        pool_size=5,
        queue_size=40,
        queue_timeout=0.5,
        application_name=tag,
    )
    servers = Servers(pg_url, None)
    peak = 0

    async def scenario() -> list[httpx.Response]:
        nonlocal peak
        transport = httpx.ASGITransport(app=service.app)
        async with (
            service.app.router.lifespan_context(service.app),
            httpx.AsyncClient(transport=transport, base_url="http://svc") as http,
        ):
            stop = asyncio.Event()

            async def watch() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, await asyncio.to_thread(servers.pg_backends, tag))
                    await asyncio.sleep(0.02)

            watcher = asyncio.create_task(watch())
            responses = await asyncio.gather(
                *(
                    http.post("/v1/todos", json={"text": f"t{i}"}, headers=as_(ALICE))
                    for i in range(200)
                )
            )
            stop.set()
            await watcher
            return list(responses)

    responses = asyncio.run(scenario())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 503}
    assert all("retry-after" in r.headers for r in responses if r.status_code == 503)
    assert 0 < peak <= 5
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    table.drop(engine)
    engine.dispose()
    assert stored == statuses.count(201)


def test_metrics_count_requests_refusals_and_pool_state() -> None:
    from faasify.baas.throttle import MemoryRateLimiter

    service = make_service(
        "sqlite+aiosqlite:///:memory:",
        todos_table("todos"),
        rate_limiter=MemoryRateLimiter(rate=1, per=60.0, burst=2),
    )
    with TestClient(service.app) as test_client:
        for _ in range(3):
            test_client.get("/v1/todos", headers=as_(ALICE))
        text = test_client.get("/metrics").text
    assert (
        'faasify_baas_requests_total{method="GET",route="/v1/{collection}",status="200"} 2.0'
        in text
    )
    assert 'status="429"' in text
    assert "faasify_baas_pool_in_use 0.0" in text
    assert "faasify_baas_breaker_state 0.0" in text


def test_named_query_binds_the_owner_and_checks_its_parameters() -> None:
    from faasify.baas.query import NamedQuery

    table = todos_table("todos")
    counts = NamedQuery(
        "count_by_done",
        sa.text("SELECT count(*) AS n FROM todos WHERE owner = :owner AND done = :done"),
        params={"done": bool},
    )
    keys = APIKeys(
        {
            hash_api_key(ALICE): Principal(tenant="acme", owner="alice"),
            hash_api_key(BOB): Principal(tenant="globex", owner="bob"),
        }
    )
    service = Service(
        database="sqlite+aiosqlite:///:memory:",
        collections=[Collection("todos", table, read_only=["created_at"])],
        queries=[counts],
        auth=keys,
    )
    with TestClient(service.app) as test_client:
        for text in ("a", "b", "c"):
            test_client.post("/v1/todos", json={"text": text}, headers=as_(ALICE))
        test_client.post("/v1/todos", json={"text": "bob's"}, headers=as_(BOB))
        path = "/v1/queries/count_by_done"
        alice = test_client.get(path, params={"done": "false"}, headers=as_(ALICE))
        bob = test_client.get(path, params={"done": "false"}, headers=as_(BOB))
        spoof = test_client.get(path, params={"done": "false", "owner": "bob"}, headers=as_(ALICE))
        missing = test_client.get(path, headers=as_(ALICE))
        badly_typed = test_client.get(path, params={"done": "perhaps"}, headers=as_(ALICE))
        unknown = test_client.get("/v1/queries/nope", headers=as_(ALICE))
    assert alice.json() == {"rows": [{"n": 3}]}
    assert bob.json() == {"rows": [{"n": 1}]}
    assert [r.status_code for r in (spoof, missing, badly_typed, unknown)] == [400, 400, 400, 404]
    assert "owner" in spoof.json()["detail"]


def test_delete_many_is_all_or_none(client: TestClient) -> None:
    ids = [
        client.post("/v1/todos", json={"text": f"t{i}"}, headers=as_(ALICE)).json()["id"]
        for i in range(3)
    ]
    bobs = client.post("/v1/todos", json={"text": "bob's"}, headers=as_(BOB)).json()["id"]

    def remaining() -> list[int]:
        return [item["id"] for item in client.get("/v1/todos", headers=as_(ALICE)).json()["items"]]

    # One id unknown, one another tenant's: 404 and nothing deleted.
    for stranger in (999_999, bobs):
        refused = client.delete("/v1/todos", params={"id": [ids[0], stranger]}, headers=as_(ALICE))
        assert refused.status_code == 404
        assert remaining() == ids
    assert client.delete("/v1/todos", headers=as_(ALICE)).status_code == 400
    assert client.delete("/v1/todos", params={"id": "x"}, headers=as_(ALICE)).status_code == 400
    done = client.delete("/v1/todos", params={"id": ids[:2]}, headers=as_(ALICE))
    assert done.status_code == 204
    assert remaining() == [ids[2]]
    assert client.get(f"/v1/todos/{bobs}", headers=as_(BOB)).status_code == 200


def test_values_the_database_cannot_hold_are_refused_cleanly(client: TestClient) -> None:
    nul = client.post("/v1/todos", json={"text": "a\x00b"}, headers=as_(ALICE))
    assert nul.status_code == 422
    assert nul.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/todos", headers=as_(ALICE)).json()["items"] == []


def test_a_value_out_of_the_columns_range_is_refused_on_both_databases(
    client: TestClient,
) -> None:
    """The column is 32 bits wide: an id or filter past it is a 400 on SQLite as on
    PostgreSQL (whose own refusal would be a 422), and a body value past it a 422."""
    assert client.get(f"/v1/todos/{2**40}", headers=as_(ALICE)).status_code == 400
    wide = client.get("/v1/todos", params={"id": 2**40}, headers=as_(ALICE))
    assert wide.status_code == 400
    assert wide.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/todos/{2**31 - 1}", headers=as_(ALICE)).status_code == 404


def test_refused_tokens_say_why_without_the_librarys_words(client: TestClient) -> None:
    import jwt

    expired = jwt.encode({"sub": "alice", "exp": int(time.time()) - 60}, JWT_SECRET)
    forged = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, "another-" + JWT_SECRET)
    answers = [
        client.get("/v1/todos", headers={"Authorization": f"Bearer {token}"})
        for token in (expired, forged)
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert [a.json()["detail"] for a in answers] == [
        "the token has expired",
        "the token is not valid",
    ]
    assert all(a.headers["WWW-Authenticate"] == "Bearer" for a in answers)
