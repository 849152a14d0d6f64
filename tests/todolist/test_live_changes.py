"""live.py's bookkeeping through the WebSocket events: who listens, who hears, who left.

Through ``faasify.handler`` with a recording ``@connections`` client, for the
in-memory registry and for Redis (the real server, under a key of its own).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import faasify
from examples.todolist.live import LiveChanges
from examples.todolist.settings import Settings
from faasify.adapters.aws.events import build_event, read_result
from faasify.adapters.aws.websocket import build_websocket_event
from tests.support.websocket.apps import RecordingConnections
from tests.todolist.conftest import SECRET


def _function(
    live: LiveChanges, clients: RecordingConnections, monkeypatch: pytest.MonkeyPatch
) -> Any:
    from examples.todolist import fastapi_app

    settings = Settings(stage="stateful", secret=SECRET, database_url="sqlite://")
    monkeypatch.setattr(LiveChanges, "from_env", classmethod(lambda cls: live))
    app = fastapi_app.create_app(settings)
    entry = faasify.handler(app, handle_signals=False)
    entry.websockets(path="/live", connections=clients)
    return entry


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def live(request: pytest.FixtureRequest) -> Iterator[LiveChanges]:
    clients = RecordingConnections()
    request.node.clients = clients
    if request.param == "memory":
        yield LiveChanges(connections=clients)
        return
    import examples.todolist.live as module

    url = request.getfixturevalue("redis_url")
    prefix = f"faasify-test-live-{uuid.uuid4().hex[:8]}:"
    original, module._KEY = module._KEY, prefix
    try:
        yield LiveChanges(url, connections=clients)
    finally:
        module._KEY = original
        import redis

        plain = redis.Redis.from_url(url)
        for key in plain.scan_iter(prefix + "*"):
            plain.delete(key)
        plain.close()


def test_a_change_reaches_the_users_pages_and_no_one_elses(
    live: LiveChanges, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients: RecordingConnections = request.node.clients
    entry = _function(live, clients, monkeypatch)
    try:

        def login(name: str) -> str:
            answer = entry(build_event("http-api-v2", "POST", "/api/login", "",
                                       [("content-type", "application/json")],
                                       json.dumps({"username": name}).encode()), None)  # fmt: skip
            token: str = json.loads(read_result(answer).body)["token"]
            return token

        alice, bob = login(f"alice-{uuid.uuid4().hex[:6]}"), login(f"bob-{uuid.uuid4().hex[:6]}")
        for cid, token in (("tab-1=", alice), ("tab-2=", alice), ("tab-3=", alice),
                           ("bob-tab=", bob)):  # fmt: skip
            event = build_websocket_event("CONNECT", cid, query=f"token={token}&tab={cid[:5]}")
            assert entry(event, None) == {"statusCode": 200}
        forged = build_websocket_event("CONNECT", "x=", query="token=forged")
        assert entry(forged, None) == {"statusCode": 403}
        assert entry(build_websocket_event("DISCONNECT", "tab-2="), None) == {"statusCode": 200}

        created = entry(build_event("http-api-v2", "POST", "/api/todos", "",
                                    [("content-type", "application/json"),
                                     ("authorization", f"Bearer {alice}"),
                                     ("x-todo-tab", "tab-3")],
                                    b'{"text": "milk"}'), None)  # fmt: skip
        assert read_result(created).status == 201
        assert read_result(created).header("x-todo-live") == "on"
        # tab-2 left, tab-3 made the change, bob is someone else: only tab-1 hears of it.
        assert clients.sent == [("tab-1=", b'{"changed": "create_todo"}')]
    finally:
        entry.close()
