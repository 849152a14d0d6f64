"""Azure Functions (the Python worker): any WSGI or ASGI app behind one HTTP
trigger.

The worker calls an HTTP-triggered function with an
``azure.functions.HttpRequest`` and sends the ``azure.functions.HttpResponse``
it returns. :func:`handler` (and :func:`async_handler`, for ``async def``
entry points) builds that function around a
:class:`~faasify.core.hosted.HostedApp`, translating the request into
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

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlsplit

from faasify._exceptions import MalformedEventError
from faasify.core.hosted import HostedApp
from faasify.core.log import app_logger
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path

if TYPE_CHECKING:
    import azure.functions as func

    from faasify.core.http import Request, Response

__all__ = ["AsyncAzureFunction", "AzureCodec", "AzureFunction", "async_handler", "handler"]

#: The front door's name in faasify's log lines.
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


class AzureCodec:
    """An ``azure.functions.HttpRequest`` in, an ``HttpResponse`` out."""

    source = SOURCE

    def __init__(self, base_path: str) -> None:
        import azure.functions

        self.sdk = azure.functions
        self._base_path = base_path

    def decode(self, event: func.HttpRequest, context: Any) -> Request:
        if not isinstance(event, self.sdk.HttpRequest):
            raise MalformedEventError(
                f"expected an azure.functions.HttpRequest, not {type(event).__name__}"
            )
        return _request_from_azure(event, context, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> func.HttpResponse:
        return _azure_response(self.sdk, response)


def _start(app: Any, options: AppOptions) -> HostedApp:
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
        return HostedApp(app, options)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="faasify-startup") as pool:
        return pool.submit(HostedApp, app, options).result()


def _loop(app: Any, base_path: str, options: AppOptions) -> RequestLoop:
    codec = AzureCodec(check_base_path(base_path))
    # The worker runs def functions on a thread pool, several at a time: an
    # ASGI app takes turns on the instance's one loop, a WSGI app does not.
    return RequestLoop(_start(app, options), codec=codec, threads=True)


def _worker_annotations() -> dict[str, Any]:
    """Annotations the worker can resolve and check: classes, not strings
    (this module's are strings, and its SDK import is lazy), and ``Context``
    itself rather than an ``Optional`` of it, which the worker rejects."""
    import azure.functions as sdk

    return {"req": sdk.HttpRequest, "context": sdk.Context, "return": sdk.HttpResponse}


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

        main = faasify.adapters.azure.handler(app)

    ``base_path`` is the host's route prefix (``extensions.http.routePrefix``
    in host.json, ``api`` unless changed): it is moved into the root path, so
    routes match without it and links carry it. Pass ``""`` for an empty
    prefix. ``handle_signals`` is off by default: the worker's main thread runs
    the worker's own loop, where faasify's shutdown cannot run from a signal
    handler; the app's shutdown runs at interpreter exit instead. The other
    options are those of :func:`faasify.handler`.
    """
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    loop = _loop(app, base_path, options)

    def main(req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
        result: func.HttpResponse = loop(req, context)
        return result

    main.__annotations__ = _worker_annotations()
    # close() rides along as an attribute: the worker wants a plain function.
    main.__dict__["close"] = loop.close
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
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    loop = _loop(app, base_path, options)

    def respond_on_thread(req: func.HttpRequest, context: func.Context | None) -> func.HttpResponse:
        """The loop on a thread of ours, tagged with the invocation id as the
        worker does for its own threads, so log lines stay attributed."""
        local = getattr(context, "thread_local_storage", None)
        if local is None:
            result: func.HttpResponse = loop(req, context)
            return result
        local.invocation_id = getattr(context, "invocation_id", None)
        try:
            result = loop(req, context)
            return result
        finally:
            local.invocation_id = None

    async def main(req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
        import asyncio

        return await asyncio.to_thread(respond_on_thread, req, context)

    main.__annotations__ = _worker_annotations()
    main.__dict__["close"] = loop.close
    return cast("AsyncAzureFunction", main)


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
        raise MalformedEventError("the request's url and method must be strings")
    url = urlsplit(req.url)
    path = url.path or "/"
    body = req.get_body()
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif body is None:
        body = b""
    elif not isinstance(body, bytes):
        raise MalformedEventError(
            f"the request body must be bytes, not {type(body).__name__}", field="body"
        )
    return request_from_parts(
        req.method,
        path,
        url.query,
        list(req.headers.items()),
        body,
        path_is_encoded=True,
        base_path=base_path,
        default_host=url.netloc or "localhost",
        default_scheme=url.scheme or "https",
        event=req,
        context=context,
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
