"""Instance life: lifespan startup once per instance, shutdown once, on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from faasify import LambdaHandler, LifespanStartupError, handler, wsgi
from faasify.adapters.aws.events import build_event, read_result
from tests.support.apps import starlette_app


class Counter:
    def __init__(self) -> None:
        self.startups = 0
        self.shutdowns = 0


def counting_lifespan(counter: Counter, state: dict[str, Any]) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        counter.startups += 1
        yield state
        counter.shutdowns += 1

    return lifespan


def get(h: LambdaHandler, path: str = "/echo/x") -> Any:
    return read_result(h(build_event("http-api-v2", "GET", path), None))


def test_startup_runs_once_over_a_thousand_invokes_and_shutdown_once() -> None:
    counter = Counter()
    h = handler(starlette_app(lifespan=counting_lifespan(counter, {})))
    assert counter.startups == 1
    for _ in range(1000):
        assert get(h).status == 200
    assert counter.startups == 1
    assert counter.shutdowns == 0
    h.close()
    h.close()
    assert counter.shutdowns == 1
    assert counter.startups == 1


def test_lifespan_state_and_loop_are_shared_with_every_request() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen: list[tuple[int, int]] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        # Something bound to the loop, as a connection pool is.
        yield {"resource": object(), "loop": asyncio.get_running_loop()}

    async def view(request: Request) -> JSONResponse:
        assert request.state.loop is asyncio.get_running_loop()
        seen.append((id(request.state.resource), id(asyncio.get_running_loop())))
        return JSONResponse({})

    h = handler(Starlette(routes=[Route("/", view)], lifespan=lifespan))
    for _ in range(5):
        assert get(h, "/").status == 200
    assert len(set(seen)) == 1
    assert seen[0][1] == id(h.loop)
    h.close()


def test_failing_startup_fails_the_cold_start_with_the_apps_exception() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        raise ConnectionRefusedError("database is down")
        yield

    with pytest.raises(LifespanStartupError) as caught:
        handler(starlette_app(lifespan=lifespan))
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert "database is down" in str(caught.value)


async def _no_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http", "this app knows only http"
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_auto_mode_accepts_an_app_without_lifespan() -> None:
    h = handler(_no_lifespan_app, lifespan="auto")
    assert not h.lifespan_supported
    assert get(h, "/").status == 204
    h.close()


def test_on_mode_requires_lifespan_support() -> None:
    with pytest.raises(LifespanStartupError) as caught:
        handler(_no_lifespan_app, lifespan="on")
    assert isinstance(caught.value.__cause__, AssertionError)


def test_off_mode_never_sends_lifespan() -> None:
    counter = Counter()
    h = handler(starlette_app(lifespan=counting_lifespan(counter, {})), lifespan="off")
    assert get(h).status == 200
    h.close()
    assert (counter.startups, counter.shutdowns) == (0, 0)


def test_startup_failed_message_fails_the_cold_start() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.failed", "message": "no config"})

    with pytest.raises(LifespanStartupError, match="no config"):
        handler(app)


def test_shutdown_that_hangs_is_cut_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await asyncio.sleep(60)

    h = handler(starlette_app(lifespan=lifespan), shutdown_timeout=0.2)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="faasify.handler"):
        h.close()
    assert time.monotonic() - started < 2
    assert any("did not finish within 0.2s" in r.getMessage() for r in caplog.records)


def test_hooks_run_once_for_wsgi_apps_sync_and_async() -> None:
    calls: list[str] = []

    async def open_pool() -> None:
        calls.append(f"async-start:{id(asyncio.get_running_loop())}")

    def simple(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    h = wsgi(
        simple,
        on_startup=[lambda: calls.append("sync-start"), open_pool],
        on_shutdown=[lambda: calls.append("first-registered-stop"), open_pool],
    )
    loop_id = id(h.loop)
    assert calls == ["sync-start", f"async-start:{loop_id}"]
    for _ in range(10):
        assert get(h, "/").status == 200
    assert len(calls) == 2
    h.close()
    h.close()
    # Shutdown hooks run newest first, the async one on the instance's loop.
    assert calls[2:] == [f"async-start:{loop_id}", "first-registered-stop"]


def test_asgi_app_gets_hooks_after_lifespan() -> None:
    order: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        order.append("lifespan-start")
        yield
        order.append("lifespan-stop")

    h = handler(
        starlette_app(lifespan=lifespan),
        on_startup=[lambda: order.append("hook-start")],
        on_shutdown=[lambda: order.append("hook-stop")],
    )
    h.close()
    assert order == ["lifespan-start", "hook-start", "lifespan-stop", "hook-stop"]


def test_invoke_log_line_marks_the_cold_start_only(caplog: pytest.LogCaptureFixture) -> None:
    import json

    h = handler(starlette_app())
    with caplog.at_level(logging.INFO, logger="faasify.invoke"):
        get(h)
        get(h)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "faasify.invoke"]
    assert [line["cold_start"] for line in lines] == [True, False]
    assert "init_ms" in lines[0]
    assert "init_ms" not in lines[1]
    assert lines[0]["status"] == 200
    assert lines[0]["source"] == "http-api-v2"
    assert lines[1]["duration_ms"] > 0
    h.close()


def test_invoke_log_is_silent_by_default(caplog: pytest.LogCaptureFixture) -> None:
    h = handler(starlette_app())
    with caplog.at_level(logging.WARNING):
        get(h)
    assert not [r for r in caplog.records if r.name == "faasify.invoke"]
    h.close()
