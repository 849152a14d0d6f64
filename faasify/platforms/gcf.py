"""Google Cloud Functions (and Cloud Run functions): any WSGI or ASGI app as
one HTTP function.

The Functions Framework for Python serves an HTTP function from a Flask app of
its own: it routes every method and path to the function, calls it with the
``flask.Request`` and sends the Flask response it returns. :func:`handler`
builds that function around a :class:`~faasify.adapters.hosted.HostedApp`,
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

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import unquote

from faasify._exceptions import ConfigurationError
from faasify.adapters._log import app_logger, invoke_logger, log_bad_event, log_invoke
from faasify.adapters.events._common import check_base_path as _check_base_path
from faasify.adapters.events._common import server_from
from faasify.adapters.hosted import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    AppKind,
    Hook,
    HostedApp,
    detect_app_kind,
)
from faasify.platforms._common import request_from_parts

if TYPE_CHECKING:
    import flask

    from faasify.adapters.http import Request, Response
    from faasify.adapters.runners.lifespan import LifespanMode

__all__ = ["GCFFunction", "handler"]

#: The event source named in faasify's log lines.
SOURCE = "gcf"


class GCFFunction(Protocol):
    """What :func:`handler` returns: a plain function, as the framework requires
    (it checks for ``types.FunctionType``), that also carries ``close()``."""

    def __call__(self, request: flask.Request, /) -> flask.Response: ...

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown now, if it was started (in tests, say)."""


class _Hosting:
    """The process's :class:`HostedApp`, started by the first request it serves.

    Started lazily because the module is imported before gunicorn forks; built
    under a lock because that first request may race others on other threads.
    """

    __slots__ = ("_build", "_hosted", "_lock", "_served")

    def __init__(self, build: Callable[[], HostedApp]) -> None:
        self._build = build
        self._hosted: HostedApp | None = None
        self._lock = threading.Lock()
        self._served = False

    def get(self) -> tuple[HostedApp, bool]:
        """The hosted app and whether this request is the process's first (cold)."""
        hosted = self._hosted
        if hosted is not None and self._served:
            return hosted, False
        with self._lock:
            if self._hosted is None:
                self._hosted = self._build()
            cold, self._served = not self._served, True
            return self._hosted, cold

    def close(self, timeout: float | None = None) -> None:
        with self._lock:
            hosted = self._hosted
        if hosted is not None:
            hosted.close(timeout)


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

        entry = faasify.platforms.gcf.handler(app)  # --entry-point=entry

    ``base_path`` is a prefix that reaches the function but is not part of the
    app's routes (a load balancer's or Firebase Hosting rewrite's path, say):
    it is moved into the root path, so routes match without it and links carry
    it. The other options are those of :func:`faasify.handler`. Options are
    checked here, at import, so a wrong one fails the deployment rather than
    the first request; the app itself starts with the first request in the
    serving process (see the module's docstring for why).
    """
    _check_base_path(base_path)
    app_kind = detect_app_kind(app) if kind == "auto" else kind
    if app_kind not in ("asgi", "wsgi"):
        raise ConfigurationError(f"kind must be 'auto', 'asgi' or 'wsgi', not {kind!r}")
    if lifespan not in ("auto", "on", "off"):
        raise ConfigurationError(f"lifespan must be 'auto', 'on' or 'off', not {lifespan!r}")
    import flask

    startup_hooks, shutdown_hooks = tuple(on_startup), tuple(on_shutdown)
    hosting = _Hosting(
        lambda: HostedApp(
            app,
            kind=app_kind,
            lifespan=lifespan,
            on_startup=startup_hooks,
            on_shutdown=shutdown_hooks,
            shutdown_timeout=shutdown_timeout,
            handle_signals=handle_signals,
        )
    )
    # ASGI requests all run on the instance's one loop, which one thread at a
    # time may run; WSGI apps are called directly on the framework's threads.
    turn = threading.Lock() if app_kind == "asgi" else None
    response_class = flask.Response

    def entry(request: flask.Request) -> flask.Response:
        logging_on = invoke_logger.isEnabledFor(logging.INFO)
        started = time.perf_counter() if logging_on else 0.0
        try:
            hosted, cold = hosting.get()
        except Exception:
            app_logger.exception("app startup failed; the next request will try again")
            return _flask_response(response_class, INTERNAL_ERROR)
        method = None
        try:
            neutral = _request_from_flask(request, base_path)
        except Exception as exc:
            log_bad_event(None, SOURCE, exc)
            response = BAD_REQUEST
        else:
            method = neutral.method
            if turn is None:
                response = _respond(hosted, neutral)
            else:
                with turn:
                    response = _respond(hosted, neutral)
        try:
            result = _flask_response(response_class, response)
        except Exception:
            app_logger.exception("the app's response could not be sent: %r", response)
            response = INTERNAL_ERROR
            result = _flask_response(response_class, response)
        if logging_on:
            log_invoke(
                context=None,
                source=SOURCE,
                method=method,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
                init_ms=hosted.init_seconds * 1000,
            )
        return result

    # The framework accepts only a plain function, so close() rides along as
    # an attribute rather than making the entry point an object.
    entry.__dict__["close"] = hosting.close
    return cast("GCFFunction", entry)


def _respond(hosted: HostedApp, request: Request) -> Response:
    response = hosted.respond(request, SOURCE)
    if hosted.instance.signal_pending:
        hosted.instance.after_invoke()
    return response


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
    root_path = ""
    if base_path:
        decoded = unquote(path) if encoded else path
        if decoded == base_path or decoded.startswith(base_path + "/"):
            root_path = base_path
    neutral = request_from_parts(
        request.method,
        path,
        request.query_string,
        headers,
        request.get_data(),
        path_is_encoded=encoded,
        root_path=root_path,
        client_ip=request.remote_addr,
        event=request,
    )
    _settle_origin(neutral, request.host, request.scheme)
    return neutral


def _settle_origin(request: Request, host: str, scheme: str) -> None:
    """Server and scheme from ``Host`` and ``X-Forwarded-*`` if present, else
    as the framework's server saw them (plain http under ``functions-framework``
    on a laptop; Google's front end always sends ``X-Forwarded-Proto``)."""
    header_host = port = proto = None
    for name, value in request.headers:
        if name == "host":
            header_host = value
        elif name == "x-forwarded-port":
            port = value
        elif name == "x-forwarded-proto":
            proto = value
    request.server, request.scheme = server_from(header_host or host, port, proto or scheme)


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
