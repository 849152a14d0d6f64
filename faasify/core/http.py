"""The neutral HTTP model between event codecs and app runners.

Every event source decodes into a :class:`Request` and encodes from a
:class:`Response`; every runner consumes the one and produces the other. That
is what keeps event sources times app kinds an M+N problem instead of M*N.

Both are plain slotted classes (not dataclasses: those cost import time on
every cold start), built once per invoke and carrying what the runners need
in the form they share: header names lower-cased, the path percent-decoded,
the query string still encoded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BAD_REQUEST", "INTERNAL_ERROR", "Request", "Response"]


class Request:
    """One HTTP request, independent of the event it came in.

    ``path`` is the percent-decoded path *below* ``root_path``; the URL the
    client used is ``root_path + path``. ``root_path`` carries an API Gateway
    stage or a custom-domain base path so that frameworks build links that
    include it. ``query_string`` is the query exactly as it goes on the wire
    (percent-encoded, without ``?``). Header names are lower-case; a header
    that appeared several times appears several times. ``user`` is the
    principal the platform authenticated (an API Gateway authorizer's), if any:
    WSGI apps get it as ``REMOTE_USER``.
    """

    __slots__ = (
        "body",
        "client",
        "context",
        "event",
        "headers",
        "method",
        "path",
        "query_string",
        "raw_path",
        "root_path",
        "scheme",
        "server",
        "user",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
        root_path: str = "",
        scheme: str = "https",
        server: tuple[str, int] | None = None,
        client: tuple[str, int] | None = None,
        raw_path: bytes | None = None,
        event: Any = None,
        context: Any = None,
        user: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.root_path = root_path
        self.scheme = scheme
        self.server = server
        self.client = client
        self.raw_path = raw_path
        self.event = event
        self.context = context
        self.user = user

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.root_path}{self.path}>"


class Response:
    """One HTTP response as the app produced it, body fully buffered.

    Header names keep the app's casing; each event source decides what casing
    and grouping its platform expects.
    """

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Response {self.status} ({len(self.body)} bytes)>"


#: What a client gets when the app raised or faasify failed: nothing of the error.
INTERNAL_ERROR = Response(
    500, [("Content-Type", "text/plain; charset=utf-8")], b"Internal Server Error"
)
#: What a client gets for an event or request that cannot be read.
BAD_REQUEST = Response(
    400, [("Content-Type", "text/plain; charset=utf-8")], b"Bad Request: malformed event"
)
