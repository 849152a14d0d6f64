"""A neutral request from the plain HTTP parts a platform hands over.

Platforms that are not AWS give a function its request as parts: a method,
a path (encoded or not), a query string, header pairs, body bytes. This is
the one place they become a :class:`~faasify.core.http.Request`, under the
same rules everywhere: header rules from :mod:`faasify.core.headers`, base
paths from :mod:`faasify.core.paths`, server and scheme from ``Host`` and
``X-Forwarded-*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faasify._exceptions import MalformedEventError
from faasify.core.headers import check_text, origin, request_headers
from faasify.core.http import Request
from faasify.core.paths import mount, unquote_path

__all__ = ["request_from_parts"]


def request_from_parts(
    method: Any,
    path: Any,
    query_string: str | bytes,
    headers: Iterable[tuple[Any, Any]],
    body: bytes,
    *,
    path_is_encoded: bool = True,
    base_path: str = "",
    stripped_upstream: bool = False,
    client_ip: str | None = None,
    default_host: str = "localhost",
    default_scheme: str | None = None,
    event: Any = None,
    context: Any = None,
) -> Request:
    """A :class:`Request` from a platform's plain HTTP parts.

    ``path`` is the request path as the platform gives it; say whether it is
    still percent-encoded (``path_is_encoded``). ``query_string`` is the wire
    query without ``?``. Header names may have any case. ``base_path`` moves
    into the root path (see :func:`faasify.core.paths.mount`);
    ``default_host``/``default_scheme`` are what the platform's own server saw,
    used where ``Host`` and ``X-Forwarded-*`` say nothing.

    Raises :class:`MalformedEventError` for a method, path, query or header
    that is not text.
    """
    method = check_text(method, "method")
    path = check_text(path, "path") or "/"
    if isinstance(query_string, str):
        query = check_text(query_string, "query string").encode()
    elif isinstance(query_string, bytes):
        query = query_string
    else:
        raise MalformedEventError("the query string must be text", field="query string")
    pairs = request_headers(headers, body)
    server, scheme = origin(pairs, default_host, default_scheme)
    raw_path = path.encode() if path_is_encoded else None
    decoded = unquote_path(path) if path_is_encoded else path
    root_path, decoded = mount("", decoded, base_path, stripped_upstream=stripped_upstream)
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
