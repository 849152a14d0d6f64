"""Pieces every AWS HTTP event codec shares: header and query maps, 1.0-style answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from faasify.core.body import encode_response_body
from faasify.core.http import Response

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs._codec import CodecOptions

__all__ = [
    "EventHeaders",
    "Headers",
    "check_str",
    "encode_v1_style",
    "headers_from_maps",
    "principal_v1",
    "principal_v2",
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


# Header name as a source sent it -> (lower-cased, which origin field it is, if
# any): a function sees the same few names on every invoke, so each is looked
# at once, and the one pass over the headers is a dict lookup per header.
_NAMES: dict[str, tuple[str, int]] = {}
_ORIGIN_FIELD = {"host": 1, "x-forwarded-port": 2, "x-forwarded-proto": 3}


def _name(name: Any) -> tuple[str, int]:
    lowered = check_str(name, "header name").lower()
    found = (lowered, _ORIGIN_FIELD.get(lowered, 0))
    if len(_NAMES) < 1024:
        _NAMES[name] = found
    return found


class EventHeaders:
    """A 1.0 event's headers as lower-case pairs, and the origin's headers among them."""

    __slots__ = ("origin", "pairs")

    def __init__(self, pairs: Headers, origin: list[str | None]) -> None:
        self.pairs = pairs
        #: ``[unused, Host, X-Forwarded-Port, X-Forwarded-Proto]``, the last value of each.
        self.origin = origin

    @property
    def host(self) -> str | None:
        return self.origin[1]

    @property
    def port(self) -> str | None:
        return self.origin[2]

    @property
    def proto(self) -> str | None:
        return self.origin[3]


def headers_from_maps(single: Any, multi: Any) -> EventHeaders:
    """Header pairs from ``multiValueHeaders`` and ``headers`` together.

    The single-value map keeps only the last of repeated headers, so the
    multi-value map wins for a name both have. A name only the single-value map
    has is taken too (AWS's own sample events are cut short this way): the maps
    AWS sends have the same names, so they are merged name by name only when
    their sizes differ. Names are lower-cased; a repeated header stays several
    pairs, as ASGI and RFC 9110 have it, except Cookie lines (ALB passes each on),
    which fold into one, as RFC 9113 asks of gateways. Raises ``TypeError`` for
    names or values of the wrong type.
    """
    pairs: Headers = []
    origin: list[str | None] = [None, None, None, None]
    names = _NAMES
    if multi:
        for name, values in multi.items():
            entry = names.get(name) or _name(name)
            if type(values) is not list or len(values) != 1:
                _several(pairs, origin, entry, values)
                continue
            value = values[0]
            if type(value) is not str:
                raise TypeError("header values must be strings")
            if entry[1]:
                origin[entry[1]] = value
            pairs.append((entry[0], value))
        if not single or len(single) == len(multi):
            return EventHeaders(pairs, origin)
        single = {name: value for name, value in single.items() if name not in multi}
    if single:
        for name, value in single.items():
            entry = names.get(name) or _name(name)
            if type(value) is not str:
                raise TypeError("header values must be strings")
            if entry[1]:
                origin[entry[1]] = value
            pairs.append((entry[0], value))
    return EventHeaders(pairs, origin)


def _several(pairs: Headers, origin: list[str | None], entry: tuple[str, int], values: Any) -> None:
    """A multi-value header with no value or several (or a value that is not a list)."""
    if type(values) is not list:
        raise TypeError("multiValueHeaders values must be lists")
    for value in values:
        if type(value) is not str:
            raise TypeError("header values must be strings")
    if not values:
        return
    lowered, field = entry
    if lowered == "cookie":
        pairs.append(("cookie", "; ".join(values)))
        return
    if field:
        origin[field] = values[-1]
    for value in values:
        pairs.append((lowered, value))


# Characters that mean nothing special inside a query value ("+" does: a space).
_QUERY_SAFE = "!$'()*,;:@/?~"
# A value the source left encoded keeps its escapes; only characters that can
# never stand raw in a query string are escaped.
_RAW_QUERY_SAFE = _QUERY_SAFE + "%=&+"
# What quote() would leave as it is, for each of the two: checked first, since
# most query keys and values need no escaping at all (compiled on first use).
_PLAIN: dict[bool, Callable[[str], object]] = {}


def _plain(decoded: bool) -> Callable[[str], object]:
    check = _PLAIN.get(decoded)
    if check is None:
        import re

        allowed = r"A-Za-z0-9_.~!$'()*,;:@/?" + ("" if decoded else "%=&+")
        check = _PLAIN[decoded] = re.compile(f"[{allowed}-]*").fullmatch
    return check


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
    plain = _PLAIN.get(decoded) or _plain(decoded)
    parts = []
    for key, values in source.items():
        if type(key) is not str:
            raise TypeError("query keys must be strings")
        k = key if (key.isalnum() and key.isascii()) or plain(key) else quote(key, safe=safe)
        if type(values) is str or values is None:
            values = (values or "",)
        for value in values:
            if type(value) is not str:
                raise TypeError("query values must be strings")
            if not ((value.isalnum() and value.isascii()) or plain(value)):
                value = quote(value, safe=safe)
            parts.append(f"{k}={value}")
    return "&".join(parts).encode("ascii")


def principal_v1(authorizer: Any) -> str | None:
    """The principal a 1.0 event's authorizer vouches for, for ``REMOTE_USER``.

    A Lambda authorizer's ``principalId``; for a Cognito user pool authorizer
    (REST APIs), the token's ``sub`` claim.
    """
    if type(authorizer) is not dict:
        return None
    principal = authorizer.get("principalId")
    if principal is None:
        claims = authorizer.get("claims")
        principal = claims.get("sub") if type(claims) is dict else None
    return principal if type(principal) is str and principal else None


def principal_v2(authorizer: Any) -> str | None:
    """The principal a 2.0 event's authorizer vouches for, for ``REMOTE_USER``.

    A JWT authorizer's ``sub`` claim, IAM's caller (``userArn``), or a Lambda
    authorizer's ``principalId`` in the context it returned.
    """
    if type(authorizer) is not dict:
        return None
    principal: Any = None
    jwt = authorizer.get("jwt")
    if type(jwt) is dict and type(jwt.get("claims")) is dict:
        principal = jwt["claims"].get("sub")
    if principal is None and type(authorizer.get("iam")) is dict:
        principal = authorizer["iam"].get("userArn")
    if principal is None and type(authorizer.get("lambda")) is dict:
        principal = authorizer["lambda"].get("principalId")
    return principal if type(principal) is str and principal else None


def encode_v1_style(
    response: Response, options: CodecOptions, *, multi_value: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    """The 1.0-style result (REST, HTTP API 1.0, ALB): headers in the request's mode.

    One pass over the response's headers gives both the map and the two
    headers the body's encoding depends on.
    """
    headers: dict[str, list[str]] | dict[str, str]
    if multi_value:
        key = "multiValueHeaders"
        headers, content_type, content_encoding = _grouped_with_content(response.headers)
    else:
        key = "headers"
        headers, content_type, content_encoding = _single_with_content(response.headers)
    body, is_base64 = encode_response_body(
        response.body, content_type, content_encoding, options.text_types
    )
    if extra:
        return {
            "statusCode": response.status,
            **extra,
            key: headers,
            "body": body,
            "isBase64Encoded": is_base64,
        }
    return {"statusCode": response.status, key: headers, "body": body, "isBase64Encoded": is_base64}


def _grouped_with_content(headers: Headers) -> tuple[dict[str, list[str]], str, str]:
    """:func:`response_headers_multi`, and Content-Type and Content-Encoding
    (the last of each, ``""`` if absent) as :func:`content_headers` reads them."""
    grouped: dict[str, list[str]] = {}
    content_type = content_encoding = ""
    for name, value in headers:
        values = grouped.get(name)
        if values is None:
            grouped[name] = [value]
        else:
            values.append(value)
        if len(name) == 12:
            if name.lower() == "content-type":
                content_type = value
        elif len(name) == 16 and name.lower() == "content-encoding":
            content_encoding = value
    return grouped, content_type, content_encoding


def _single_with_content(headers: Headers) -> tuple[dict[str, str], str, str]:
    """:func:`response_headers_single`, and Content-Type and Content-Encoding
    as :func:`_grouped_with_content` gives them."""
    single: dict[str, str] = {}
    cookies: list[str] = []
    content_type = content_encoding = ""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            cookies.append(value)
            continue
        if lowered == "content-type":
            content_type = value
        elif lowered == "content-encoding":
            content_encoding = value
        if name in single:
            single[name] = f"{single[name]}, {value}"
        else:
            single[name] = value
    if cookies:
        _add_cookies(single, cookies)
    return single, content_type, content_encoding


_DESCRIPTIONS: dict[int, str] = {}


def status_description(status: int) -> str:
    """``"200 OK"``: the status line ALB wants in ``statusDescription``."""
    found = _DESCRIPTIONS.get(status)
    if found is None:
        from http import HTTPStatus

        try:
            found = f"{status} {HTTPStatus(status).phrase}"
        except ValueError:
            found = str(status)
        if len(_DESCRIPTIONS) < 128:
            _DESCRIPTIONS[status] = found
    return found


def set_cookie_variants(count: int) -> list[str]:
    """``count`` distinct casings of ``Set-Cookie`` for single-value header maps.

    A JSON object cannot hold one key twice, and sources without multi-value
    headers take one value per name; distinct casings of the same name reach the
    client as separate headers, which HTTP treats as the same field.
    """
    name = "set-cookie"
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if count > 1 << len(letters):
        from faasify._exceptions import AppError

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
        _add_cookies(single, cookies)
    return single


def _add_cookies(single: dict[str, str], cookies: list[str]) -> None:
    """Each ``Set-Cookie`` under a name of its own casing (one plain ``Set-Cookie``
    for one cookie): see :func:`set_cookie_variants`."""
    if len(cookies) == 1:
        single["Set-Cookie"] = cookies[0]
    else:
        single.update(zip(set_cookie_variants(len(cookies)), cookies, strict=False))
