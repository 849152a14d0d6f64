"""WebSocket API events through the ASGI websocket scope: handshake, messages, goodbye."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from faasify import handler
from faasify.adapters.aws.websocket import build_websocket_event
from tests.support.websocket.apps import RecordingConnections, chat_app


class Chat:
    def __init__(self) -> None:
        self.members: set[str] = set()
        self.log: list[str] = []
        self.clients = RecordingConnections()
        self.entry = handler(chat_app(self.members, self.log), handle_signals=False)
        self.entry.websockets(path="/chat", connections=self.clients)


@pytest.fixture
def chat() -> Iterator[Chat]:
    found = Chat()
    yield found
    found.entry.close()


def test_connect_accepts_with_the_subprotocol_and_joins(chat: Chat) -> None:
    event = build_websocket_event(
        "CONNECT", "conn-a=", headers=[("Sec-WebSocket-Protocol", "chat.v1, chat.v0")]
    )
    assert chat.entry(event, None) == {
        "statusCode": 200,
        "headers": {"Sec-WebSocket-Protocol": "chat.v1"},
    }
    assert chat.members == {"conn-a="}
    assert chat.clients.sent == []


def test_connect_refused_by_the_app_is_a_403(chat: Chat) -> None:
    event = build_websocket_event("CONNECT", "conn-x=", query="token=bad")
    assert chat.entry(event, None) == {"statusCode": 403}
    assert chat.members == set()


def test_a_message_reaches_the_app_and_its_sends_go_through_connections(chat: Chat) -> None:
    for connection in ("conn-a=", "conn-b="):
        chat.entry(build_websocket_event("CONNECT", connection), None)
    result = chat.entry(build_websocket_event("MESSAGE", "conn-a=", body="hello"), None)
    assert result == {"statusCode": 200}
    assert chat.log == ["conn-a=: hello"]
    assert chat.clients.sent == [
        ("conn-a=", b"conn-a=: hello"),
        ("conn-b=", b"conn-a=: hello"),
        ("conn-a=", b"delivered"),  # the app's own websocket.send_text
    ]
    # The handler waited for the next message and was ended: nobody left.
    assert chat.members == {"conn-a=", "conn-b="}


def test_a_gone_member_is_dropped_by_the_app(chat: Chat) -> None:
    for connection in ("conn-a=", "conn-b="):
        chat.entry(build_websocket_event("CONNECT", connection), None)
    chat.clients.gone.add("conn-b=")
    chat.entry(build_websocket_event("MESSAGE", "conn-a=", body="still there?"), None)
    assert chat.members == {"conn-a="}


def test_disconnect_delivers_the_close_code(chat: Chat) -> None:
    chat.entry(build_websocket_event("CONNECT", "conn-a="), None)
    result = chat.entry(build_websocket_event("DISCONNECT", "conn-a=", close_code=1001), None)
    assert result == {"statusCode": 200}
    assert chat.members == set()
    assert chat.log == ["conn-a= left (1001)"]


def test_the_app_closing_the_connection_deletes_it(chat: Chat) -> None:
    chat.entry(build_websocket_event("MESSAGE", "conn-a=", body="bye"), None)
    assert chat.clients.closed == ["conn-a="]


def test_an_app_exception_is_a_500_and_one_log_line(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="faasify.app"):
        result = chat.entry(build_websocket_event("MESSAGE", "conn-a=", body="boom"), None)
    assert result == {"statusCode": 500}
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "faasify.app"]
    assert line["message"] == "unhandled exception in app"
    assert line["error"] == "RuntimeError: boom in the chat"


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e["requestContext"].update(eventType="OPEN"),
        lambda e: e["requestContext"].update(connectionId=7),
        lambda e: e.update(body={"not": "text"}),
        lambda e: e.update(isBase64Encoded=True, body="%%%"),
    ],
)
def test_a_malformed_event_is_a_400_and_a_log_line(
    chat: Chat, change: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = build_websocket_event("MESSAGE", "conn-a=", body="hi")
    change(event)
    with caplog.at_level(logging.WARNING, logger="faasify.app"):
        assert chat.entry(event, None) == {"statusCode": 400}
    assert "malformed event" in caplog.text


def test_binary_frames_arrive_as_bytes() -> None:
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        seen.append(await receive())
        await receive()

    entry = handler(app, lifespan="off", handle_signals=False)
    entry.websockets(connections=RecordingConnections())
    assert entry(build_websocket_event("MESSAGE", "c=", body=b"\x00\xff"), None) == {
        "statusCode": 200
    }
    entry.close()
    assert seen == [{"type": "websocket.receive", "bytes": b"\x00\xff"}]


def test_http_events_still_reach_the_http_app(chat: Chat) -> None:
    from faasify.adapters.aws.events import build_event, read_result

    assert (
        read_result(chat.entry(build_event("http-api-v2", "GET", "/nowhere"), None)).status == 404
    )


def test_faasify_event_builds_the_three_websocket_events(chat: Chat) -> None:
    from faasify.cli.event import make_event

    connect = make_event("websocket-connect", query="room=1")
    assert chat.entry(connect, None)["statusCode"] == 200
    message = make_event("websocket-message", body="hi")
    assert chat.entry(message, None) == {"statusCode": 200}
    assert chat.log == ["faasify-local-connection=: hi"]
    assert chat.entry(make_event("websocket-disconnect"), None) == {"statusCode": 200}
    assert chat.members == set()
