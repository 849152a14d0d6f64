"""The code the new platform pages show runs and does what the pages say.

Each snippet is read from its page (docs/platforms/), so an edit that breaks it
fails here. The WebSocket chat runs against the real Redis, under a room key of
its own.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from faasify.adapters.aws.events import EventFormat, build_event, read_result
from faasify.adapters.aws.websocket import build_websocket_event
from faasify.local.platform_events import build_platform_event, read_platform_result
from tests.support.websocket.apps import RecordingConnections

PLATFORMS = Path(__file__).resolve().parents[2] / "docs" / "platforms"


def _first_python_block(page: str) -> str:
    text = (PLATFORMS / page).read_text(encoding="utf-8")
    match = re.search(r"```python[^\n]*\n(.*?)```", text, re.S)
    assert match is not None, f"no python block in {page}"
    return match.group(1)


def _run(page: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs_{page.replace('-', '_').removesuffix('.md')}"}
    exec(compile(_first_python_block(page), page, "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("page", "name", "event_format", "path", "expected"),
    [
        ("vpc-lattice.md", "lambda_handler", "vpc-lattice-v2", "/orders/7", {"order": 7}),
        ("cloudfront.md", "lambda_handler", "cloudfront-viewer-request", "/hello/edge",
         {"hello": "edge"}),
        ("openwhisk.md", "main", "openwhisk", "/hello/ow", {"hello": "ow"}),
        ("tencent.md", "main_handler", "tencent-scf", "/hello/scf", {"hello": "scf"}),
        ("huawei.md", "handler", "huawei-functiongraph", "/hello/fg", {"hello": "fg"}),
    ],
)  # fmt: skip
def test_each_pages_snippet_answers(
    page: str, name: str, event_format: EventFormat, path: str, expected: dict[str, Any]
) -> None:
    entry = _run(page)[name]
    try:
        if event_format in ("openwhisk", "tencent-scf", "huawei-functiongraph"):
            event = build_platform_event(event_format, "GET", path, host="api.example.com")
            answer = read_platform_result(event_format, entry(event, None))
        else:
            answer = read_result(entry(build_event(event_format, "GET", path), None))
        assert answer.status == 200, answer.body
        seen = json.loads(answer.body)
        assert {k: seen[k] for k in expected} == expected
    finally:
        entry.close()


@pytest.mark.redis
def test_the_websocket_chat_keeps_its_members_in_redis(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    room = f"faasify-test-chat-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("CHAT_ROOM", room)
    namespace = _run("websocket.md")
    lambda_handler = namespace["lambda_handler"]
    clients = RecordingConnections(gone=("conn-c=",))
    lambda_handler.websockets(path="/chat", connections=clients)
    plain = redis.Redis.from_url(redis_url)
    try:
        for connection in ("conn-a=", "conn-b=", "conn-c="):
            assert lambda_handler(build_websocket_event("CONNECT", connection), None) == {
                "statusCode": 200
            }
        assert plain.smembers(room) == {b"conn-a=", b"conn-b=", b"conn-c="}
        message = build_websocket_event("MESSAGE", "conn-a=", body="hello")
        assert lambda_handler(message, None) == {"statusCode": 200}
        assert sorted(clients.sent) == [
            ("conn-a=", b"conn-a=: hello"),
            ("conn-b=", b"conn-a=: hello"),
        ]
        # conn-c= was gone: the send found out, and the chat forgot it.
        assert plain.smembers(room) == {b"conn-a=", b"conn-b="}
        goodbye = build_websocket_event("DISCONNECT", "conn-b=")
        assert lambda_handler(goodbye, None) == {"statusCode": 200}
        assert plain.smembers(room) == {b"conn-a="}
    finally:
        plain.delete(room)
        plain.close()
        lambda_handler.close()
