"""``faasify.core.streaming``: a response's head, its body as produced, the work after it.

In process, without a runtime: these are the three moments any runtime that can
stream builds on.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from faasify._exceptions import AppProtocolError, IncompleteResponseError
from faasify.core import AppOptions, HostedApp, Request
from faasify.core.streaming import after_response, open_stream

log: list[str] = []


async def counted(request: StarletteRequest) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        try:
            for index in range(5):
                log.append(f"made {index}")
                yield b"%d;" % index
        finally:
            log.append("closed")

    return StreamingResponse(body(), background=BackgroundTask(log.append, "background"))


async def later(request: StarletteRequest) -> PlainTextResponse:
    after_response(log.append, "after")

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    return PlainTextResponse("ok", background=BackgroundTask(slow))


@pytest.fixture
def hosted() -> Iterator[HostedApp]:
    log.clear()
    app = Starlette(routes=[Route("/counted", counted), Route("/later", later)])
    hosted = HostedApp(app, AppOptions(handle_signals=False))
    yield hosted
    hosted.close()


def request(path: str) -> Request:
    return Request("GET", path, b"", [("host", "example.com")], b"")


def test_the_app_is_held_at_each_chunk_until_it_is_taken(hosted: HostedApp) -> None:
    stream = open_stream(hosted, request("/counted"))
    stream.start()
    assert stream.status == 200
    taken: list[tuple[bytes, list[str]]] = []
    first = stream.ready()
    taken.append((first, list(log)))
    for chunk in stream.chunks():
        taken.append((chunk, list(log)))
    # When a chunk is taken the app has made it and, at most, the one after:
    # never the whole body ahead of its reader.
    for index, (chunk, made) in enumerate(taken):
        assert chunk == b"%d;" % index
        assert len([m for m in made if m.startswith("made")]) <= index + 2
    assert "background" not in log  # not before finish()
    stream.finish(5.0)
    assert log[-2:] == ["closed", "background"]


def test_aborting_stops_the_apps_generator(hosted: HostedApp) -> None:
    stream = open_stream(hosted, request("/counted"))
    stream.start()
    assert stream.ready() == b"0;"
    stream.abort()
    assert "closed" in log
    assert log.count("made 4") == 0
    assert "background" not in log


def test_work_after_the_response_past_its_budget_is_cancelled(
    hosted: HostedApp, caplog: pytest.LogCaptureFixture
) -> None:
    stream = open_stream(hosted, request("/later"), buffered=True)
    stream.start()
    assert stream.ready() == b"ok"
    stream.finish(0.2)
    assert "cancelled" in log
    assert "after" not in log  # nothing left of the budget for it
    messages = [r.getMessage() for r in caplog.records if r.name == "faasify.app"]
    assert len(messages) == 1
    assert "work after the response cancelled at the deadline" in messages[0]
    # The after_response call the deadline left unrun is named, not dropped.
    assert "the app's background work and 1 after_response call(s)" in messages[0]


def test_an_app_that_never_answers_is_an_incomplete_response() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    hosted = HostedApp(silent, AppOptions(handle_signals=False, kind="asgi", lifespan="off"))
    try:
        with pytest.raises(IncompleteResponseError):
            open_stream(hosted, request("/")).start()
    finally:
        hosted.close()


def test_a_body_before_the_start_is_a_protocol_error() -> None:
    async def rude(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    hosted = HostedApp(rude, AppOptions(handle_signals=False, kind="asgi", lifespan="off"))
    try:
        with pytest.raises(AppProtocolError):
            open_stream(hosted, request("/")).start()
    finally:
        hosted.close()


# -- WSGI ----------------------------------------------------------------------------------


def wsgi_late_start(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    # PEP 3333: a generator may call start_response on its first step, and
    # replace its head (exc_info) until the first non-empty chunk.
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("changed its mind")
    except ValueError:
        start_response("503 Service Unavailable", [("Retry-After", "1")], sys.exc_info())
    yield b""
    yield b"first"
    environ["faasify.after_response"](log.append, "after")
    yield b"second"


class Closing:
    def __init__(self) -> None:
        self.parts = [b"a", b"b"]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def close(self) -> None:
        log.append("close")


def test_a_wsgi_head_may_change_until_the_first_chunk() -> None:
    log.clear()
    hosted = HostedApp(wsgi_late_start, AppOptions(handle_signals=False))
    stream = open_stream(hosted, request("/"))
    stream.start()
    assert stream.status == 503
    assert stream.headers == [("Retry-After", "1")]
    assert stream.ready() == b"first"
    assert list(stream.chunks()) == [b"second"]
    stream.finish(5.0)
    assert log == ["after"]


def test_a_wsgi_iterable_is_closed_after_the_response() -> None:
    log.clear()

    def app(environ: dict[str, Any], start_response: Any) -> Closing:
        start_response("200 OK", [])
        return Closing()

    stream = open_stream(HostedApp(app, AppOptions(handle_signals=False)), request("/"))
    stream.start()
    assert stream.ready() + b"".join(stream.chunks()) == b"ab"
    assert log == []
    stream.finish(5.0)
    assert log == ["close"]


def test_after_response_outside_a_streamed_request_runs_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []
    after_response(ran.append, "now")
    assert ran == ["now"]

    def broken() -> None:
        raise RuntimeError("no")

    with caplog.at_level(logging.ERROR, logger="faasify.app"):
        after_response(broken)  # logged, not raised
    assert any("work after the response failed" in r.getMessage() for r in caplog.records)
