"""Structured JSON log lines: one per invoke, one per app failure.

Each is a single line of JSON so that CloudWatch Logs Insights and similar
tools can query its fields. The per-invoke line is logged at INFO on the
``faasify.invoke`` logger, which is silent unless the user enables it; the
handler checks ``isEnabledFor`` first, so a disabled log costs one cached
lookup per invoke and builds nothing.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

__all__ = ["app_logger", "invoke_logger", "log_app_error", "log_bad_event", "log_invoke"]

invoke_logger = logging.getLogger("faasify.invoke")
app_logger = logging.getLogger("faasify.app")


_ID_ATTRIBUTES = ("aws_request_id", "request_id", "invocation_id", "call_id")


def _request_id(context: Any) -> str | None:
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
    status: int | None,
    duration_ms: float,
    cold: bool,
    init_ms: float | None,
) -> None:
    record: dict[str, Any] = {
        "message": "invoke",
        "request_id": _request_id(context),
        "source": source,
        "method": method,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "cold_start": cold,
    }
    if cold and init_ms is not None:
        record["init_ms"] = round(init_ms, 1)
    invoke_logger.info(json.dumps(record))


def log_app_error(context: Any, source: str, method: str, path: str, exc: BaseException) -> None:
    app_logger.error(
        json.dumps(
            {
                "message": "unhandled exception in app",
                "request_id": _request_id(context),
                "source": source,
                "method": method,
                "path": path,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )
    )


def log_bad_event(context: Any, source: str, exc: BaseException) -> None:
    app_logger.warning(
        json.dumps(
            {
                "message": "malformed event",
                "request_id": _request_id(context),
                "source": source,
                "error": f"{type(exc).__name__}: {exc}",
            }
        )
    )
