"""Fn Project (and Oracle Cloud Infrastructure Functions): the Python ``fdk``.

A hot Fn container runs the ``fdk`` script, which serves Fn's ``http-stream``
format on a Unix socket and calls ``handler(ctx, data=...)`` in the function's
module for every call, one call at a time. The module is imported lazily, on
the first call, so the handler is built once per container, then reused.

For a call from an HTTP trigger or an API gateway (header ``Fn-Intent:
httprequest``), the fdk's context carries the HTTP request: ``ctx.Method()``,
``ctx.RequestURL()`` (absolute on the Fn server, a path on OCI's gateway), and
``ctx.HTTPHeaders()``, the ``Fn-Http-H-*`` headers without their prefix
(Content-Type arrives unprefixed, in ``ctx.Headers()``). The answer is an
``fdk.response.Response``, whose headers the fdk prefixes back with
``Fn-Http-H-`` and whose status it sends as ``Fn-Http-Status``.

The fdk calls the handler inside its own running event loop. faasify's app
lives on its instance loop, which cannot run inside another loop in the same
thread, so the app is started and run on one dedicated thread.
"""

from __future__ import annotations

import importlib
import io
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from faasify._exceptions import MalformedEventError
from faasify.core.headers import HOP_BY_HOP, safe_response_header
from faasify.core.hosted import HostedApp
from faasify.core.http import Request, Response
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path

__all__ = ["FnCodec", "FnHandler", "handler"]

logger = logging.getLogger(__name__)

#: The front door's name in faasify's log lines.
SOURCE = "fn"

# The fdk writes a response without Content-Type as "Content-Type: None".
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


def _lookup(headers: Any, name: str) -> Any:
    """A header from one of the fdk's dicts, whatever the casing of its keys."""
    for key, value in (headers or {}).items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _pairs(headers: Any) -> Iterator[tuple[Any, Any]]:
    """Pairs from an fdk header dict; a list value (a repeated header) expands."""
    for name, value in (headers or {}).items():
        if isinstance(value, list | tuple):
            for item in value:
                yield name, item
        else:
            yield name, value


def _body(data: Any) -> bytes:
    """The call's body: the fdk passes an ``io.BytesIO``."""
    if data is None:
        return b""
    if isinstance(data, io.IOBase):
        data = data.read()
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise MalformedEventError(
        f"the call's data must be bytes or a binary stream, not {type(data).__name__}",
        field="data",
    )


def _split_url(url: str) -> tuple[str, str, str, str]:
    """Path (still encoded), query, host and scheme of ``Fn-Http-Request-Url``."""
    if url.startswith("/"):  # a path: urlsplit would read "//x" as a host
        path, _, query = url.partition("#")[0].partition("?")
        return path, query, "", ""
    parts = urlsplit(url)
    return parts.path or "/", parts.query, parts.netloc, parts.scheme


def _request(ctx: Any, data: Any, gateway: bool, base_path: str) -> Request:
    body = _body(data)
    method = ctx.Method() or "POST"
    url = ctx.RequestURL() or "/"
    if not isinstance(method, str) or not isinstance(url, str):
        raise MalformedEventError("the call's method and URL must be strings")
    path, query, host, scheme = _split_url(url)
    if gateway:
        pairs = list(_pairs(ctx.HTTPHeaders()))
    else:  # a direct invoke: its own headers, less Fn's
        pairs = [
            (name, value)
            for name, value in _pairs(ctx.Headers())
            if not (isinstance(name, str) and name.lower().startswith("fn-"))
        ]
    names = {name.lower() for name, _ in pairs if isinstance(name, str)}
    if gateway and "content-type" not in names:
        content_type = _lookup(ctx.Headers(), "content-type")
        if content_type is not None:
            pairs.append(("content-type", content_type))
    if host and "host" not in names:
        pairs.append(("host", host))
    # The gateway has removed any deployment prefix: the root keeps it for links.
    # An absolute URL (the Fn server's) names the scheme it was called with.
    return request_from_parts(
        method,
        path,
        query,
        pairs,
        body,
        base_path=base_path,
        stripped_upstream=True,
        default_scheme=scheme or None,
        context=ctx,
    )


class FnCodec:
    """The fdk's call (``ctx`` and its data) in, an ``fdk.response.Response`` out.

    A call through an HTTP trigger or an API gateway (``Fn-Intent:
    httprequest``) carries the client's request in ``Fn-Http-*`` headers; a
    direct invoke is answered with only 200, 502 or 504 (the fdk's rule), so
    there a failure still reads as one.
    """

    source = SOURCE

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path
        self._fdk_response: Any = None
        self._warned_cookies = False

    def decode(self, event: Any, context: Any) -> Request:
        gateway = _lookup(context.Headers(), "fn-intent") == "httprequest"
        return _request(context, event, gateway, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> Any:
        gateway = _lookup(context.Headers(), "fn-intent") == "httprequest"
        status = response.status if gateway else 502 if response.status >= 500 else 200
        if self._fdk_response is None:
            self._fdk_response = importlib.import_module("fdk.response")
        return self._fdk_response.Response(
            context,
            response_data=response.body,
            headers=self._headers(response),
            status_code=status,
        )

    def _headers(self, response: Response) -> dict[str, str]:
        """One value per header name: all that the fdk can send.

        The fdk writes one line per name and a list value as its ``repr``, so
        repeated headers are joined with ``", "`` (valid for any list-based
        header) except Set-Cookie, which cannot be joined: the first is kept.
        Names in Fn's own ``fn-`` namespace are dropped.
        """
        headers: dict[str, str] = {}
        dropped = 0
        for name, value in response.headers:
            lowered = name.lower()
            if lowered in HOP_BY_HOP or lowered.startswith("fn-"):
                continue
            if not safe_response_header(name, value):
                # The fdk writes values raw: a line break would forge headers.
                logger.warning("dropped response header %r: line breaks in a header", name)
                continue
            if lowered not in headers:
                headers[lowered] = value
            elif lowered == "set-cookie":
                dropped += 1
            else:
                headers[lowered] += ", " + value
        if dropped and not self._warned_cookies:
            self._warned_cookies = True
            logger.warning(
                "the fdk sends one Set-Cookie header per response; %d more were dropped "
                "(logged once)",
                dropped,
            )
        headers.setdefault("content-type", _DEFAULT_CONTENT_TYPE)
        return headers


class FnHandler:
    """The fdk handler ``(ctx, data) -> fdk.response.Response`` for one app.

    Build it once, at module scope of the function's module
    (``handler = faasify.adapters.fn.handler(app)``) and name it as the
    entry point (``fdk func.py handler``, the default). The fdk calls it
    inside its own running event loop, where the instance's loop cannot run,
    so the app starts and runs on one thread of its own. A failed start is
    logged and answered with a generic 500, and the next call tries again.
    """

    def __init__(self, app: Any, base_path: str, options: AppOptions) -> None:
        self.base_path = base_path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faasify-fn")
        self._loop = RequestLoop(
            lambda: HostedApp(app, options),
            codec=FnCodec(base_path),
            executor=self._on_thread,
        )
        self._loop.start()

    def _on_thread(self, function: Any, /, *args: Any) -> Any:
        return self._thread.submit(function, *args).result()

    @property
    def hosted(self) -> HostedApp | None:
        """The running app; ``None`` while its startup has not succeeded."""
        return self._loop.hosted

    def __call__(self, ctx: Any, data: Any = None) -> Any:
        return self._loop(data, ctx)

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once, on its thread; see :meth:`HostedApp.close`."""
        hosted = self._loop.hosted
        if hosted is not None:
            try:
                self._on_thread(hosted.close, timeout)
            except RuntimeError:  # the thread is gone (interpreter exit)
                hosted.close(timeout)
        self._thread.shutdown()


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
) -> FnHandler:
    """The fdk handler for ``app``, a WSGI or ASGI 3 app (detected).

    ``base_path`` is a prefix of the request path that is not the app's, such
    as the Fn server's ``/t/<app>`` or an API deployment's path prefix: moved
    from the path into the app's root path, so that routes match without it
    and links keep it. The other options are those of :func:`faasify.handler`.
    """
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    return FnHandler(app, check_base_path(base_path), options)
