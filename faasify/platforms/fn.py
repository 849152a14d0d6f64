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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from faasify._exceptions import ConfigurationError
from faasify.adapters._log import log_bad_event
from faasify.adapters.events._common import check_base_path as _check_base_path
from faasify.adapters.events._common import server_from
from faasify.adapters.hosted import BAD_REQUEST, INTERNAL_ERROR, HostedApp
from faasify.adapters.http import Request, Response
from faasify.platforms._common import request_from_parts

__all__ = ["FnHandler", "handler"]

logger = logging.getLogger("faasify.fn")

SOURCE = "fn"

_MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
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
    raise TypeError(f"the call's data must be bytes or a binary stream, not {type(data).__name__}")


def _split_url(url: str) -> tuple[str, str, str, str]:
    """Path (still encoded), query, host and scheme of ``Fn-Http-Request-Url``."""
    if url.startswith("/"):  # a path: urlsplit would read "//x" as a host
        path, _, query = url.partition("#")[0].partition("?")
        return path, query, "", ""
    parts = urlsplit(url)
    return parts.path or "/", parts.query, parts.netloc, parts.scheme


def _request_headers(pairs: list[tuple[Any, Any]], body: bytes) -> list[tuple[str, str]]:
    """Lower-case header pairs for the app, checked, with the body's own length.

    Several Cookie headers fold into one, as RFC 9113 asks of intermediaries.
    """
    headers: list[tuple[str, str]] = []
    cookies: list[str] = []
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be strings")
        lowered = name.lower()
        if lowered in _NOT_FORWARDED:
            continue
        if lowered == "cookie":
            cookies.append(value)
        else:
            headers.append((lowered, value))
    if cookies:
        headers.append(("cookie", "; ".join(cookies)))
    if body:
        headers.append(("content-length", str(len(body))))
    return headers


def _request(ctx: Any, data: Any, gateway: bool, base_path: str) -> Request:
    body = _body(data)
    method = ctx.Method() or "POST"
    url = ctx.RequestURL() or "/"
    if not isinstance(method, str) or not isinstance(url, str):
        raise TypeError("the call's method and URL must be strings")
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
    headers = _request_headers(pairs, body)
    request = request_from_parts(
        method, path, query, headers, body, root_path=base_path, context=ctx
    )
    if scheme and "x-forwarded-proto" not in names:
        # The Fn server's absolute URL names the scheme it was called with.
        server_host = _lookup(dict(headers), "host") or "localhost"
        request.server, request.scheme = server_from(server_host, None, scheme)
    return request


class FnHandler:
    """The fdk handler ``(ctx, data) -> fdk.response.Response`` for one app.

    Build it once, at module scope of the function's module
    (``handler = faasify.platforms.fn.handler(app)``) and name it as the
    entry point (``fdk func.py handler``, the default).
    """

    def __init__(self, app: Any, *, base_path: str = "", **options: Any) -> None:
        _check_base_path(base_path)
        self.base_path = base_path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faasify-fn")
        self._build = lambda: HostedApp(app, **options)
        #: The running app; ``None`` while its startup has not succeeded.
        self.hosted: HostedApp | None = None
        self._fdk_response: Any = None
        self._warned_cookies = False
        self._start()

    def _start(self) -> HostedApp | None:
        """The app, started on its thread (its lifespan runs on the loop it serves on).

        A failed startup is logged and answered with a generic 500, and the next
        call tries again; raised into the fdk, its message would reach the client.
        A configuration error is raised: it cannot get better.
        """
        if self.hosted is None:
            try:
                self.hosted = self._thread.submit(self._build).result()
            except ConfigurationError:
                raise
            except Exception:
                logger.exception("the app failed to start; the next call tries again")
        return self.hosted

    def __call__(self, ctx: Any, data: Any = None) -> Any:
        gateway = _lookup(ctx.Headers(), "fn-intent") == "httprequest"
        hosted = self._start()
        if hosted is None:
            response = INTERNAL_ERROR
        else:
            try:
                request = _request(ctx, data, gateway, self.base_path)
            except _MALFORMED as exc:
                log_bad_event(None, SOURCE, exc)
                response = BAD_REQUEST
            else:
                response = self._thread.submit(hosted.respond, request, SOURCE).result()
        # A direct invoke gets only 200, 502 or 504 through (the fdk's rule):
        # there, a failure still reads as one.
        status = response.status if gateway else 502 if response.status >= 500 else 200
        if self._fdk_response is None:
            self._fdk_response = importlib.import_module("fdk.response")
        return self._fdk_response.Response(
            ctx,
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
            if lowered in _NOT_FORWARDED or lowered.startswith("fn-"):
                continue
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
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

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once, on its thread; see :meth:`HostedApp.close`."""
        hosted = self.hosted
        if hosted is not None:
            try:
                self._thread.submit(hosted.close, timeout).result()
            except RuntimeError:  # the thread is gone (interpreter exit)
                hosted.close(timeout)
        self._thread.shutdown()


def handler(app: Any, **options: Any) -> FnHandler:
    """The fdk handler for ``app``, a WSGI or ASGI 3 app (detected).

    Options: ``base_path`` (a prefix of the request path that is not the
    app's, such as the Fn server's ``/t/<app>`` or an API deployment's path
    prefix: moved from the path into the app's root path, so that routes match
    without it and links keep it), and those of
    :class:`~faasify.adapters.hosted.HostedApp` (``kind``, ``lifespan``,
    ``on_startup``, ``on_shutdown``, ``shutdown_timeout``, ``handle_signals``).
    """
    return FnHandler(app, **options)
