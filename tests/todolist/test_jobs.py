"""The todolist's asynchronous job: a reminder, added once however often it runs."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import uuid
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from faasify.baas import Client
from tests.support.local.async_support import Local, invoke_event, spawn_local, stop, wait_until
from tests.todolist.conftest import SECRET, new_user, stage_settings


def token(user: str) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": user, "iat": now, "exp": now + dt.timedelta(hours=1)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def baas_env(request: pytest.FixtureRequest) -> dict[str, str]:
    settings = stage_settings(request, "baas", "sqlite")
    return {"TODO_BAAS_URL": settings.baas_url, "TODO_SECRET": SECRET}


def reminders(env: dict[str, str], user: str) -> list[dict[str, Any]]:
    client = Client(env["TODO_BAAS_URL"])
    try:
        items: list[dict[str, Any]] = client.with_token(token(user)).list("todos")["items"]
    finally:
        client.close()
    return [item for item in items if item["text"].startswith("Reminder: ")]


def test_a_repeated_event_adds_one_reminder(
    baas_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in baas_env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("examples.todolist.jobs", None)
    jobs = importlib.import_module("examples.todolist.jobs")
    user = new_user()
    event = {"token": token(user), "text": "water the plants"}
    context = SimpleNamespace(aws_request_id=str(uuid.uuid4()))
    first = jobs.remind(event, context)
    again = jobs.remind(event, context)  # a retry, or a redelivery: the same event id
    assert again == first
    assert [r["text"] for r in reminders(baas_env, user)] == ["Reminder: water the plants"]
    jobs.remind(event, SimpleNamespace(aws_request_id=str(uuid.uuid4())))  # another event
    assert len(reminders(baas_env, user)) == 2
    jobs._client.close()
    sys.modules.pop("examples.todolist.jobs", None)


def test_the_reminder_runs_as_an_asynchronous_invoke(baas_env: dict[str, str]) -> None:
    process, port = spawn_local("examples.todolist.jobs:remind", env=baas_env)
    try:
        runtime = Local(process, port)
        user = new_user()
        answer = invoke_event(runtime.url, {"token": token(user), "text": "call back"})
        assert answer.status_code == 202
        found = wait_until(lambda: reminders(baas_env, user), what="the reminder")
        assert [r["text"] for r in found] == ["Reminder: call back"]
        runtime.lines.wait_for("ok attempt=1")
    finally:
        stop(process)
