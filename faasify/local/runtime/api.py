"""The Lambda Runtime API, served to one instance process.

Each instance gets its own listener (see ``_http``) (``AWS_LAMBDA_RUNTIME_API`` is a bare
``host:port``, so instances cannot share one), speaking the documented calls:
``GET /invocation/next`` (long-polls for the next event), ``POST
/invocation/{id}/response`` (whole, or streamed: see :mod:`.streaming`), ``POST
/invocation/{id}/error``, ``POST /init/error``, and SnapStart's ``GET
/restore/next`` and ``POST /restore/error``. The first ``next`` call marks the
end of the instance's init phase, which is how its cold start is timed.

As on AWS, each invocation carries a ``Lambda-Runtime-Invocation-Id``: an
answer that echoes another one is refused (400), and one for an invocation
that timed out gets 410 Gone. A function in tenant isolation mode gets the
tenant's id in ``Lambda-Runtime-Aws-Tenant-Id``. An instance of Lambda Managed
Instances (``concurrency`` above 1) has that many invocations out at once.
An invocation's slot is free again when the process asks for its next one:
what it does between its answer and that ``next`` (the work after the
response) keeps the instance busy, as on Lambda.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from faasify.local.runtime.streaming import StreamedAnswer

__all__ = ["Invocation", "RuntimeAPI", "read_error", "read_error_type"]

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{name}"


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass
class Invocation:
    """One event on its way to an instance, and the futures of what comes of it.

    ``outcome`` resolves when the answer begins: ``("response" | "error" |
    "crash", body)``, or ``("stream", b"")`` with :attr:`stream` holding the
    streamed answer. ``freed`` resolves, with the time (``time.monotonic()``),
    when the process asks for its next invocation after answering this one.
    """

    event: bytes
    deadline: float  # epoch seconds
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: asyncio.Future[tuple[str, bytes]] = field(default_factory=_future)
    invocation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    tenant_id: str | None = None
    stream: StreamedAnswer | None = None
    #: Whether the answer echoed this invocation's id (``None``: no answer yet).
    echoed: bool | None = None
    answered_at: float | None = None
    freed: asyncio.Future[float] = field(default_factory=_future)

    def free(self) -> None:
        if not self.freed.done():
            self.freed.set_result(time.monotonic())


_BASE = "/2018-06-01/runtime"
_JSON = [("Content-Type", "application/json")]
_ACCEPTED = (202, _JSON, b'{"status":"OK"}')
_INVOCATION_ID = "lambda-runtime-invocation-id"


def _refusal(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, _JSON, json.dumps({"errorMessage": message}).encode()


class RuntimeAPI:
    """The Runtime API state of one instance: its inbox, its init and restore signals.

    ``snapshot`` makes it the Runtime API of an emulated SnapStart snapshot: its
    ``restore/next`` call is the moment the snapshot is taken (``snapshot_taken``).
    """

    def __init__(self, function_name: str, *, concurrency: int = 1, snapshot: bool = False) -> None:
        self.function_arn = FUNCTION_ARN.format(name=function_name)
        self.inbox: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=concurrency)
        self.ready = asyncio.Event()
        self.init_error: bytes | None = None
        self.init_failed = asyncio.Event()
        #: ``restore/next`` was called: an emulated snapshot taken, or a restore begun.
        self.restoring = asyncio.Event()
        self.snapshot = snapshot
        self._pending: dict[str, Invocation] = {}
        self._answered: deque[Invocation] = deque()
        self._gone: deque[str] = deque(maxlen=256)

    async def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one Runtime API call (the ``_http.Handler`` signature)."""
        path = target.split("?", 1)[0]
        if not path.startswith(_BASE):
            return _not_found()
        path = path[len(_BASE) :]
        if method == "GET" and path == "/invocation/next":
            return await self._next()
        if method == "POST" and path == "/init/error":
            return self._init_failed(body)
        if method == "GET" and path == "/restore/next":
            self.restoring.set()
            if self.snapshot:
                self.ready.set()  # the snapshot's init is over: it is "taken"
            return 200, [], b""
        if method == "POST" and path == "/restore/error":
            return self._init_failed(body)
        if method == "POST" and path.startswith("/invocation/"):
            request_id, _, kind = path[len("/invocation/") :].partition("/")
            if kind in ("response", "error"):
                invocation, refusal = self._claim(request_id, headers)
                if invocation is None:
                    assert refusal is not None
                    return refusal
                self._answer(invocation, kind, body)
                return _ACCEPTED
        return _not_found()

    async def streamer(
        self, method: str, target: str, headers: list[tuple[str, str]], abort: Any
    ) -> StreamedAnswer | None:
        """The sink of a streamed answer (the ``_http.Streamer`` signature), or ``None``."""
        path = target.split("?", 1)[0]
        if method != "POST" or not path.startswith(_BASE + "/invocation/"):
            return None
        found = {name.lower(): value for name, value in headers}
        if found.get("lambda-runtime-function-response-mode", "").lower() != "streaming":
            return None
        request_id, _, kind = path[len(_BASE + "/invocation/") :].partition("/")
        if kind != "response":
            return None
        invocation = self._pending.get(request_id)
        if invocation is None or self._echo_refused(invocation, found) is not None:
            return None  # read whole and refused by handle()
        self._pending.pop(request_id)
        sink = StreamedAnswer(found.get("content-type", "application/octet-stream"), abort)
        invocation.stream = sink
        self._answer(invocation, "stream", b"")
        return sink

    def _init_failed(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.init_error is not None:
            # One report per environment: the first worker's (as Lambda answers 403).
            return _refusal(403, "the init error was reported already")
        self.init_error = body
        self.init_failed.set()
        return _ACCEPTED

    async def _next(self) -> tuple[int, list[tuple[str, str]], bytes]:
        self.ready.set()
        if self._answered:
            self._answered.popleft().free()
        invocation = await self.inbox.get()
        self._pending[invocation.request_id] = invocation
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
            ("Lambda-Runtime-Invocation-Id", invocation.invocation_id),
            ("Lambda-Runtime-Deadline-Ms", str(int(invocation.deadline * 1000))),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", trace),
        ]
        if invocation.tenant_id is not None:
            headers.append(("Lambda-Runtime-Aws-Tenant-Id", invocation.tenant_id))
        return 200, headers, invocation.event

    def _echo_refused(
        self, invocation: Invocation, found: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        echoed = found.get(_INVOCATION_ID)
        invocation.echoed = echoed is not None
        if echoed is not None and echoed != invocation.invocation_id:
            return _refusal(400, "the invocation id belongs to another invocation")
        return None

    def _claim(
        self, request_id: str, headers: list[tuple[str, str]]
    ) -> tuple[Invocation | None, tuple[int, list[tuple[str, str]], bytes] | None]:
        invocation = self._pending.get(request_id)
        if invocation is None:
            if request_id in self._gone:
                return None, _refusal(410, "the invocation timed out")
            return None, _refusal(400, "unknown request id")
        refused = self._echo_refused(invocation, {k.lower(): v for k, v in headers})
        if refused is not None:
            return None, refused
        self._pending.pop(request_id)
        return invocation, None

    def _answer(self, invocation: Invocation, kind: str, body: bytes) -> None:
        invocation.answered_at = time.monotonic()
        self._answered.append(invocation)
        if not invocation.outcome.done():
            invocation.outcome.set_result((kind, body))

    def forget(self, invocation: Invocation) -> None:
        """The invocation timed out: a late answer to it gets 410, its slot is free."""
        self._pending.pop(invocation.request_id, None)
        self._gone.append(invocation.request_id)
        invocation.free()

    def fail_pending(self, reason: bytes) -> None:
        """Settle whatever the instance held when it died."""
        for invocation in self._pending.values():
            if not invocation.outcome.done():
                invocation.outcome.set_result(("crash", reason))
            invocation.free()
        for invocation in self._answered:
            invocation.free()
            if invocation.stream is not None:
                invocation.stream.broken()
        self._pending.clear()
        self._answered.clear()

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


def read_error_type(body: bytes) -> str | None:
    """The ``errorType`` of an error the instance posted, if it named one."""
    try:
        report = json.loads(body)
    except ValueError:
        return None
    kind = report.get("errorType") if isinstance(report, dict) else None
    return str(kind) if kind else None
