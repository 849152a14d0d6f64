"""The Lambda Runtime API, served to one instance process.

Each instance gets its own listener (see ``_http``) (``AWS_LAMBDA_RUNTIME_API`` is a bare
``host:port``, so instances cannot share one), speaking the documented calls:
``GET /invocation/next`` (long-polls for the next event), ``POST
/invocation/{id}/response``, ``POST /invocation/{id}/error`` and ``POST
/init/error``. The first ``next`` call marks the end of the instance's init
phase, which is how its cold start is timed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Invocation", "RuntimeAPI", "read_error"]

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{name}"


@dataclass
class Invocation:
    """One event on its way to an instance, and the future of its outcome."""

    event: bytes
    deadline: float  # epoch seconds
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: asyncio.Future[tuple[str, bytes]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


_BASE = "/2018-06-01/runtime"
_ACCEPTED = (202, [("Content-Type", "application/json")], b'{"status":"OK"}')


class RuntimeAPI:
    """The Runtime API state of one instance: its inbox and its init signal."""

    def __init__(self, function_name: str) -> None:
        self.function_arn = FUNCTION_ARN.format(name=function_name)
        self.inbox: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self.ready = asyncio.Event()
        self.init_error: bytes | None = None
        self.init_failed = asyncio.Event()
        self._pending: dict[str, Invocation] = {}

    async def handle(
        self, method: str, target: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one Runtime API call (the ``_http.Handler`` signature)."""
        path = target.split("?", 1)[0]
        if not path.startswith(_BASE):
            return _not_found()
        path = path[len(_BASE) :]
        if method == "GET" and path == "/invocation/next":
            return await self._next()
        if method == "POST" and path == "/init/error":
            self.init_error = body
            self.init_failed.set()
            return _ACCEPTED
        if method == "POST" and path.startswith("/invocation/"):
            request_id, _, kind = path[len("/invocation/") :].partition("/")
            if kind in ("response", "error"):
                return self._settle(request_id, kind, body)
        return _not_found()

    async def _next(self) -> tuple[int, list[tuple[str, str]], bytes]:
        self.ready.set()
        invocation = await self.inbox.get()
        self._pending[invocation.request_id] = invocation
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(int(invocation.deadline * 1000))),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", trace),
        ]
        return 200, headers, invocation.event

    def _settle(
        self, request_id: str, kind: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        invocation = self._pending.pop(request_id, None)
        if invocation is None:
            return (
                400,
                [("Content-Type", "application/json")],
                b'{"errorMessage":"unknown request id"}',
            )
        if not invocation.outcome.done():
            invocation.outcome.set_result((kind, body))
        return _ACCEPTED

    def fail_pending(self, reason: bytes) -> None:
        """Settle whatever the instance held when it died."""
        for invocation in self._pending.values():
            if not invocation.outcome.done():
                invocation.outcome.set_result(("crash", reason))
        self._pending.clear()

    def describe(self) -> dict[str, Any]:
        return {"pending": len(self._pending), "queued": self.inbox.qsize()}


def _not_found() -> tuple[int, list[tuple[str, str]], bytes]:
    return 404, [("Content-Type", "application/json")], b'{"errorMessage":"not found"}'


def read_error(body: bytes) -> tuple[str, str | None]:
    """``(one line, stack trace)`` from an error the instance posted, or a crash report.

    The Runtime API's error body is ``{"errorType", "errorMessage", "stackTrace"}``
    (the trace a list of lines, or one string); a crash report is a plain sentence.
    The line is for the client and the log, the trace for the log only.
    """
    text = body.decode(errors="replace")
    try:
        report = json.loads(text)
    except ValueError:
        return text, None
    if not isinstance(report, dict) or "errorMessage" not in report:
        return text, None
    kind, message = report.get("errorType"), str(report.get("errorMessage"))
    line = message if not kind or str(kind).startswith("Runtime.") else f"{kind}: {message}"
    trace = report.get("stackTrace")
    stack = "".join(trace) if isinstance(trace, list) else trace if isinstance(trace, str) else None
    return line, stack or None
