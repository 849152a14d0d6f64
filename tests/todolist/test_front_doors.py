"""The todolist behind every front door added beside API Gateway: log in, add, list, page.

Each door gets the app through its own factory and its requests as its platform
sends them (the event builders of :mod:`faasify.adapters.aws.events` and
:mod:`faasify.local.platform_events`), and its answers are read back as the
platform would send them to the browser.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import faasify
from examples.todolist.settings import Settings
from faasify.adapters import huawei, openwhisk, tencent
from faasify.adapters.aws.events import EventFormat, HTTPResult, build_event, read_result
from faasify.local.platform_events import build_platform_event, read_platform_result
from tests.todolist.conftest import FRAMEWORKS, SECRET, create_app, new_user, todo_api

AWS_DOORS: tuple[EventFormat, ...] = (
    "vpc-lattice-v2",
    "vpc-lattice-v1",
    "cloudfront-viewer-request",
    "cloudfront-origin-request",
)
PLATFORM_DOORS: dict[str, Callable[..., Any]] = {
    "openwhisk": openwhisk.handler,
    "digitalocean": openwhisk.handler,
    "tencent-scf": tencent.handler,
    "huawei-functiongraph": huawei.handler,
}


def _aws_format(door: str) -> EventFormat:
    """``door`` as the event format it names, for the AWS event builder."""
    for event_format in AWS_DOORS:
        if event_format == door:
            return event_format
    raise LookupError(door)


class Door:
    """The todolist app of one framework behind one front door."""

    def __init__(self, framework: str, door: str) -> None:
        settings = Settings(stage="stateful", secret=SECRET, database_url="sqlite://")
        self.framework = framework
        self.door = door
        self.app = create_app(framework, settings)
        factory: Callable[..., Any] = PLATFORM_DOORS.get(door, faasify.handler)
        self.entry = factory(self.app, handle_signals=False)

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> HTTPResult:
        headers = [("Accept", "application/json"), ("Host", "todo.example.com")]
        if token:
            headers.append(("Authorization", f"Bearer {token}"))
        data = b"" if body is None else json.dumps(body).encode()
        if data:
            headers.append(("Content-Type", "application/json"))
        if self.door in PLATFORM_DOORS:
            event = build_platform_event(self.door, method, path, "", headers, data)
            return read_platform_result(self.door, self.entry(event, None))
        event = build_event(_aws_format(self.door), method, path, "", headers, data)
        return read_result(self.entry(event, None))

    def close(self) -> None:
        from examples.todolist.stores import run_sync

        self.entry.close()
        if self.framework == "flask":
            run_sync(todo_api(self.app).store.close())


@pytest.fixture(params=[(f, d) for d in (*AWS_DOORS, *PLATFORM_DOORS) for f in FRAMEWORKS],
                ids=lambda p: f"{p[1]}-{p[0]}")  # fmt: skip
def door(request: pytest.FixtureRequest) -> Iterator[Door]:
    framework, name = request.param
    found = Door(framework, name)
    yield found
    found.close()


def test_the_todolist_answers_behind_the_door(door: Door) -> None:
    login = door.request("POST", "/api/login", {"username": new_user()})
    assert login.status == 200, login.body
    token = json.loads(login.body)["token"]
    created = door.request("POST", "/api/todos", {"text": f"milk via {door.door}"}, token)
    assert created.status == 201, created.body
    listed = door.request("GET", "/api/todos", token=token)
    assert listed.status == 200, listed.body
    assert [item["text"] for item in json.loads(listed.body)["items"]] == [f"milk via {door.door}"]
    others = door.request("GET", "/api/todos", token=door_token(door))
    assert json.loads(others.body)["items"] == []  # another user sees none of them
    page = door.request("GET", "/")
    assert page.status == 200
    assert b"<html" in page.body.lower()


def door_token(door: Door) -> str:
    answer = door.request("POST", "/api/login", {"username": new_user()})
    token: str = json.loads(answer.body)["token"]
    return token
