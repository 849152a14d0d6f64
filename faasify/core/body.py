"""Bodies in and out of JSON events: base64 by the flag on the way in, by the
media type on the way out.

Incoming bodies are decoded strictly by ``isBase64Encoded``: API Gateway sets
it for text bodies too, so guessing from the content would corrupt them.
Outgoing bodies go as text only when the response says it is text (by
Content-Type, or by having none, with no Content-Encoding) *and* the bytes are
valid UTF-8; everything else is base64, which every AWS source accepts.
"""

from __future__ import annotations

import binascii
from base64 import b64decode, b64encode
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DEFAULT_TEXT_MIME_TYPES",
    "TextTypes",
    "content_headers",
    "decode_event_body",
    "encode_response_body",
]

DEFAULT_TEXT_MIME_TYPES: frozenset[str] = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/ecmascript",
        "application/xml",
        "application/xhtml+xml",
        "application/x-www-form-urlencoded",
        "application/graphql",
        "application/x-ndjson",
        "application/yaml",
        "image/svg+xml",
    }
)
_TEXT_SUFFIXES = ("+json", "+xml", "+yaml")
_IDENTITY_ENCODINGS = frozenset({"", "identity"})


class TextTypes:
    """Decides whether a Content-Type names text that may travel unencoded.

    ``text/*`` and any ``+json``/``+xml``/``+yaml`` structured type count as
    text, plus an exact set that users may extend (``extra``). Decisions are
    memoised per Content-Type value, since a function answers with few distinct
    ones and this runs on every invoke.
    """

    __slots__ = ("_cache", "_exact")

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._exact = DEFAULT_TEXT_MIME_TYPES | {t.strip().lower() for t in extra}
        self._cache: dict[str, bool] = {}

    def is_text(self, content_type: str) -> bool:
        cached = self._cache.get(content_type)
        if cached is not None:
            return cached
        mime = content_type.partition(";")[0].strip().lower()
        result = mime.startswith("text/") or mime in self._exact or mime.endswith(_TEXT_SUFFIXES)
        if len(self._cache) < 256:
            self._cache[content_type] = result
        return result


def decode_event_body(body: Any, is_base64: Any) -> bytes:
    """The request body as bytes; absent, ``null`` and ``""`` all mean empty.

    Raises :class:`~faasify.MalformedEventError` for bad base64, a body that
    is not a string, or one that is not text (a lone surrogate).
    """
    if not body:
        return b""
    if not isinstance(body, str):
        from faasify._exceptions import MalformedEventError

        raise MalformedEventError(f"body must be a string, not {type(body).__name__}", field="body")
    if is_base64:
        try:
            return b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            from faasify._exceptions import MalformedEventError

            raise MalformedEventError(
                f"body is flagged base64 but does not decode: {exc}", field="body"
            ) from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        from faasify._exceptions import MalformedEventError

        raise MalformedEventError("body is not text (a lone surrogate)", field="body") from None


def content_headers(headers: list[tuple[str, str]]) -> tuple[str, str]:
    """Content-Type and Content-Encoding from headers of any casing ("" if absent)."""
    content_type = content_encoding = ""
    for name, value in headers:
        if len(name) == 12 and name.lower() == "content-type":
            content_type = value
        elif len(name) == 16 and name.lower() == "content-encoding":
            content_encoding = value
    return content_type, content_encoding


def encode_response_body(
    body: bytes, content_type: str | None, content_encoding: str | None, text_types: TextTypes
) -> tuple[str, bool]:
    """The response body as the event's ``body`` string and its base64 flag.

    A body with no Content-Type at all goes as text when it is UTF-8: the
    client gets the same bytes either way (API Gateway and Function URLs decode
    base64 before sending), text spends none of Lambda's 6 MB response limit on
    base64's third, and a REST API without binary media types would otherwise
    hand the client the base64 string itself.
    """
    if not body:
        return "", False
    if (not content_encoding or content_encoding.strip().lower() in _IDENTITY_ENCODINGS) and (
        not content_type or text_types.is_text(content_type)
    ):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return b64encode(body).decode("ascii"), True
