"""Pieces every AWS HTTP event codec shares: header and query maps, 1.0-style answers."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from faasify._exceptions import AppError
from faasify.core.body import content_headers, encode_response_body
from faasify.core.http import Response

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._codec import CodecOptions

__all__ = [
    "Headers",
    "check_str",
    "encode_v1_style",
    "headers_from_maps",
    "query_string",
    "response_headers_multi",
    "response_headers_single",
    "set_cookie_variants",
    "status_description",
]

Headers = list[tuple[str, str]]


def check_str(value: Any, what: str) -> str:
    """``value`` if it is a string; a ``TypeError`` otherwise.

    The codec's :meth:`~faasify.adapters.aws.codecs.AwsCodec.decode` turns it
    into a :class:`~faasify.MalformedEventError` naming the field.
    """
    if type(value) is not str:
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    return value


def headers_from_maps(single: Any, multi: Any) -> Headers:
    """Header pairs from ``multiValueHeaders`` when present, else ``headers``.

    The single-value map keeps only the last of repeated headers, so the
    multi-value map wins whenever the source sent one. Several Cookie lines
    (ALB passes each on) fold into one header, as RFC 9113 asks of gateways:
    frameworks read only the first.
    """
    if multi:
        headers: Headers = []
        cookies: list[str] | None = None
        for name, values in multi.items():
            lowered = check_str(name, "header name").lower()
            if type(values) is not list:
                raise TypeError("multiValueHeaders values must be lists")
            if lowered == "cookie" and len(values) > 1:
                cookies = (cookies or []) + [check_str(v, "header value") for v in values]
                continue
            for value in values:
                headers.append((lowered, check_str(value, "header value")))
        if cookies:
            headers.append(("cookie", "; ".join(cookies)))
        return headers
    if single:
        return [
            (check_str(name, "header name").lower(), check_str(value, "header value"))
            for name, value in single.items()
        ]
    return []


# Characters that mean nothing special inside a query value ("+" does: a space).
_QUERY_SAFE = "!$'()*,;:@/?~"
# A value the source left encoded keeps its escapes; only characters that can
# never stand raw in a query string are escaped.
_RAW_QUERY_SAFE = _QUERY_SAFE + "%=&+"


def query_string(single: Any, multi: Any, *, decoded: bool) -> bytes:
    """A wire query string from a source's query maps (multi-value preferred).

    ``decoded`` says whether the source decoded keys and values (API Gateway)
    or passed them on as the client encoded them (ALB); either way the result
    is encoded exactly once.
    """
    source = multi or single
    if not source:
        return b""
    safe = _QUERY_SAFE if decoded else _RAW_QUERY_SAFE
    parts = []
    for key, values in source.items():
        k = quote(check_str(key, "query key"), safe=safe)
        if type(values) is str or values is None:
            values = (values or "",)
        for value in values:
            parts.append(f"{k}={quote(check_str(value, 'query value'), safe=safe)}")
    return "&".join(parts).encode("ascii")


def encode_v1_style(
    response: Response, options: CodecOptions, *, multi_value: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    """The 1.0-style result (REST, HTTP API 1.0, ALB): headers in the request's mode."""
    content_type, content_encoding = content_headers(response.headers)
    body, is_base64 = encode_response_body(
        response.body, content_type, content_encoding, options.text_types
    )
    result: dict[str, Any] = {"statusCode": response.status, **extra}
    if multi_value:
        result["multiValueHeaders"] = response_headers_multi(response.headers)
    else:
        result["headers"] = response_headers_single(response.headers)
    result["body"] = body
    result["isBase64Encoded"] = is_base64
    return result


def status_description(status: int) -> str:
    """``"200 OK"``: the status line ALB wants in ``statusDescription``."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def set_cookie_variants(count: int) -> list[str]:
    """``count`` distinct casings of ``Set-Cookie`` for single-value header maps.

    A JSON object cannot hold one key twice, and sources without multi-value
    headers take one value per name; distinct casings of the same name reach the
    client as separate headers, which HTTP treats as the same field.
    """
    name = "set-cookie"
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if count > 1 << len(letters):
        raise AppError(
            f"the app set {count} cookies; a single-value header map can carry at most "
            f"{1 << len(letters)} (turn on multi-value headers)"
        )
    variants = []
    for n in range(count):
        # n = 0 gives the canonical "Set-Cookie"; the bits of n flip letters.
        chars = list("Set-Cookie")
        for bit, index in enumerate(letters):
            if (n >> bit) & 1:
                chars[index] = chars[index].swapcase()
        variants.append("".join(chars))
    return variants


def response_headers_multi(headers: Headers) -> dict[str, list[str]]:
    """``multiValueHeaders`` for a response: every value kept, app casing kept."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        values = grouped.get(name)
        if values is None:
            grouped[name] = [value]
        else:
            values.append(value)
    return grouped


def response_headers_single(headers: Headers) -> dict[str, str]:
    """``headers`` for a response where each name may carry one value.

    Repeated headers are joined with ``", "`` as RFC 9110 allows, except
    ``Set-Cookie``, whose values may contain commas: each cookie goes under a
    differently-cased name (see :func:`set_cookie_variants`).
    """
    single: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookies.append(value)
        elif name in single:
            single[name] = f"{single[name]}, {value}"
        else:
            single[name] = value
    if cookies:
        if len(cookies) == 1:
            single["Set-Cookie"] = cookies[0]
        else:
            single.update(zip(set_cookie_variants(len(cookies)), cookies, strict=False))
    return single
