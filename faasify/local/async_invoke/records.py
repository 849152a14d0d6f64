"""Failure records, in the shape of Lambda's on-failure destination records.

When an asynchronous event runs out of attempts (``RetriesExhausted``) or of
time (``EventAgeExceeded``), Lambda sends its destination a record of the
request, the last response and how many times it was tried; this runtime writes
the same record to a JSON Lines file or publishes it to a JetStream subject.
A message that is not an event at all (``MalformedEvent``) gets one too, with
the reason it could not be read, and is never run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from datetime import datetime, timezone
from typing import Any, Literal

from faasify.local.async_invoke.envelope import QueuedEvent
from faasify.local.async_invoke.policy import Destination
from faasify.local.runtime.api import FUNCTION_ARN
from faasify.local.runtime.scaler import InvokeOutcome

__all__ = ["Condition", "FailureRecords", "error_payload", "failure_record"]

Condition = Literal["RetriesExhausted", "EventAgeExceeded", "MalformedEvent"]

logger = logging.getLogger("faasify.local")


def failure_record(
    function_name: str,
    condition: Condition,
    event: QueuedEvent | None,
    error: dict[str, Any] | None,
    *,
    raw: bytes = b"",
    status: int = 200,
) -> dict[str, Any]:
    """The record Lambda sends an on-failure destination, for ``event``."""
    now = datetime.now(timezone.utc)
    return {
        "version": "1.0",
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": event.id if event else None,
            "functionArn": FUNCTION_ARN.format(name=function_name) + ":$LATEST",
            "condition": condition,
            "approximateInvokeCount": event.attempts if event else 0,
        },
        "requestPayload": event.payload if event else raw.decode(errors="replace"),
        "responseContext": {
            "statusCode": status,
            "executedVersion": "$LATEST",
            **({"functionError": "Unhandled"} if error else {}),
        },
        "responsePayload": error,
        **({"eventAge": round(time.time() - event.accepted, 3)} if event else {}),
    }


def error_payload(outcome: InvokeOutcome, timeout: float) -> dict[str, Any] | None:
    """The ``responsePayload`` of a failed invoke (Lambda's error shape), or ``None``.

    ``timeout`` is the function's, for the message of one that timed out.
    """
    if outcome.status == 200:
        return None
    line = outcome.error or "the invoke failed"
    kind = outcome.error_type
    if kind and line.startswith(f"{kind}: "):
        line = line[len(kind) + 2 :]
    if outcome.status == 504:
        kind, line = "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds"
    return {"errorMessage": line, "errorType": kind or "Runtime.ExitError"}


def _append(path: str, line: bytes) -> None:
    with open(path, "ab") as file:
        file.write(line)
        file.flush()
        os.fsync(file.fileno())


class FailureRecords:
    """Writes failure records to the destination, or, with none, to the log only."""

    def __init__(self, destination: Destination | None, publish: Any = None) -> None:
        self.destination = destination
        self._publish = publish  # async (subject, data, message_id) for nats: destinations

    async def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        destination = self.destination
        if destination is None:
            return
        if destination.kind == "file":
            await asyncio.to_thread(_append, destination.target, line)
        else:
            request_id = record["requestContext"]["requestId"] or str(time.time_ns())
            await self._publish(destination.target, line, f"failed:{request_id}")
