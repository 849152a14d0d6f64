"""The todolist's asynchronous job: a reminder, added as a todo, exactly once.

``remind`` is invoked asynchronously (Lambda's ``InvocationType=Event``, or
``faasify local``'s Invoke API with ``X-Amz-Invocation-Type: Event``) with
``{"token": <the user's token>, "text": "water the plants"}``, and adds the
todo "Reminder: water the plants" through the data service. An asynchronous
event may run more than once (a retry after an error, a redelivery after a
crash), so the write carries the event's id, which every attempt sees as
``context.aws_request_id``, as its idempotency key: the data service applies it
once and answers a repeat with the first answer.

    faasify local examples.todolist.jobs:remind --async-retries 2
"""

from __future__ import annotations

from typing import Any

from examples.todolist.settings import Settings
from faasify.baas import Client

__all__ = ["remind"]

_settings = Settings.from_env()
# Once per instance: every warm invoke reuses the client and its connection.
_client = Client(_settings.baas_url, timeout=_settings.baas_timeout, retries=_settings.baas_retries)


def remind(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Add the reminder todo; a repeat of the same event adds nothing more."""
    todo = _client.with_token(str(event["token"])).create(
        "todos",
        {"text": f"Reminder: {event['text']}", "desc": ""},
        idempotency_key=f"remind-{context.aws_request_id}",
    )
    return {"id": todo["id"]}
