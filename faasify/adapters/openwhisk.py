"""Apache OpenWhisk and DigitalOcean Functions: web actions.

A *raw* web action (``wsk action create ... --web raw``; ``web: raw`` in a
DigitalOcean ``project.yml``) receives the HTTP request as parameters of its
one argument, and answers with ``statusCode``, ``headers`` and ``body``:

- OpenWhisk: ``__ow_method`` (lower case), ``__ow_path`` (what follows the
  action's name in the URL, ``""`` for its root), ``__ow_headers`` (lower-case
  names), ``__ow_query`` (the query as it came) and ``__ow_body``, base64 when
  the controller takes the body's media type for binary. Its rule, read from
  the controller: everything is binary except ``text/*``, the application types
  with a charset (JavaScript, XML, form data, ...) and custom types that name a
  charset, and ``application/json`` is base64 all the same.
- DigitalOcean: the same, or an ``http`` block (``method``, ``path``,
  ``headers``, ``queryString``, ``body``, ``isBase64Encoded``) whose flag says
  how the body came.

A web action that is not raw gets its query and JSON body merged into its
arguments, where they cannot be told apart; faasify refuses such a request
with a 400 that says to deploy the action raw.

The answer's body goes as text for text media types and as base64 for the
rest, which the controller decodes; a JSON body goes as base64 too, which the
controller decodes for JSON ever since it took base64 JSON bodies, so that a
JSON text that happens to look like base64 (``"true"``) cannot be mangled.
Repeated headers, ``Set-Cookie`` among them, go as a list under one name.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterable
from typing import Any

from faasify._exceptions import MalformedEventError
from faasify.adapters._event_function import EventFunction, app_options
from faasify.core.body import content_headers, decode_event_body
from faasify.core.headers import check_text
from faasify.core.http import Request, Response
from faasify.core.options import AppKind, Hook, LifespanMode
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path

__all__ = [
    "OpenWhiskCodec",
    "WebAction",
    "controller_sends_text",
    "handler",
    "request_from_params",
]

#: The front door's name in faasify's log lines.
SOURCE = "openwhisk"

WebAction = EventFunction

# Application types the controller (akka-http) treats as text: those with an
# open or a fixed charset among its registered types.
_TEXT_APPLICATION_TYPES = frozenset(
    {
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/xhtml+xml",
        "application/xml-dtd",
        "application/atom+xml",
        "application/rss+xml",
        "application/soap+xml",
        "application/vnd.api+json",
    }
)
_NOT_RAW = (
    "the web action is not raw: its query and body were merged into its parameters; "
    "deploy it with --web raw (web: raw in DigitalOcean's project.yml)"
)


def _mime(content_type: str) -> tuple[str, bool]:
    """``(type/subtype, names a charset?)`` from a Content-Type value."""
    mime, _, parameters = content_type.partition(";")
    return mime.strip().lower(), "charset=" in parameters.lower()


def controller_sends_text(content_type: str) -> bool:
    """Whether the controller passes a body of this type as text (not base64)."""
    if not content_type:
        return False  # no type: application/octet-stream
    mime, charset = _mime(content_type)
    if mime == "application/json":
        return False  # base64, "for legacy", as the controller says
    return mime.startswith("text/") or mime in _TEXT_APPLICATION_TYPES or charset


def _header_pairs(raw: Any, field: str) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise MalformedEventError(f"{field} must be a JSON object", field=field, source=SOURCE)
    return [
        (check_text(k, f"a name in {field}"), check_text(v, f"{field}[{k!r}]"))
        for k, v in raw.items()
    ]


def request_from_params(params: Any, context: Any = None, base_path: str = "") -> Request:
    """The request a raw web action's parameters (OpenWhisk or DigitalOcean) describe.

    Raises :class:`~faasify.MalformedEventError` for parameters that are not
    a raw web action's.
    """
    if not isinstance(params, dict):
        raise MalformedEventError(
            f"the parameters must be a JSON object, not {type(params).__name__}", source=SOURCE
        )
    http = params.get("http")
    if isinstance(http, dict):
        method, path = http.get("method"), http.get("path")
        query, body_field = http.get("queryString"), "http.body"
        headers = _header_pairs(http.get("headers"), "http.headers")
        raw_body, flag = http.get("body"), http.get("isBase64Encoded")
    else:
        method, path = params.get("__ow_method"), params.get("__ow_path")
        query, body_field = params.get("__ow_query"), "__ow_body"
        headers = _header_pairs(params.get("__ow_headers"), "__ow_headers")
        raw_body, flag = params.get("__ow_body"), params.get("__ow_isBase64Encoded")
        if method is not None and query is None:
            raise MalformedEventError(_NOT_RAW, field="__ow_query", source=SOURCE)
    if method is None:
        raise MalformedEventError(
            "no __ow_method: the action was not called as a web action",
            field="__ow_method",
            source=SOURCE,
        )
    if flag is None and raw_body:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        flag = not controller_sends_text(content_type)
    try:
        body = decode_event_body(raw_body, flag)
    except MalformedEventError as exc:
        raise MalformedEventError(str(exc), field=body_field, source=SOURCE) from None
    path = check_text(path or "/", "__ow_path")
    if not path.startswith("/"):
        path = "/" + path
    return request_from_parts(
        method,
        path,
        check_text(query or "", "__ow_query"),
        headers,
        body,
        base_path=base_path,
        stripped_upstream=bool(base_path),
        event=params,
        context=context,
    )


class OpenWhiskCodec:
    """A raw web action's parameters in; ``statusCode``/``headers``/``body`` out."""

    source = SOURCE

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path

    def decode(self, event: Any, context: Any) -> Request:
        return request_from_params(event, context, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> dict[str, Any]:
        headers: dict[str, str | list[str]] = {}
        pairs = [
            (n, v)
            for n, v in response.headers
            if n.lower() not in ("content-length", "transfer-encoding", "connection")
        ]
        for name, value in pairs:
            found = headers.get(name)
            if found is None:
                headers[name] = value
            elif isinstance(found, list):
                found.append(value)
            else:
                headers[name] = [found, value]
        result: dict[str, Any] = {"statusCode": response.status, "headers": headers}
        body = response.body
        if not body:
            result["body"] = ""
            return result
        content_type, encoding = content_headers(pairs)
        mime, _ = _mime(content_type)
        textual = (
            content_type
            and not (encoding and encoding.strip().lower() not in ("", "identity"))
            and mime != "application/json"
            and not mime.endswith("+json")
            and controller_sends_text(content_type)
        )
        if textual:
            try:
                result["body"] = body.decode("utf-8")
                return result
            except UnicodeDecodeError:
                pass
        if not content_type:
            # The controller would take an untyped body for text/html.
            headers["Content-Type"] = "application/octet-stream"
        result["body"] = b64encode(body).decode("ascii")
        return result


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
) -> WebAction:
    """The raw web action's ``main`` for ``app``, a WSGI or ASGI 3 app.

    ``main = faasify.adapters.openwhisk.handler(app)`` at module scope. The
    action sees only the path below its own URL (``/api/v1/web/<namespace>/
    <package>/<action>``): give that prefix as ``base_path`` for links that
    work from the client's URL. Which bodies go as text is the controller's
    rule (see the module's docstring), so there is no ``text_mime_types``; the
    other options are :func:`faasify.handler`'s.
    """
    options = app_options(kind, lifespan, on_startup, on_shutdown, shutdown_timeout, handle_signals)
    return EventFunction(app, OpenWhiskCodec(check_base_path(base_path)), options)
