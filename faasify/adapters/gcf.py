"""Google Cloud Functions (and Cloud Run functions): any WSGI or ASGI app as
one HTTP function.

The Functions Framework for Python serves an HTTP function from a Flask app of
its own: it routes every method and path to the function, calls it with the
``flask.Request`` and sends the Flask response it returns. :func:`handler`
builds that function around a :class:`~faasify.core.hosted.HostedApp`,
translating the Flask request into faasify's neutral request and the app's
response back into a ``flask.Response``, byte for byte.

Two facts of the framework shape this module. It imports the function's module
in gunicorn's master process and then forks the worker that serves requests,
so the app is started (lifespan, ``on_startup`` hooks) by the first request in
the serving process, not at import: an event loop and connections opened
before the fork would be shared by two processes. And the worker answers on
several threads (gunicorn's ``gthread`` worker, ``THREADS`` of them), so WSGI
apps run concurrently while ASGI apps take turns on the instance's one loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast

from faasify._exceptions import MalformedEventError
from faasify.core.hosted import HostedApp, detect_app_kind
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path

if TYPE_CHECKING:
    import flask

    from faasify.core.http import Request, Response

__all__ = ["GCFCodec", "GCFFunction", "handler"]

#: The front door's name in faasify's log lines.
SOURCE = "gcf"


class GCFFunction(Protocol):
    """What :func:`handler` returns: a plain function, as the framework requires
    (it checks for ``types.FunctionType``), that also carries ``close()``."""

    def __call__(self, request: flask.Request, /) -> flask.Response: ...

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown now, if it was started (in tests, say)."""


class GCFCodec:
    """A ``flask.Request`` in, a ``flask.Response`` out."""

    source = SOURCE

    def __init__(self, base_path: str) -> None:
        import flask
        from werkzeug.exceptions import HTTPException

        self._base_path = base_path
        self._request_class = flask.Request
        self._response_class = flask.Response
        self._unreadable = HTTPException

    def decode(self, event: flask.Request, context: Any) -> Request:
        if not isinstance(event, self._request_class):
            raise MalformedEventError(f"expected a flask.Request, not {type(event).__name__}")
        try:
            return _request_from_flask(event, self._base_path)
        except self._unreadable as exc:  # the body could not be read (cut short, too large)
            raise MalformedEventError(f"the request could not be read: {exc}") from exc

    def encode(self, response: Response, event: Any, context: Any) -> flask.Response:
        return _flask_response(self._response_class, response)


def handler(
    app: Any,
    *,
    base_path: str = "",
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> GCFFunction:
    """An HTTP function for ``app``, a WSGI or ASGI 3 app (detected).

    Call it at module scope and name the result as the function's entry point::

        entry = faasify.adapters.gcf.handler(app)  # --entry-point=entry

    ``base_path`` is a prefix that reaches the function but is not part of the
    app's routes (a load balancer's or Firebase Hosting rewrite's path, say):
    it is moved into the root path, so routes match without it and links carry
    it. The other options are those of :func:`faasify.handler`. Options are
    checked here, at import, so a wrong one fails the deployment rather than
    the first request; the app itself starts with the first request in the
    serving process (see the module's docstring for why).
    """
    options = AppOptions(
        kind=detect_app_kind(app) if kind == "auto" else kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    codec = GCFCodec(check_base_path(base_path))
    # The app starts with the first request (after gunicorn's fork); the
    # framework answers on several threads, where an ASGI app takes turns.
    loop = RequestLoop(lambda: HostedApp(app, options), codec=codec, threads=True)

    def entry(request: flask.Request) -> flask.Response:
        result: flask.Response = loop(request, None)
        return result

    # The framework accepts only a plain function, so close() rides along as
    # an attribute rather than making the entry point an object.
    entry.__dict__["close"] = loop.close
    return cast("GCFFunction", entry)


def _request_from_flask(request: flask.Request, base_path: str) -> Request:
    """The neutral request for what the framework received.

    The path comes from the request line as the client sent it (gunicorn's
    ``RAW_URI``, Werkzeug's ``REQUEST_URI``), still percent-encoded, so that
    ``%2F`` stays distinct from ``/``; without one, from Flask's decoded path.
    Header values are WSGI strings (bytes as Latin-1) and go back to text.
    """
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw.startswith("/") and not environ.get("SCRIPT_NAME"):
        path, encoded = _text(raw.partition("?")[0]), True
    else:
        path, encoded = request.path, False
    headers = [(name, _text(value)) for name, value in request.headers.items()]
    return request_from_parts(
        request.method,
        path,
        request.query_string,
        headers,
        request.get_data(),
        path_is_encoded=encoded,
        base_path=base_path,
        client_ip=request.remote_addr,
        default_host=request.host,
        default_scheme=request.scheme,
        event=request,
    )


def _text(wsgi: str) -> str:
    """A WSGI string (bytes decoded as Latin-1) as the UTF-8 text it carries."""
    if wsgi.isascii():
        return wsgi
    try:
        return wsgi.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return wsgi  # not a WSGI string after all, or not UTF-8: keep it as is


def _flask_response(response_class: type[flask.Response], response: Response) -> flask.Response:
    """A Flask response with the app's status, every header (repeats included)
    and body bytes; no Content-Type is added if the app sent none."""
    has_type = any(name.lower() == "content-type" for name, _ in response.headers)
    result = response_class(response.body, status=response.status, headers=response.headers)
    if not has_type:
        del result.headers["Content-Type"]
    return result
