"""Handlers the asynchronous-invocation tests run in ``faasify local``'s instances.

Each event names a log file; the handler appends a line per attempt (``ran``)
and one when the attempt is over (``done``), so the tests can count attempts
and deliveries by reading the file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def _note(log: Path, **fields: Any) -> None:
    with open(log, "a", encoding="utf-8") as file:
        file.write(json.dumps(fields) + "\n")


def _tries(log: Path, key: str) -> int:
    lines = log.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if json.loads(line).get("ran") == key)


def job(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``fail``: fail that many attempts; ``busy``: answer 429 that many times;
    ``gate``: wait for that file before finishing."""
    log, key = Path(event["log"]), str(event["key"])
    _note(log, ran=key, request_id=context.aws_request_id)
    tries = _tries(log, key)
    gate = event.get("gate")
    if gate:
        deadline = time.monotonic() + 120
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    if int(event.get("fail", 0)) >= tries:
        raise ValueError(f"attempt {tries} of {key} failed")
    if int(event.get("busy", 0)) >= tries:
        return {"statusCode": 429, "body": "busy"}
    _note(log, done=key)
    return {"statusCode": 200, "body": key}


def parse(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reads its order from the event's body: a body that is not JSON fails every time."""
    order = json.loads(event["body"])
    return {"statusCode": 200, "body": json.dumps(order)}
