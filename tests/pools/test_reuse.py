"""Warm invokes reuse one connection; dead ones are replaced; shutdown closes them."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from fastapi import Request  # resolved by FastAPI from this module's globals

from faasify import LambdaHandler, handler
from faasify.local.events import build_event, read_result
from tests.support.pools.apps import fastapi_app, flask_app, pools_of
from tests.support.servers import Servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

APPS = {"fastapi": fastapi_app, "flask": flask_app}


def ping(h: LambdaHandler) -> dict[str, Any]:
    response = read_result(h(build_event("http-api-v2", "GET", "/ping"), None))
    assert response.status == 200, response.body
    body: dict[str, Any] = json.loads(response.body)
    return body


@pytest.mark.parametrize("kind", list(APPS))
def test_a_thousand_warm_invokes_hold_one_connection_each(
    kind: str, servers: Servers, tag: str
) -> None:
    app = APPS[kind](servers.pg_url, servers.redis_url, tag)
    h = handler(app)
    db, cache = pools_of(app)
    try:
        for i in range(1000):
            assert ping(h) == {"db": 1, "hits": i + 1}
            if i % 250 == 0 or i == 999:
                assert servers.pg_backends(tag) == 1
                assert servers.redis_clients(tag) == 1
        assert db.stats.opened == 1
        assert db.stats.reused == 999
        assert db.stats.dropped == 0
        assert cache.stats.opened == 1
        assert cache.stats.reused == 999
    finally:
        h.close()
        pools_close(db, cache, h)


def pools_close(db: Any, cache: Any, h: LambdaHandler) -> None:
    """Close a test's pools now rather than at interpreter exit."""
    import inspect

    for pool in (db, cache):
        closer = pool.close
        result = closer()
        if inspect.isawaitable(result):
            h.loop.run_until_complete(result)


@pytest.mark.parametrize("kind", list(APPS))
def test_connections_killed_between_invokes_are_replaced_and_logged(
    kind: str, servers: Servers, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = APPS[kind](servers.pg_url, servers.redis_url, tag)
    h = handler(app)
    db, cache = pools_of(app)
    try:
        assert ping(h)["db"] == 1
        assert servers.pg_terminate(tag) == 1
        assert servers.redis_kill(tag) == 1
        time.sleep(0.2)
        with caplog.at_level(logging.INFO, logger="faasify.pools"):
            assert ping(h) == {"db": 1, "hits": 2}
        assert (db.stats.opened, db.stats.dropped) == (2, 1)
        assert (cache.stats.opened, cache.stats.dropped) == (2, 1)
        messages = [r.getMessage() for r in caplog.records]
        assert any("replace a dropped one" in m and db.name in m for m in messages)
        assert any("replace a dropped one" in m and cache.name in m for m in messages)
        assert servers.pg_backends(tag) == 1
        assert servers.redis_clients(tag) == 1
    finally:
        h.close()
        pools_close(db, cache, h)


@pytest.mark.parametrize("kind", list(APPS))
def test_server_idle_timeout_shorter_than_the_pause(kind: str, servers: Servers, tag: str) -> None:
    # The server ends sessions idle for 300 ms; the instance "sleeps" 600 ms.
    app = APPS[kind](servers.pg_url, servers.redis_url, tag)
    db, cache = pools_of(app)
    if kind == "fastapi":
        db._connect_kwargs["server_settings"]["idle_session_timeout"] = "300"
    else:
        db._engine_kwargs["connect_args"]["options"] = "-c idle_session_timeout=300"
    h = handler(app)
    try:
        assert ping(h)["db"] == 1
        time.sleep(0.6)
        assert servers.pg_backends(tag) == 0  # the server did close it
        assert ping(h)["db"] == 1
        assert (db.stats.opened, db.stats.dropped) == (2, 1)
    finally:
        h.close()
        pools_close(db, cache, h)


@pytest.mark.parametrize("kind", list(APPS))
def test_a_long_idle_gap_revalidates_and_a_short_one_does_not(
    kind: str, servers: Servers, tag: str
) -> None:
    app = APPS[kind](servers.pg_url, servers.redis_url, tag, idle_check_after=0.3)
    h = handler(app)
    db, cache = pools_of(app)
    try:
        ping(h)
        ping(h)
        assert db.stats.revalidated == 0
        time.sleep(0.5)
        ping(h)
        assert db.stats.revalidated == 1
        ping(h)
        assert db.stats.revalidated == 1
        assert db.stats.opened == 1
    finally:
        h.close()
        pools_close(db, cache, h)


def test_a_pool_opened_in_the_apps_own_lifespan_is_reused(servers: Servers, tag: str) -> None:
    """What users write today: the pool in the lifespan. Lifespan-once makes it stick."""
    import contextlib
    from collections.abc import AsyncIterator

    import asyncpg
    from fastapi import FastAPI

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        pool = await asyncpg.create_pool(
            servers.pg_url, min_size=1, max_size=1, server_settings={"application_name": tag}
        )
        yield {"pool": pool}
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    async def route(request: Request) -> dict[str, Any]:
        return {"db": await request.state.pool.fetchval("SELECT 1"), "hits": 0}

    h = handler(app)
    for i in range(200):
        assert ping(h)["db"] == 1
        if i % 50 == 0:
            assert servers.pg_backends(tag) == 1
    h.close()
    assert servers.pg_backends(tag) == 0
