"""One asynchronous event as the queue holds it, and its encoding.

The envelope keeps what the dispatcher needs across attempts and restarts: the
event's id (the same on every attempt, so a function can use it as an
idempotency key), when it was accepted (its age is measured from there), how
many attempts it has had, and when the next may start. A retry is a new
message carrying the next attempt's count, published before the old one is
acknowledged, so a crash in between repeats an attempt rather than losing it.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from faasify._exceptions import MalformedEventError

__all__ = ["EnvelopeError", "QueuedEvent", "Source", "decode", "encode"]

#: The front door an event came in by: the Lambda Invoke API, or OpenFaaS's async path.
Source = Literal["lambda", "openfaas"]
_SOURCES = ("lambda", "openfaas")


class EnvelopeError(MalformedEventError, ValueError):
    """A message on the queue is not an envelope this runtime wrote (it cannot run)."""


@dataclass(frozen=True)
class QueuedEvent:
    """An event waiting for (another) attempt."""

    payload: Any
    source: Source = "lambda"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    accepted: float = field(default_factory=time.time)  # epoch seconds
    #: Attempts made so far (an attempt is an invoke that ran on an instance).
    attempts: int = 0
    #: Times the function answered 429 (each backs the queue off, none is an attempt).
    backoffs: int = 0
    not_before: float = 0.0  # epoch seconds
    callback_url: str | None = None
    last_error: dict[str, Any] | None = None

    def next(self, **changes: Any) -> QueuedEvent:
        """This event, with ``changes``, for its next turn on the queue."""
        return dataclasses.replace(self, **changes)


def encode(event: QueuedEvent) -> bytes:
    return json.dumps(dataclasses.asdict(event), separators=(",", ":")).encode()


def decode(data: bytes) -> QueuedEvent:
    """The envelope in ``data``; :class:`EnvelopeError` says what is wrong with it."""
    try:
        fields = json.loads(data)
    except ValueError as exc:
        raise EnvelopeError(f"the message is not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise EnvelopeError("the message is not a JSON object")
    if "payload" not in fields or not isinstance(fields.get("id"), str):
        raise EnvelopeError("the message has no id or no payload")
    if fields.get("source", "lambda") not in _SOURCES:
        raise EnvelopeError(f"unknown source {fields.get('source')!r}")
    known = {f.name for f in dataclasses.fields(QueuedEvent)}
    try:
        event = QueuedEvent(**{k: v for k, v in fields.items() if k in known})
        float(event.accepted), int(event.attempts), int(event.backoffs), float(event.not_before)
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(f"a field of the message is wrong: {exc}") from None
    return event
