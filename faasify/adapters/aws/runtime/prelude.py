"""The head of a streamed HTTP response: a JSON prelude, then eight NUL bytes.

Function URLs in ``RESPONSE_STREAM`` mode and API Gateway REST APIs with
``responseTransferMode: STREAM`` read the status, headers and cookies from a
JSON object at the start of the stream, ended by eight NUL bytes, and stream
what follows as the body. The prelude's fields are API Gateway's
(``statusCode``, ``headers``, ``multiValueHeaders``, ``cookies``:
https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html,
which also says the prelude must end within the first 16 KB of the stream);
the framing is AWS's Node.js runtime's (``HttpResponseStream.from`` writes
``JSON.stringify(prelude)`` and ``new Uint8Array(8)``:
aws-lambda-nodejs-runtime-interface-client, src/stream/http-response-stream.ts).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["DELIMITER", "PRELUDE_LIMIT", "http_prelude", "result_parts"]

DELIMITER = b"\0" * 8
#: API Gateway reads the prelude from the first 16 KB of the stream.
PRELUDE_LIMIT = 16 * 1024
# Headers that describe one hop's framing, not the response: Lambda frames
# the client's connection itself.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade"})


def http_prelude(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """The prelude and its delimiter for a response's status and headers.

    Header names go lower-case; a repeated header is joined with ``", "``
    (RFC 9110, 5.3) except ``Set-Cookie``, whose values go in ``cookies``, one
    each, since a joined Set-Cookie would be a broken one.
    """
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "set-cookie":
            cookies.append(value)
        elif key in _HOP_BY_HOP:
            continue
        elif key in merged:
            merged[key] = f"{merged[key]}, {value}"
        else:
            merged[key] = value
    prelude: dict[str, Any] = {"statusCode": status, "headers": merged}
    if cookies:
        prelude["cookies"] = cookies
    # json.dumps escapes control characters, so no NUL can end the prelude early.
    return json.dumps(prelude, separators=(",", ":")).encode() + DELIMITER


def result_parts(result: dict[str, Any]) -> tuple[bytes, bytes] | None:
    """``(prelude, body)`` for a handler's HTTP answer dict, or ``None`` if it is not one.

    That is the shape a plain ``(event, context)`` handler returns to a Function
    URL or API Gateway: ``statusCode``, ``headers`` (and ``multiValueHeaders``),
    ``cookies``, ``body`` (base64 when ``isBase64Encoded``).
    """
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int):
        return None
    pairs: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        pairs.append((str(name), str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        pairs.extend((str(name), str(value)) for value in values or ())
    pairs.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or ())
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return http_prelude(status, pairs), data
