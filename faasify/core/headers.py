"""Request headers as every front door hands them to the app, and the origin they name.

One set of rules for all front doors: names lower-cased; names and values
must be text that came from bytes (a lone surrogate means the platform could
not decode what the client sent); hop-by-hop headers describe one connection,
not the request, and are not forwarded; ``Content-Length`` is the length of
the body the app really gets; several ``Cookie`` lines fold into one, as
RFC 9113 asks of intermediaries, since frameworks read only the first.
The server and scheme the client used come from ``Host`` and the
``X-Forwarded-*`` headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "HOP_BY_HOP",
    "Headers",
    "check_text",
    "is_text",
    "origin",
    "request_headers",
    "safe_response_header",
    "server_from",
]

Headers = list[tuple[str, str]]

#: Headers that describe one connection (RFC 9110 section 7.6.1), plus the framing
#: headers that mean nothing once a body is buffered; never forwarded either way.
HOP_BY_HOP: frozenset[str] = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def check_text(value: Any, field: str) -> str:
    """``value`` if it is a string that encodes to UTF-8; :class:`MalformedEventError` if not."""
    if type(value) is not str:
        from faasify._exceptions import MalformedEventError

        raise MalformedEventError(
            f"{field} must be a string, not {type(value).__name__}", field=field
        )
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            from faasify._exceptions import MalformedEventError

            raise MalformedEventError(
                f"{field} holds bytes that are not text (a lone surrogate)", field=field
            ) from None
    return value


def is_text(value: Any) -> bool:
    """Whether ``value`` is a string that encodes to UTF-8 (no lone surrogate)."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def request_headers(pairs: Iterable[tuple[Any, Any]], body: bytes) -> Headers:
    """Header pairs for the app from a front door's pairs (names of any case).

    Raises :class:`MalformedEventError` for a name or value that is not text.
    """
    headers: Headers = []
    cookies: list[str] = []
    for name, value in pairs:
        if not (is_text(name) and is_text(value)):
            check_text(name, "a header name")
            check_text(value, f"header {name!r}")
        lowered = name.lower()
        if lowered in HOP_BY_HOP:
            continue
        if lowered == "cookie":
            cookies.append(value)
        else:
            headers.append((lowered, value))
    if cookies:
        headers.append(("cookie", "; ".join(cookies)))
    if body:
        headers.append(("content-length", str(len(body))))
    return headers


_servers: dict[tuple[str, str | None, str | None], tuple[tuple[str, int], str]] = {}


def server_from(host: str, port: str | None, proto: str | None) -> tuple[tuple[str, int], str]:
    """``(host, port)`` and scheme as the client saw them, from forwarding headers.

    Memoised: a function sees the same few hosts over and over.
    """
    key = (host, port, proto)
    found = _servers.get(key)
    if found is not None:
        return found
    scheme = (proto.split(",", 1)[0].strip() if proto else "") or "https"
    if ":" in host and not host.endswith("]"):
        host, _, host_port = host.rpartition(":")
        port = port or host_port
    try:
        number = int(port) if port else (443 if scheme == "https" else 80)
    except ValueError:
        number = 443 if scheme == "https" else 80
    found = ((host, number), scheme)
    if len(_servers) < 64:
        _servers[key] = found
    return found


def origin(
    headers: Headers, default_host: str = "localhost", default_scheme: str | None = None
) -> tuple[tuple[str, int], str]:
    """:func:`server_from`, reading ``Host`` and ``X-Forwarded-*`` from lower-case pairs.

    ``default_host`` and ``default_scheme`` stand in where the headers say
    nothing: what the platform's own server saw (its URL), say.
    """
    host = port = proto = None
    for name, value in headers:
        if name == "host":
            host = value
        elif name == "x-forwarded-port":
            port = value
        elif name == "x-forwarded-proto":
            proto = value
    return server_from(host or default_host, port, proto or default_scheme)


def safe_response_header(name: str, value: str) -> bool:
    """Whether a response header may be written raw onto the wire: no line breaks,
    which would let a value forge further headers."""
    return not ("\r" in value or "\n" in value or "\r" in name or "\n" in name)
