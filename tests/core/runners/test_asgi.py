"""The ASGI runner: one HTTP cycle on the instance's loop, buffered, to the spec."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from faasify import AppProtocolError, asgi
from faasify.adapters.aws.events import EVENT_FORMATS, EventFormat, build_event, read_result
from faasify.core import AppOptions, HostedApp, Request
from faasify.core.runners.asgi import ASGIRunner


def _request(**overrides: Any) -> Request:
    fields: dict[str, Any] = {
        "method": "GET",
        "path": "/x",
        "query_string": b"a=1",
        "headers": [("host", "example.com")],
        "body": b"",
        "root_path": "/stage",
        "server": ("example.com", 443),
        "client": ("203.0.113.1", 0),
    }
    fields.update(overrides)
    return Request(**fields)


def test_the_scope_follows_the_asgi_spec() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    loop = asyncio.new_event_loop()
    try:
        response = ASGIRunner(app, loop).run(_request())
    finally:
        loop.close()
    assert response.status == 204
    assert seen["path"] == "/stage/x"  # the full path; root_path says what is mounted
    assert seen["root_path"] == "/stage"
    assert seen["headers"] == [(b"host", b"example.com")]
    assert seen["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert seen["client"] == ("203.0.113.1", 0)
    assert "state" not in seen  # no lifespan state to share


@pytest.mark.parametrize(
    "messages",
    [
        [{"type": "http.response.body", "body": b"x"}],
        [
            {"type": "http.response.start", "status": 200, "headers": []},
            {"type": "http.response.start", "status": 200, "headers": []},
        ],
        [{"type": "websocket.send"}],
    ],
)
def test_a_message_out_of_turn_raises_into_the_app(messages: list[dict[str, Any]]) -> None:
    raised: list[BaseException] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            for message in messages:
                await send(message)
        except RuntimeError as exc:  # what an app written for any server catches
            raised.append(exc)
            raise

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(AppProtocolError):
            ASGIRunner(app, loop).run(_request())
    finally:
        loop.close()
    assert len(raised) == 1
    assert isinstance(raised[0], AppProtocolError)


def test_lifespan_state_is_a_shallow_copy_per_request() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["shared"] = [0]
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        scope["state"]["shared"][0] += 1
        scope["state"]["own"] = True
        body = str(scope["state"]["shared"][0]).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    hosted = HostedApp(app, AppOptions(handle_signals=False))
    try:
        first = hosted.respond(_request(), "test")
        second = hosted.respond(_request(), "test")
    finally:
        hosted.close()
    assert (first.body, second.body) == (b"1", b"2")


@pytest.mark.parametrize("event_format", EVENT_FORMATS)
def test_app_returning_no_response_gives_500(event_format: EventFormat) -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    h = asgi(silent, lifespan="off")
    result = h(build_event(event_format, "GET", "/"), None)
    assert read_result(result).status == 500


def test_streamed_response_is_buffered_whole() -> None:
    from starlette.responses import StreamingResponse

    async def chunks() -> Any:
        for i in range(5):
            yield f"chunk{i};"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await StreamingResponse(chunks(), media_type="text/plain")(scope, receive, send)

    h = asgi(app, lifespan="off")
    result = h(build_event("http-api-v2", "GET", "/"), None)
    assert result["body"] == "chunk0;chunk1;chunk2;chunk3;chunk4;"


def test_app_waiting_for_disconnect_gets_it_after_the_response() -> None:
    """An app may listen for the disconnect (ASGI < 2.4 style) while it streams."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"

        async def stream() -> None:
            headers = [(b"content-type", b"text/plain")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for part in (b"a", b"b"):
                await asyncio.sleep(0)
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"c"})

        streaming = asyncio.ensure_future(stream())
        message = await receive()
        assert message["type"] == "http.disconnect"
        await streaming

    h = asgi(app, lifespan="off")
    assert h(build_event("http-api-v2", "GET", "/"), None)["body"] == "abc"
