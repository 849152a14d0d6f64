"""JSON answers that always render: what the database holds never makes a read fail.

JSON has no NaN or infinity and UTF-8 has no lone surrogates, but a row written
by another program may hold either. The fast path renders as Starlette does; a
value JSON cannot carry falls back to a rendering that can (``null`` for a
non-finite number, ``\\ud800`` escapes for a lone surrogate), so one odd row
never turns a tenant's list into a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

__all__ = ["finite", "json_response", "render"]


def render(content: Any) -> bytes:
    try:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return json.dumps(finite(content), allow_nan=False, separators=(",", ":")).encode()


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def json_response(
    content: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    media_type: str = "application/json",
) -> Response:
    return Response(render(content), status, headers, media_type=media_type)
