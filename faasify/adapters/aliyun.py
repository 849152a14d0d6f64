"""Alibaba Cloud Function Compute: HTTP triggers on FC 2.0 and on FC 3.0.

The two generations hand an HTTP request to a Python function in different
ways, so there are two factories, both building one :class:`HostedApp` per
instance:

- :func:`http_handler` for FC 2.0 *HTTP functions*: the Python runtime calls
  ``handler(environ, start_response)`` WSGI-style. Its environ is not quite
  PEP 3333 (the path may still be percent-encoded and lies below
  ``/2016-08-15/proxy/<service>/<function>`` on the default endpoint, repeated
  headers are joined with ``,``, ``CONTENT_TYPE`` defaults to
  ``application/octet-stream``, and the process environment is merged in), so
  the environ is read back into a neutral request and the app, WSGI or ASGI,
  gets a clean one.
- :func:`event_handler` for FC 3.0 built-in runtimes: an HTTP trigger invokes
  an event function with the request as JSON (``version: "v1"``, ``rawPath``,
  ``headers``, ``queryParameters``, ``body``, ``isBase64Encoded``,
  ``requestContext``) and maps the returned ``statusCode``/``headers``/
  ``body``/``isBase64Encoded`` object back to the client.

Neither needs an Alibaba SDK: the runtime objects (the context) are passed on
to the app untouched.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from faasify._exceptions import MalformedEventError
from faasify.adapters.aws.codecs._maps import (
    query_string,
    response_headers_single,
    status_description,
)
from faasify.core.body import (
    TextTypes,
    content_headers,
    decode_event_body,
    encode_response_body,
)
from faasify.core.headers import check_text
from faasify.core.hosted import HostedApp, detect_app_kind
from faasify.core.http import Request, Response
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode, check_text_mime_types
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path, split_root
from faasify.core.types import StartResponse, WSGIApp, WSGIEnviron

__all__ = [
    "FC2Codec",
    "FC3Codec",
    "FCEventHandler",
    "FCHttpHandler",
    "event_handler",
    "http_handler",
    "request_from_environ",
    "request_from_event",
]

logger = logging.getLogger(__name__)

HTTP_SOURCE = "aliyun-fc2-http"
EVENT_SOURCE = "aliyun-fc3-http"

# Environ keys the FC 2.0 runtime adds beside the request: copied into the
# clean environ a WSGI app gets, so that code written for FC keeps working.
_FC_KEYS = ("fc.context", "fc.request_uri")
# HTTP_* keys that are not request headers: the runtime's own handler name,
# and Proxy, which no client may set for the app (httpoxy).
_NOT_HEADERS = frozenset({"HTTP_X_FC_FUNCTION_HANDLER", "HTTP_PROXY"})
# What the FC 2.0 runtime puts in CONTENT_TYPE when the client sent none.
_RUNTIME_CONTENT_TYPE = "application/octet-stream"
# Response headers Function Compute reserves (its "HTTP Response limits"), and
# framing headers that mean nothing once the body is buffered.
_RESERVED = frozenset(
    {"connection", "keep-alive", "content-length", "date", "server", "transfer-encoding"}
)
# A comma that starts another cookie ("a=1,b=2"): FC joins repeated Cookie
# lines (HTTP/2 sends each cookie as one) with ",", which RFC 6265 never
# allows inside a cookie, so it is turned back into "; ".
_COOKIE_JOIN = re.compile(r",\s*(?=[^=;,\s]+=)")


def _response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The app's headers less the ones Function Compute does not accept."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in _RESERVED and not name.lower().startswith("x-fc-")
    ]


def _fix_cookie(value: str) -> str:
    return _COOKIE_JOIN.sub("; ", value) if "," in value else value


def _with_base_path(root: str, path: str, base_path: str) -> str:
    """``root`` extended by ``base_path`` when the (decoded) path lies below it."""
    if base_path:
        below = path[len(root) :] if root and path.startswith(root) else path
        if split_root(below, base_path) is not None:
            return root + base_path
    return root


# -- FC 2.0: the WSGI-style HTTP handler ---------------------------------------------


def _keep_fc_keys(app: WSGIApp) -> WSGIApp:
    """``app`` with FC's own environ keys copied into the environ it receives."""

    def app_with_fc_keys(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        original = environ.get("faasify.event")
        if isinstance(original, dict):
            for key in _FC_KEYS:
                if key in original:
                    environ[key] = original[key]
        return app(environ, start_response)

    return app_with_fc_keys


def _split_path(path_info: str, request_uri: str) -> tuple[str, bool, str]:
    """``(full path, still encoded?, decoded root)`` from FC 2.0's two paths.

    ``fc.request_uri`` is the URI the client asked for, encoded, with the
    ``/2016-08-15/proxy/<service>/<function>`` prefix on the default endpoint;
    ``PATH_INFO`` is the part below the function. Whatever the URI has in
    front of ``PATH_INFO`` is the root, so that links include it.
    """
    uri_path = request_uri.partition("?")[0]
    if uri_path:
        if uri_path.endswith(path_info):
            root = uri_path[: len(uri_path) - len(path_info)]
            return uri_path, True, unquote(root)
        decoded = unquote(uri_path)
        if decoded.endswith(path_info):
            return decoded, False, decoded[: len(decoded) - len(path_info)]
        if path_info == "/" and uri_path.startswith("/"):
            # ".../proxy/svc/func" without the slash: FC calls that "/".
            return uri_path + "/", True, unquote(uri_path)
    # No URI to compare with: FC passes the path as the client sent it.
    return path_info, path_info.isascii(), ""


def _read_body(environ: Mapping[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if stream is None:
        return b""
    try:
        size = int(length) if length else None
    except ValueError:
        raise MalformedEventError(
            f"CONTENT_LENGTH is not a number: {length!r}", field="CONTENT_LENGTH"
        ) from None
    if size is None and length is not None:  # CONTENT_LENGTH is "": no body
        return b""
    body = stream.read() if size is None else stream.read(size)
    if not isinstance(body, bytes):
        raise MalformedEventError("wsgi.input must give bytes", field="wsgi.input")
    return body


def request_from_environ(environ: Mapping[str, Any], base_path: str = "") -> Request:
    """The neutral request an FC 2.0 runtime's environ describes.

    Raises :class:`~faasify.MalformedEventError` for an environ that lacks
    the request method or carries values of the wrong type.
    """
    method = check_text(environ.get("REQUEST_METHOD"), "REQUEST_METHOD")
    path_info = check_text(environ.get("PATH_INFO") or "/", "PATH_INFO")
    request_uri = check_text(environ.get("fc.request_uri") or "", "fc.request_uri")
    full, encoded, root = _split_path(path_info, request_uri)
    decoded = unquote(full) if encoded else full
    if root and (root.endswith("/") or not root.startswith("/")):
        root = ""
    root = _with_base_path(root, decoded, base_path)

    body = _read_body(environ)

    headers: list[tuple[str, str]] = []
    process_env = os.environ
    for key, value in environ.items():
        if not key.startswith("HTTP_") or key in _NOT_HEADERS or type(value) is not str:
            continue
        if key == "HTTP_CONTENT_LENGTH" or process_env.get(key) == value:
            # The length is the runtime's; an HTTP_* equal to the process's own
            # variable came from os.environ, which the runtime merges in.
            continue
        name = key[5:].replace("_", "-").lower()
        headers.append((name, _fix_cookie(value) if name == "cookie" else value))
    content_type = environ.get("CONTENT_TYPE")
    if content_type and (body or content_type != _RUNTIME_CONTENT_TYPE):
        headers.append(("content-type", check_text(content_type, "CONTENT_TYPE")))

    query = environ.get("QUERY_STRING")
    if query is None:
        query = request_uri.partition("?")[2]
    client = environ.get("REMOTE_ADDR")
    return request_from_parts(
        method,
        full,
        check_text(query, "QUERY_STRING"),
        headers,
        body,
        path_is_encoded=encoded,
        base_path=root,
        client_ip=client if isinstance(client, str) and client else None,
        event=environ,
        context=environ.get("fc.context"),
    )


class FC2Codec:
    """The FC 2.0 runtime's environ in; ``start_response`` called and the body out."""

    source = HTTP_SOURCE

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path

    def decode(self, event: WSGIEnviron, context: Any) -> Request:
        return request_from_environ(event, self._base_path)

    def encode(self, response: Response, event: Any, context: StartResponse) -> list[bytes]:
        context(status_description(response.status), _response_headers(response.headers))
        return [response.body]


class FCHttpHandler:
    """``handler(environ, start_response)`` for an FC 2.0 HTTP function.

    Build it at module scope (``handler = http_handler(app)``): FC imports the
    module once per instance, so the app's startup runs once. See
    :func:`http_handler` for the options.
    """

    def __init__(self, app: Any, base_path: str, options: AppOptions) -> None:
        self.base_path = base_path
        if options.kind == "auto":
            options = _with_kind(options, detect_app_kind(app))
        wrapped = _keep_fc_keys(app) if options.kind == "wsgi" else app
        self.hosted = HostedApp(wrapped, options)
        self.app = app
        self.kind = self.hosted.kind
        self._loop = RequestLoop(self.hosted, codec=FC2Codec(base_path))

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        result: list[bytes] = self._loop(environ, start_response)
        return result

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once; see :meth:`HostedApp.close`."""
        self.hosted.close(timeout)


def _with_kind(options: AppOptions, kind: AppKind) -> AppOptions:
    return AppOptions(
        kind=kind,
        lifespan=options.lifespan,
        on_startup=options.on_startup,
        on_shutdown=options.on_shutdown,
        shutdown_timeout=options.shutdown_timeout,
        handle_signals=options.handle_signals,
    )


def http_handler(
    app: Any,
    *,
    base_path: str = "",
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> FCHttpHandler:
    """The FC 2.0 HTTP-function handler for ``app``, a WSGI or ASGI 3 app.

    Set the function's handler to ``module.handler`` with
    ``handler = http_handler(app)`` at module scope. ``base_path`` is a custom
    domain's prefix to move into the root path; the other options are those
    of :func:`faasify.handler`.
    """
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    return FCHttpHandler(app, check_base_path(base_path), options)


# -- FC 3.0: the HTTP trigger event --------------------------------------------------


def _load_event(event: Any) -> dict[str, Any]:
    """The event as a dict: FC passes the JSON as bytes (str on old runtimes)."""
    try:
        if isinstance(event, (bytes, bytearray)):
            event = json.loads(bytes(event).decode("utf-8"))
        elif isinstance(event, str):
            event = json.loads(event)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedEventError(f"the event is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedEventError(f"the event must be a JSON object, not {type(event).__name__}")
    return event


def _event_headers(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    headers: list[tuple[str, str]] = []
    for name, value in raw.items():
        lowered = check_text(name, "a header name").lower()
        values = value if isinstance(value, list) else (value,)
        for item in values:
            item = check_text(item, f"header {name!r}")
            headers.append((lowered, _fix_cookie(item) if lowered == "cookie" else item))
    return headers


def _query(parameters: Any) -> bytes:
    try:
        return query_string(parameters, None, decoded=True)
    except (AttributeError, TypeError) as exc:
        raise MalformedEventError(
            f"queryParameters must map names to strings: {exc}", field="queryParameters"
        ) from None


def request_from_event(event: Any, context: Any = None, base_path: str = "") -> Request:
    """The neutral request an FC 3.0 HTTP trigger event describes.

    ``rawPath`` is the encoded path (``requestContext.http.path`` the decoded
    one, used when ``rawPath`` is missing); ``queryParameters`` holds decoded
    values, a repeated key's values joined with ``,``; header values likewise.
    Raises :class:`~faasify.MalformedEventError` for anything else.
    """
    data = _load_event(event)
    context_block = data.get("requestContext")
    http = context_block.get("http") if isinstance(context_block, dict) else None
    if not isinstance(http, dict):
        raise MalformedEventError(
            "requestContext.http must be a JSON object", field="requestContext.http"
        )
    method = check_text(http.get("method"), "requestContext.http.method")
    raw_path = data.get("rawPath")
    if raw_path:
        path, encoded = check_text(raw_path, "rawPath"), True
    else:
        path, encoded = check_text(http.get("path") or "/", "requestContext.http.path"), False
    headers = _event_headers(data.get("headers"))
    if not any(name == "host" for name, _ in headers):
        domain = context_block.get("domainName") if isinstance(context_block, dict) else None
        if isinstance(domain, str) and domain:
            headers.append(("host", domain))
    body = decode_event_body(data.get("body"), data.get("isBase64Encoded"))
    decoded = unquote(path) if encoded else path
    source_ip = http.get("sourceIp")
    return request_from_parts(
        method,
        path,
        _query(data.get("queryParameters")),
        headers,
        body,
        path_is_encoded=encoded,
        base_path=_with_base_path("", decoded, base_path),
        client_ip=source_ip if isinstance(source_ip, str) and source_ip else None,
        event=data,
        context=context,
    )


class FC3Codec:
    """An FC 3.0 HTTP trigger event in; the ``statusCode``/``headers``/``body`` object out."""

    source = EVENT_SOURCE

    def __init__(self, base_path: str, text_types: TextTypes) -> None:
        self._base_path = base_path
        self._text_types = text_types

    def decode(self, event: Any, context: Any) -> Request:
        return request_from_event(event, context, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        headers = _response_headers(response.headers)
        content_type, content_encoding = content_headers(headers)
        body, is_base64 = encode_response_body(
            response.body, content_type, content_encoding, self._text_types
        )
        return {
            "statusCode": response.status,
            "headers": response_headers_single(headers),
            "isBase64Encoded": is_base64,
            "body": body,
        }


class FCEventHandler:
    """``handler(event, context)`` for an FC 3.0 function behind an HTTP trigger.

    Build it at module scope (``handler = event_handler(app)``). See
    :func:`event_handler` for the options.
    """

    def __init__(
        self, app: Any, base_path: str, text_types: TextTypes, options: AppOptions
    ) -> None:
        self.base_path = base_path
        self.hosted = HostedApp(app, options)
        self.app = app
        self.kind = self.hosted.kind
        self._loop = RequestLoop(self.hosted, codec=FC3Codec(base_path, text_types))

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self._loop(event, context)
        return result

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once; see :meth:`HostedApp.close`."""
        self.hosted.close(timeout)


def event_handler(
    app: Any,
    *,
    base_path: str = "",
    text_mime_types: Iterable[str] = (),
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> FCEventHandler:
    """The FC 3.0 event handler for ``app``, a WSGI or ASGI 3 app behind an HTTP trigger.

    Set the function's handler to ``module.handler`` with
    ``handler = event_handler(app)`` at module scope. ``base_path`` and
    ``text_mime_types`` are as for :func:`faasify.handler`, like the other
    options.
    """
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    text_types = TextTypes(check_text_mime_types(text_mime_types))
    return FCEventHandler(app, check_base_path(base_path), text_types, options)
