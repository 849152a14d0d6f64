"""One WSGI call: environ in, buffered response out, on the calling thread.

The environ follows PEP 3333 to the byte: ``PATH_INFO`` and ``SCRIPT_NAME``
are the path's UTF-8 bytes decoded as Latin-1, so a route like
``/café`` reaches the app as the framework expects and decodes back
correctly. Header names containing ``_`` are dropped, as Gunicorn and nginx
do, because ``X_Forwarded_For`` would otherwise pass for ``X-Forwarded-For``.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any

from faasify.adapters.http import Request, Response
from faasify.adapters.types import WSGIApp, WSGIEnviron

__all__ = ["WSGIRunner"]

_WSGI_VERSION = (1, 0)
_environ_key_cache: dict[str, str | None] = {
    "content-type": "CONTENT_TYPE",
    "content-length": None,  # set from the real body length instead
}


def _environ_key(name: str) -> str | None:
    key = _environ_key_cache.get(name, "")
    if key != "":
        return key
    key = None if "_" in name else "HTTP_" + name.upper().replace("-", "_")
    if len(_environ_key_cache) < 512:
        _environ_key_cache[name] = key
    return key


def _latin1(text: str) -> str:
    """A str as WSGI carries it: the UTF-8 bytes, one code point per byte."""
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


def build_environ(request: Request) -> WSGIEnviron:
    """The PEP 3333 environ for ``request``."""
    server = request.server or ("localhost", 443)
    body = request.body
    environ: WSGIEnviron = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": _latin1(request.root_path),
        "PATH_INFO": _latin1(request.path),
        "QUERY_STRING": request.query_string.decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": _WSGI_VERSION,
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "faasify.event": request.event,
        "faasify.context": request.context,
    }
    if request.client is not None:
        environ["REMOTE_ADDR"] = request.client[0]
    for name, value in request.headers:
        key = _environ_key(name)
        if key is None:
            continue
        if not value.isascii():
            value = _latin1(value)
        existing = environ.get(key)
        if existing is None:
            environ[key] = value
        else:
            environ[key] = f"{existing}; {value}" if key == "HTTP_COOKIE" else f"{existing},{value}"
    return environ


class WSGIRunner:
    """Calls a WSGI app directly: no thread pool, no event loop on the hot path."""

    __slots__ = ("_app",)

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def run(self, request: Request) -> Response:
        environ = build_environ(request)
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            # Nothing reaches the client before the app returns (the body is
            # buffered), so a later call, with exc_info, may replace the
            # response, as PEP 3333 allows.
            started[:] = (status, headers)
            return written.append

        result = self._app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        if written:
            body = b"".join(written) + body
        status, headers = started
        return Response(int(status[:3]), list(headers), body)
