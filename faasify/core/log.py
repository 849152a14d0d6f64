"""Structured JSON log lines, the same for every front door.

Each is a single line of JSON so that CloudWatch Logs Insights, Cloud Logging
and similar tools can query its fields. Two loggers carry them:

- ``faasify.invoke``: one line per request answered (request id, source,
  method, path, status, duration, cold start, init time), at INFO. Silent
  unless the user enables it; the loop checks ``isEnabledFor`` first, so a
  disabled log costs one cached lookup per invoke and builds nothing.
- ``faasify.app``: what went wrong with a request: an exception in the app
  (ERROR, with its traceback), a malformed event (WARNING, with the field),
  a failure inside faasify itself (ERROR, with its traceback).

Every other faasify logger is named after its module (``faasify.core.instance``,
``faasify.adapters.gcf``, ...).
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

__all__ = [
    "app_logger",
    "invoke_logger",
    "log_app_error",
    "log_bad_event",
    "log_internal_error",
    "log_invoke",
    "log_startup_failure",
    "request_id",
]

invoke_logger = logging.getLogger("faasify.invoke")
app_logger = logging.getLogger("faasify.app")


_ID_ATTRIBUTES = ("aws_request_id", "request_id", "invocation_id", "call_id")


def request_id(context: Any) -> str | None:
    """The platform's id for this invocation, from whichever attribute it uses."""
    if context is None:
        return None
    for name in _ID_ATTRIBUTES:
        value = getattr(context, name, None)
        if isinstance(value, str):
            return value
    return None


def log_invoke(
    *,
    context: Any,
    source: str,
    method: str | None,
    path: str | None,
    status: int,
    duration_ms: float,
    cold: bool,
    init_ms: float | None,
) -> None:
    record: dict[str, Any] = {
        "message": "invoke",
        "request_id": request_id(context),
        "source": source,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "cold_start": cold,
    }
    if cold and init_ms is not None:
        record["init_ms"] = round(init_ms, 1)
    invoke_logger.info(json.dumps(record))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def log_app_error(context: Any, source: str, method: str, path: str, exc: BaseException) -> None:
    app_logger.error(
        json.dumps(
            {
                "message": "unhandled exception in app",
                "request_id": request_id(context),
                "source": source,
                "method": method,
                "path": path,
                "error": _error(exc),
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )
    )


def log_bad_event(context: Any, source: str, exc: BaseException) -> None:
    from faasify._exceptions import MalformedEventError

    app_logger.warning(
        json.dumps(
            {
                "message": "malformed event",
                "request_id": request_id(context),
                "source": source,
                "field": exc.field if isinstance(exc, MalformedEventError) else None,
                "error": _error(exc),
            }
        )
    )


def log_startup_failure(context: Any, source: str, exc: BaseException) -> None:
    """The app failed to start: answered with a 500, tried again by the next request."""
    app_logger.error(
        json.dumps(
            {
                "message": "the app failed to start",
                "request_id": request_id(context),
                "source": source,
                "error": _error(exc),
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )
    )


def log_internal_error(context: Any, source: str, stage: str, exc: BaseException) -> None:
    """A failure inside faasify (``stage``: what it was doing), answered with a 500."""
    app_logger.error(
        json.dumps(
            {
                "message": "internal error",
                "request_id": request_id(context),
                "source": source,
                "stage": stage,
                "error": _error(exc),
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )
    )
