"""One WSGI call: environ in, buffered response out, on the calling thread.

The environ follows PEP 3333 to the byte: ``PATH_INFO`` and ``SCRIPT_NAME``
are the path's UTF-8 bytes decoded as Latin-1, so a route like
``/café`` reaches the app as the framework expects and decodes back
correctly. Header names containing ``_`` are dropped, as Gunicorn and nginx
do, because ``X_Forwarded_For`` would otherwise pass for ``X-Forwarded-For``.

Two ways lead to an environ: :func:`build_environ` from a
:class:`~faasify.core.http.Request`, which every front door can give, and a
front door's own builder straight from its event (see
:meth:`~faasify.core.loop.RequestLoop`), which skips the request and its
header list on the common case. Both start from :func:`new_environ` and
add headers under :func:`environ_key`'s names, so they agree to the key.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faasify.core.http import Request, Response

if TYPE_CHECKING:
    from faasify.core.types import WSGIApp, WSGIEnviron

__all__ = ["WSGIRunner", "build_environ", "environ_key", "environ_server", "new_environ"]

_WSGI_VERSION = (1, 0)
# Header name -> environ key, or "" for headers that must not reach the app.
_environ_keys: dict[str, str] = {
    "content-type": "CONTENT_TYPE",
    "content-length": "",  # set from the real body length instead
}
# Every environ's keys, in the order the app sees them, with the values that
# never change: a copy of this clean table costs a fraction of building a
# dict key by key, and the keys set afterwards are already in place.
_TEMPLATE: WSGIEnviron = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "443",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "CONTENT_LENGTH": "0",
    "wsgi.version": _WSGI_VERSION,
    "wsgi.url_scheme": "https",
    "wsgi.input": None,
    "wsgi.errors": None,
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "faasify.event": None,
    "faasify.context": None,
}


def _environ_key(name: str) -> str:
    key = "" if "_" in name else "HTTP_" + name.upper().replace("-", "_")
    if len(_environ_keys) < 512:
        _environ_keys[name] = key
    return key


def environ_key(lowered: str) -> str:
    """The environ key for a lower-case header name; ``""`` for one the app must not get."""
    key = _environ_keys.get(lowered)
    return _environ_key(lowered) if key is None else key


def _latin1(text: str) -> str:
    """A str as WSGI carries it: the UTF-8 bytes, one code point per byte."""
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


def new_environ(
    method: str,
    script_name: str,
    path_info: str,
    query: str,
    remote_addr: str,
    body: bytes,
    event: Any,
    context: Any,
) -> WSGIEnviron:
    """The environ's fixed part, in PEP 3333's form already (paths as Latin-1 text).

    ``SERVER_NAME``, ``SERVER_PORT`` and ``wsgi.url_scheme`` hold
    placeholders: the caller sets them (see :func:`environ_server`) once it
    has read the headers that name them.
    """
    environ = _TEMPLATE.copy()
    environ["REQUEST_METHOD"] = method
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = query
    environ["REMOTE_ADDR"] = remote_addr
    if body:  # the template's "0" stands for no body
        environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.errors"] = sys.stderr  # read per call: tests and hosts replace it
    environ["faasify.event"] = event
    environ["faasify.context"] = context
    return environ


_servers: dict[tuple[str, str | None, str | None], tuple[str, str, str]] = {}


def environ_server(host: str, port: str | None, proto: str | None) -> tuple[str, str, str]:
    """``SERVER_NAME``, ``SERVER_PORT`` and the scheme, from :func:`server_from`'s
    reading of the forwarding headers; memoised, in the environ's text form."""
    key = (host, port, proto)
    found = _servers.get(key)
    if found is None:
        # Imported by the first miss: the header rules are a request's, not the cold start's.
        from faasify.core.headers import server_from

        (name, number), scheme = server_from(host, port, proto)
        found = (name, str(number), scheme)
        if len(_servers) < 64:
            _servers[key] = found
    return found


def build_environ(request: Request) -> WSGIEnviron:
    """The PEP 3333 environ for ``request``."""
    server = request.server or ("localhost", 443)
    client = request.client
    root_path = request.root_path
    path = request.path
    if not (root_path.isascii() and path.isascii()):
        try:
            root_path, path = _latin1(root_path), _latin1(path)
        except UnicodeEncodeError:
            from faasify._exceptions import InvalidRequestError

            raise InvalidRequestError("the path holds bytes that are not text") from None
    environ = new_environ(
        request.method,
        root_path,
        path,
        request.query_string.decode("latin-1"),
        client[0] if client else "127.0.0.1",
        request.body,
        request.event,
        request.context,
    )
    environ["SERVER_NAME"] = server[0]
    environ["SERVER_PORT"] = str(server[1])
    environ["wsgi.url_scheme"] = request.scheme
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


# Status line -> status code: an app answers with a few lines, over and over.
_codes: dict[str, int] = {}


def _code(status: str) -> int:
    """The code of a status line not seen before (``ValueError`` if it has none)."""
    code = int(status[:3])
    if len(_codes) < 128 and type(status) is str:
        _codes[status] = code
    return code


class WSGIRunner:
    """Calls a WSGI app directly: no thread pool, no event loop on the hot path."""

    __slots__ = ("_app",)

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def run(self, request: Request) -> Response:
        return self.call(build_environ(request))

    def call(self, environ: WSGIEnviron) -> Response:
        """The app's response to a ready ``environ``."""
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
        code = _codes.get(status) if type(status) is str else None
        if code is None:
            code = _code(status)
        return Response(code, list(headers), body)
