"""N users at once against one stage: what each user saved, and what they see after.

The panel's "start N users" runs :func:`run_crowd` on every stage at the same
time. Each user signs in, adds ``todos_each`` todos at once (as from as many
tabs), then lists them, all users concurrently, so that requests overlap and
the platform runs several instances of the function. (Added one after another,
a user's todos would mostly land on the instance that had just answered them:
the runtime reuses the most recently freed instance, which hides the stateful
stage's flaw until the next burst.) The result counts what a user would notice:

* ``lost``: todos whose create was answered 201 but that are missing from the
  user's own list afterwards (the list came from an instance that never saw
  them);
* ``duplicate_ids``: saved todos whose id another saved todo also has (each
  instance counts from 1 on its own);
* ``refused``: answers that were not a success (429, 503, ...).

Stateful loses and duplicates; pooled and BaaS lose nothing, because the list
lives outside the instances.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from examples.todolist.gateway import Answer

__all__ = ["Call", "CrowdResult", "run_crowd"]

#: ``(method, path, query, body, token) -> answer``: one request to one stage's function.
Call = Callable[[str, str, str, bytes, "str | None"], Awaitable[Answer]]


@dataclass
class CrowdResult:
    """What one stage made of one crowd."""

    stage: str
    users: int
    todos_each: int
    saved: int = 0
    listed: int = 0
    lost: int = 0
    duplicate_ids: int = 0
    refused: int = 0
    requests: int = 0
    cold_starts: int = 0
    instances: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.refused = 0
        self.cold = 0
        self.instances: set[str] = set()

    def note(self, answer: Answer) -> Answer:
        self.requests += 1
        self.cold += answer.cold
        if answer.instance:
            self.instances.add(answer.instance)
        if not 200 <= answer.status < 300:
            self.refused += 1
        return answer


def _json(text: str) -> bytes:
    return json.dumps({"text": text}).encode()


async def _one_user(
    call: Call, tally: _Tally, name: str, todos_each: int
) -> tuple[list[tuple[int, str]], set[str]]:
    """Sign in, add todos, list them: ``(saved (id, text) pairs, texts listed)``."""
    login = tally.note(
        await call("POST", "/api/login", "", json.dumps({"username": name}).encode(), None)
    )
    if login.status != 200:
        return [], set()
    token = str(login.json()["token"])
    texts = [f"todo {number} of {name}" for number in range(1, todos_each + 1)]
    answers = await asyncio.gather(
        *(call("POST", "/api/todos", "", _json(text), token) for text in texts)
    )
    saved = []
    for text, created in zip(texts, answers, strict=True):
        if tally.note(created).status == 201:
            saved.append((int(created.json()["id"]), text))
    listed = tally.note(await call("GET", "/api/todos", "limit=100", b"", token))
    seen = {item["text"] for item in listed.json()["items"]} if listed.status == 200 else set()
    return saved, seen


async def run_crowd(
    call: Call, stage: str, *, users: int, todos_each: int, prefix: str
) -> CrowdResult:
    """``users`` users at once on ``call``'s stage, named ``<prefix>-<n>`` (a prefix of
    its own per run keeps runs apart in a shared database)."""
    started = time.monotonic()
    tally = _Tally()
    outcomes = await asyncio.gather(
        *(_one_user(call, tally, f"{prefix}-{n}", todos_each) for n in range(1, users + 1))
    )
    result = CrowdResult(stage, users, todos_each)
    ids: Counter[int] = Counter()
    for saved, listed in outcomes:
        result.saved += len(saved)
        result.listed += sum(1 for _, text in saved if text in listed)
        ids.update(todo_id for todo_id, _ in saved)
    result.lost = result.saved - result.listed
    result.duplicate_ids = sum(count for count in ids.values() if count > 1)
    result.refused = tally.refused
    result.requests = tally.requests
    result.cold_starts = tally.cold
    result.instances = sorted(tally.instances, key=lambda i: (len(i), i))
    result.seconds = round(time.monotonic() - started, 2)
    return result
