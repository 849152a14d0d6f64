"""Azure Functions (the Python worker): any WSGI or ASGI app behind one HTTP
trigger.

The worker calls an HTTP-triggered function with an
``azure.functions.HttpRequest`` and sends the ``azure.functions.HttpResponse``
it returns. :func:`handler` (and :func:`async_handler`, for ``async def``
entry points) builds that function around a
:class:`~faasify.adapters.hosted.HostedApp`, translating the request into
faasify's neutral request and the app's response back.

What the worker does around the function shapes this module:

- It imports function modules from a coroutine on its own event loop, where
  the instance's loop cannot run; the app is then started on a short-lived
  thread of its own, still at import, still once per worker process.
- It runs ``def`` functions on a thread pool, several at a time, and
  ``async def`` functions on its loop; ASGI apps take turns on the instance's
  one loop, WSGI apps run concurrently.
- It reads the entry point's signature and resolves its annotations at run
  time (``typing.get_type_hints``) to match them with the bindings: the
  returned functions take ``req`` and an optional ``context`` and carry real
  classes in ``__annotations__``.
- Its response converter keeps one value per header name, except
  ``Set-Cookie``, which it turns into cookie objects; repeated headers other
  than ``Set-Cookie`` are therefore joined with ``", "`` here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import unquote, urlsplit

from faasify.adapters._log import app_logger, invoke_logger, log_bad_event, log_invoke
from faasify.adapters.events._common import check_base_path as _check_base_path
from faasify.adapters.events._common import server_from
from faasify.adapters.hosted import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    AppKind,
    Hook,
    HostedApp,
)
from faasify.platforms._common import request_from_parts

if TYPE_CHECKING:
    import azure.functions as func

    from faasify.adapters.http import Request, Response
    from faasify.adapters.runners.lifespan import LifespanMode

__all__ = ["AsyncAzureFunction", "AzureFunction", "async_handler", "handler"]

#: The event source named in faasify's log lines.
SOURCE = "azure"


class AzureFunction(Protocol):
    """What :func:`handler` returns: a plain ``def main(req, context=None)``
    that also carries ``close()``."""

    def __call__(
        self, req: func.HttpRequest, context: func.Context | None = None
    ) -> func.HttpResponse: ...

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown now (in tests, say)."""


class AsyncAzureFunction(Protocol):
    """What :func:`async_handler` returns: an ``async def main(req, context=None)``
    that also carries ``close()``."""

    async def __call__(
        self, req: func.HttpRequest, context: func.Context | None = None
    ) -> func.HttpResponse: ...

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown now (in tests, say)."""


class _AzureApp:
    """The hosted app and the translation both entry points share."""

    __slots__ = ("_base_path", "_served", "_turn", "hosted", "sdk")

    def __init__(self, app: Any, base_path: str, options: dict[str, Any]) -> None:
        _check_base_path(base_path)
        import azure.functions

        self.sdk = azure.functions
        self._base_path = base_path
        self.hosted = _start(app, options)
        self._served = False
        # ASGI requests all run on the instance's one loop, which one thread at
        # a time may run; WSGI apps are called directly on the worker's threads.
        self._turn = threading.Lock() if self.hosted.kind == "asgi" else None

    def respond(self, req: func.HttpRequest, context: func.Context | None) -> func.HttpResponse:
        logging_on = invoke_logger.isEnabledFor(logging.INFO)
        started = time.perf_counter() if logging_on else 0.0
        hosted = self.hosted
        method = None
        try:
            request = _request_from_azure(req, context, self._base_path)
        except Exception as exc:
            log_bad_event(context, SOURCE, exc)
            response = BAD_REQUEST
        else:
            method = request.method
            if self._turn is None:
                response = _respond(hosted, request)
            else:
                with self._turn:
                    response = _respond(hosted, request)
        try:
            result = _azure_response(self.sdk, response)
        except Exception:
            app_logger.exception("the app's response could not be sent: %r", response)
            response = INTERNAL_ERROR
            result = _azure_response(self.sdk, response)
        cold, self._served = not self._served, True
        if logging_on:
            log_invoke(
                context=context,
                source=SOURCE,
                method=method,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
                init_ms=hosted.init_seconds * 1000,
            )
        return result

    def respond_on_thread(
        self, req: func.HttpRequest, context: func.Context | None
    ) -> func.HttpResponse:
        """:meth:`respond` on a thread of ours, tagged with the invocation id
        as the worker does for its own threads, so log lines stay attributed."""
        local = getattr(context, "thread_local_storage", None)
        if local is None:
            return self.respond(req, context)
        local.invocation_id = getattr(context, "invocation_id", None)
        try:
            return self.respond(req, context)
        finally:
            local.invocation_id = None


def _start(app: Any, options: dict[str, Any]) -> HostedApp:
    """The app's :class:`HostedApp`, started where the instance's loop can run.

    The worker imports function modules inside a coroutine on its own running
    loop, where ``run_until_complete`` on another loop is refused; there, the
    startup runs on a thread of its own, and this waits for it (and re-raises
    its failure, which then fails the function's load, as it should).
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return HostedApp(app, **options)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="faasify-startup") as pool:
        return pool.submit(HostedApp, app, **options).result()


def handler(
    app: Any,
    *,
    base_path: str = "/api",
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = False,
) -> AzureFunction:
    """An HTTP-triggered function for ``app``, a WSGI or ASGI 3 app (detected).

    Call it at module scope; the app starts then, once per worker process::

        main = faasify.platforms.azure.handler(app)

    ``base_path`` is the host's route prefix (``extensions.http.routePrefix``
    in host.json, ``api`` unless changed): it is moved into the root path, so
    routes match without it and links carry it. Pass ``""`` for an empty
    prefix. ``handle_signals`` is off by default: the worker's main thread runs
    the worker's own loop, where faasify's shutdown cannot run from a signal
    handler; the app's shutdown runs at interpreter exit instead. The other
    options are those of :func:`faasify.handler`.
    """
    hosting = _AzureApp(
        app,
        base_path,
        {
            "kind": kind,
            "lifespan": lifespan,
            "on_startup": on_startup,
            "on_shutdown": on_shutdown,
            "shutdown_timeout": shutdown_timeout,
            "handle_signals": handle_signals,
        },
    )

    def main(req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
        return hosting.respond(req, context)

    main.__annotations__ = _worker_annotations(hosting)
    # close() rides along as an attribute: the worker wants a plain function.
    main.__dict__["close"] = hosting.hosted.close
    return cast("AzureFunction", main)


def async_handler(
    app: Any,
    *,
    base_path: str = "/api",
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = False,
) -> AsyncAzureFunction:
    """Like :func:`handler`, as an ``async def`` entry point.

    The worker runs ``async def`` functions on its own loop, so its sync thread
    pool (``PYTHON_THREADPOOL_THREAD_COUNT``) is not involved; the app itself
    still runs on a thread (``asyncio.to_thread``), because an ASGI app's
    lifespan state and pools live on the instance's loop, not the worker's.
    """
    hosting = _AzureApp(
        app,
        base_path,
        {
            "kind": kind,
            "lifespan": lifespan,
            "on_startup": on_startup,
            "on_shutdown": on_shutdown,
            "shutdown_timeout": shutdown_timeout,
            "handle_signals": handle_signals,
        },
    )

    async def main(req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
        import asyncio

        return await asyncio.to_thread(hosting.respond_on_thread, req, context)

    main.__annotations__ = _worker_annotations(hosting)
    main.__dict__["close"] = hosting.hosted.close
    return cast("AsyncAzureFunction", main)


def _worker_annotations(hosting: _AzureApp) -> dict[str, Any]:
    """Annotations the worker can resolve and check: classes, not strings
    (this module's are strings, and its SDK import is lazy), and ``Context``
    itself rather than an ``Optional`` of it, which the worker rejects."""
    sdk = hosting.sdk
    return {"req": sdk.HttpRequest, "context": sdk.Context, "return": sdk.HttpResponse}


def _respond(hosted: HostedApp, request: Request) -> Response:
    response = hosted.respond(request, SOURCE)
    if hosted.instance.signal_pending:
        hosted.instance.after_invoke()
    return response


def _request_from_azure(
    req: func.HttpRequest, context: func.Context | None, base_path: str
) -> Request:
    """The neutral request for what the worker received.

    The host builds ``req.url`` from the scheme, Host, the percent-encoded path
    and the query string exactly as sent; path and query come from there
    (``req.params`` keeps one value per name). Header names arrive lower-cased,
    a repeated header as one comma-joined value. The body is bytes.
    """
    if not isinstance(req.url, str) or not isinstance(req.method, str):
        raise TypeError("the request's url and method must be strings")
    url = urlsplit(req.url)
    path = url.path or "/"
    body = req.get_body()
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif body is None:
        body = b""
    elif not isinstance(body, bytes):
        raise TypeError(f"the request body must be bytes, not {type(body).__name__}")
    headers = list(req.headers.items())
    root_path = ""
    if base_path:
        decoded = unquote(path)
        if decoded == base_path or decoded.startswith(base_path + "/"):
            root_path = base_path
    request = request_from_parts(
        req.method,
        path,
        url.query,
        headers,
        body,
        path_is_encoded=True,
        root_path=root_path,
        event=req,
        context=context,
    )
    _settle_origin(request, url.netloc, url.scheme)
    return request


def _settle_origin(request: Request, netloc: str, scheme: str) -> None:
    """Server and scheme from ``Host`` and ``X-Forwarded-*`` if present, else
    from the URL (``http://localhost:7071`` under ``func start``)."""
    host = port = proto = None
    for name, value in request.headers:
        if name == "host":
            host = value
        elif name == "x-forwarded-port":
            port = value
        elif name == "x-forwarded-proto":
            proto = value
    request.server, request.scheme = server_from(
        host or netloc or "localhost", port, proto or scheme or "https"
    )


def _azure_response(sdk: Any, response: Response) -> func.HttpResponse:
    """An ``HttpResponse`` with the app's status, body bytes and headers.

    Each ``Set-Cookie`` is added on its own: the SDK's converter sends each as
    a cookie (see :func:`_carried_cookie`). Any other repeated header is joined
    into one value with ``", "`` (RFC 9110 section 5.3), because the converter
    keeps only the last value of a repeated name.
    """
    result: func.HttpResponse = sdk.HttpResponse(response.body, status_code=response.status)
    pairs: list[list[str]] = []
    seen: dict[str, int] = {}
    for name, value in response.headers:
        lower = name.lower()
        if lower == "set-cookie":
            carried = _carried_cookie(value)
            if carried is not None:
                pairs.append([name, carried])
            continue
        at = seen.get(lower)
        if at is None:
            seen[lower] = len(pairs)
            pairs.append([name, value])
        else:
            pairs[at][1] = f"{pairs[at][1]}, {value}"
    headers = result.headers
    for name, value in pairs:
        headers.add(name, value)
    return result


_cookie_attributes: frozenset[str] | None = None
_warned_attributes: set[str] = set()


def _carried_cookie(value: str) -> str | None:
    """A ``Set-Cookie`` value the SDK's converter can carry to the host, or
    ``None`` for one it cannot.

    The converter parses each value with ``http.cookies.SimpleCookie``, which
    drops the whole cookie at an attribute it does not know as a flag
    (``Partitioned``), reads an unknown ``name=value`` attribute
    (``Priority=High``) as a second cookie that takes the remaining attributes,
    and raises (failing the invocation) at some names it does not accept. The
    host's cookie model has no place for unknown attributes anyway, so they are
    left out here, with a warning once per attribute, and the cookie survives;
    a cookie that still does not parse is left out, with a warning.
    """
    global _cookie_attributes
    from http.cookies import CookieError, Morsel, SimpleCookie

    known = _cookie_attributes
    if known is None:
        known = _cookie_attributes = frozenset(Morsel().keys())
    pair, *attributes = value.split(";")
    kept = [pair]
    for attribute in attributes:
        name = attribute.partition("=")[0].strip().lower()
        if name in known:
            kept.append(attribute)
        elif name and name not in _warned_attributes:
            _warned_attributes.add(name)
            app_logger.warning(
                "Azure Functions cannot carry the cookie attribute %r; it is left out", name
            )
    carried = ";".join(kept)
    try:
        parsed = SimpleCookie(carried)
    except CookieError:
        parsed = None
    if not parsed:
        app_logger.warning(
            "Azure Functions' SDK cannot parse the cookie %r; it is left out", pair.strip()
        )
        return None
    return carried
