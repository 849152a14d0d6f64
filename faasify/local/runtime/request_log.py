"""One log line per request the runtime answers, for a person or for a log tool.

The line carries what the request came to: method, path, the HTTP status the
client got (not the invoke's), and where its time went: ``wait`` queued for an
instance, ``init`` starting one (a cold start), the run in the handler. The
handler's stack trace, when it raised, follows as a record of its own; the
client never sees it.
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from faasify.local.runtime.scaler import InvokeOutcome

__all__ = ["LogFormat", "log_request"]

LogFormat = Literal["text", "json"]

logger = logging.getLogger("faasify.local")


def _text(method: str, path: str, status: int, outcome: InvokeOutcome) -> str:
    """``GET /todos 200 3.1 ms cold (init 412.0 ms) wait 0.0 ms instance-1``.

    A request no instance took (throttled, or its cold start failed) says so
    where the others say cold or warm.
    """
    start = "cold" if outcome.cold else "warm" if outcome.instance else "no instance"
    if outcome.cold and outcome.init_ms is not None:
        phase = "restore" if outcome.restored else "init"
        start += f" ({phase} {outcome.init_ms:.1f} ms)"
    parts = [method, path, str(status), f"{outcome.duration_ms:.1f} ms", start]
    parts.append(f"wait {outcome.wait_ms:.1f} ms")
    if outcome.instance:
        parts.append(outcome.instance)
    if outcome.tenant is not None:
        parts.append(f"tenant {outcome.tenant}")
    line = " ".join(parts)
    return f"{line}: {outcome.error}" if outcome.error else line


def _json(method: str, path: str, status: int, outcome: InvokeOutcome) -> str:
    return json.dumps(
        {
            "message": "request",
            "request_id": outcome.request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(outcome.duration_ms, 2),
            "cold_start": outcome.cold,
            "init_ms": None if outcome.init_ms is None else round(outcome.init_ms, 1),
            "wait_ms": round(outcome.wait_ms, 2),
            "instance": outcome.instance,
            **({"restored": True} if outcome.restored else {}),
            **({"tenant": outcome.tenant} if outcome.tenant is not None else {}),
            **({"streamed": True} if outcome.stream is not None else {}),
            **({"error": outcome.error[:500]} if outcome.error else {}),
        }
    )


def log_request(
    method: str, path: str, status: int, outcome: InvokeOutcome, log_format: LogFormat = "text"
) -> None:
    """Log the request's line (and the handler's stack trace after it, if it raised)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    line = (_json if log_format == "json" else _text)(method, path, status, outcome)
    logger.log(logging.WARNING if status >= 500 else logging.INFO, line)
    if outcome.stack:
        logger.warning(
            "%s %s raised (request %s):\n%s",
            method,
            path,
            outcome.request_id,
            outcome.stack.rstrip(),
        )
