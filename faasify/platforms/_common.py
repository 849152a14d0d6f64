"""What every platform entry point shares: building the neutral request from
the parts a platform hands over, and running it through the hosted app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from faasify.adapters.events._common import server_from
from faasify.adapters.http import Request

__all__ = ["request_from_parts"]


def request_from_parts(
    method: str,
    path: str,
    query_string: str | bytes,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    path_is_encoded: bool = True,
    root_path: str = "",
    client_ip: str | None = None,
    event: Any = None,
    context: Any = None,
) -> Request:
    """A :class:`Request` from a platform's plain HTTP parts.

    ``path`` is the request path as the platform gives it; say whether it is
    still percent-encoded (``path_is_encoded``). ``query_string`` is the wire
    query without ``?``. Header names may have any case; ``Host`` and the
    ``X-Forwarded-*`` headers decide the server and scheme the app sees.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    host = port = proto = None
    for name, value in pairs:
        if name == "host":
            host = value
        elif name == "x-forwarded-port":
            port = value
        elif name == "x-forwarded-proto":
            proto = value
    server, scheme = server_from(host or "localhost", port, proto)
    raw_path = path.encode() if path_is_encoded else None
    decoded = unquote(path) if path_is_encoded and "%" in path else path
    if root_path and (decoded == root_path or decoded.startswith(root_path + "/")):
        decoded = decoded[len(root_path) :] or "/"
    query = query_string.encode() if isinstance(query_string, str) else query_string
    return Request(
        method.upper(),
        decoded or "/",
        query,
        pairs,
        body,
        root_path,
        scheme,
        server,
        (client_ip, 0) if client_ip else None,
        raw_path,
        event,
        context,
    )
