"""What N users at once make of a stage: ``crowd.run_crowd`` over function instances.

The instances here are in-process (each its own app, store and
``faasify.handler``, as in the other API tests) and the requests go round-robin
over them, the way a platform spreads concurrent requests: deterministic, so
the stateful stage's losses are exact. The panel runs the same function through
the local runtime's real instance processes (``test_panel.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.todolist.crowd import CrowdResult, run_crowd
from examples.todolist.gateway import Answer
from examples.todolist.settings import Settings
from tests.todolist.conftest import SECRET, Instance


def _round_robin(instances: list[Instance]) -> Any:
    """A crowd's ``call`` that sends each request to the next instance, one request at a
    time per instance, as the local runtime does.

    A Flask instance answers inline, so a user's coroutine never yields and the
    assignment of requests to instances is exact. A FastAPI instance runs on
    faasify's event loop, one per process and shared by the in-process instances,
    so it answers in a thread, one request in the process at a time (and the
    order depends on timing).
    """
    turns = itertools.cycle(range(len(instances)))
    one_at_a_time = threading.Lock()

    def serve(number: int, method: str, path: str, query: str, body: bytes, token: Any) -> Answer:
        data = json.loads(body) if body else None
        with one_at_a_time:
            result = instances[number].request(method, path, data, token=token, query=query)
        return Answer(result.status, result.headers, result.body, f"instance-{number + 1}")

    async def call(method: str, path: str, query: str, body: bytes, token: str | None) -> Answer:
        number = next(turns)
        if instances[number].framework == "flask":
            return serve(number, method, path, query, body, token)
        return await asyncio.to_thread(serve, number, method, path, query, body, token)

    return call


@pytest.fixture
def instances(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Instance]]:
    stage, framework = request.param
    settings = Settings(stage=stage, secret=SECRET, database_url=f"sqlite:///{tmp_path / 'c.db'}")
    made = [Instance(framework, settings) for _ in range(2)]
    yield made
    for instance in made:
        instance.close()


def _crowd(instances: list[Instance], users: int = 3, **options: Any) -> CrowdResult:
    crowd = run_crowd(
        _round_robin(instances),
        "stage",
        users=users,
        todos_each=options.get("todos_each", 4),
        prefix=options.get("prefix", "crowd-test"),
    )
    return asyncio.run(crowd)


@pytest.mark.parametrize("instances", [("stateful", "flask")], indirect=True)
def test_on_two_stateful_instances_each_user_sees_half_and_ids_repeat(
    instances: list[Instance],
) -> None:
    """Round-robin over two instances: 3 users x (login, 4 creates, list) = 18
    requests. Each user's creates alternate between the instances, so their list,
    read from one instance, holds 2 of their 4 todos; both instances count ids
    from 1, so every id names two todos."""
    result = _crowd(instances)
    assert result.requests == 18
    assert result.saved == 12
    assert result.listed == 6
    assert result.lost == 6
    assert result.duplicate_ids == 12
    assert result.refused == 0
    assert result.instances == ["instance-1", "instance-2"]


@pytest.mark.parametrize("instances", [("pooled", "flask"), ("pooled", "fastapi")], indirect=True)
def test_on_two_pooled_instances_every_todo_is_in_its_list(
    instances: list[Instance],
) -> None:
    result = _crowd(instances)
    assert (result.saved, result.listed, result.lost) == (12, 12, 0)
    assert result.duplicate_ids == 0
    assert result.as_dict()["instances"] == ["instance-1", "instance-2"]


@pytest.mark.parametrize("instances", [("stateful", "fastapi")], indirect=True)
def test_refused_answers_are_counted_and_nothing_refused_is_claimed_saved(
    instances: list[Instance],
) -> None:
    """Users the function will not sign in (names past 64 characters) save nothing:
    one refusal each, and no create or list is even tried."""
    result = _crowd(instances, users=2, todos_each=2, prefix="y" * 70)
    assert (result.saved, result.lost, result.refused, result.requests) == (0, 0, 2, 2)
    fine = _crowd(instances, users=2, todos_each=2, prefix="fine")
    assert (fine.saved, fine.refused) == (4, 0)
