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
from typing import TYPE_CHECKING, Any

from faasify.core.http import Request, Response

if TYPE_CHECKING:
    from faasify.core.types import WSGIApp, WSGIEnviron

__all__ = ["WSGIRunner"]

_WSGI_VERSION = (1, 0)
# Header name -> environ key, or "" for headers that must not reach the app.
_environ_keys: dict[str, str] = {
    "content-type": "CONTENT_TYPE",
    "content-length": "",  # set from the real body length instead
}


def _environ_key(name: str) -> str:
    key = "" if "_" in name else "HTTP_" + name.upper().replace("-", "_")
    if len(_environ_keys) < 512:
        _environ_keys[name] = key
    return key


def _latin1(text: str) -> str:
    """A str as WSGI carries it: the UTF-8 bytes, one code point per byte."""
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


def build_environ(request: Request) -> WSGIEnviron:
    """The PEP 3333 environ for ``request``."""
    server = request.server or ("localhost", 443)
    body = request.body
    client = request.client
    root_path = request.root_path
    path = request.path
    if not (root_path.isascii() and path.isascii()):
        try:
            root_path, path = _latin1(root_path), _latin1(path)
        except UnicodeEncodeError:
            from faasify._exceptions import InvalidRequestError

            raise InvalidRequestError("the path holds bytes that are not text") from None
    environ: WSGIEnviron = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": root_path,
        "PATH_INFO": path,
        "QUERY_STRING": request.query_string.decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client[0] if client else "127.0.0.1",
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
    if request.user is not None:
        environ["REMOTE_USER"] = request.user
    keys = _environ_keys
    try:
        for name, value in request.headers:
            key = keys.get(name)
            if key is None:
                key = _environ_key(name)
            if not key:
                continue
            if not value.isascii():
                value = _latin1(value)
            if key in environ:
                # Repeated headers fold into one value, as RFC 9110 allows;
                # cookies fold with "; " as RFC 6265 writes them.
                sep = "; " if key == "HTTP_COOKIE" else ","
                environ[key] = f"{environ[key]}{sep}{value}"
            else:
                environ[key] = value
    except (AttributeError, TypeError):
        from faasify._exceptions import InvalidRequestError

        raise InvalidRequestError("header names and values must be strings") from None
    except UnicodeEncodeError:
        from faasify._exceptions import InvalidRequestError

        raise InvalidRequestError("a header holds bytes that are not text") from None
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
            from faasify._exceptions import IncompleteResponseError

            raise IncompleteResponseError("the WSGI app returned without calling start_response")
        if written:
            body = b"".join(written) + body
        status, headers = started
        return Response(int(status[:3]), list(headers), body)
