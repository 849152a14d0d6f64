"""OpenFaaS: the ``python3-http`` template and the classic watchdog.

OpenFaaS runs a function in one of two ways, and each gets an entry point here:

* :func:`http_handler` serves the ``python3-http`` template (of-watchdog in
  HTTP mode). The template's ``index.py`` is a Flask app served by waitress; for
  every request it builds an ``event`` from Flask's ``request`` (``body`` bytes,
  ``headers``, ``method``, ``query`` already decoded, ``path`` already decoded)
  and calls ``handler.handle(event, context)`` in the function's package. The
  process lives on between requests, so the app is built once.
* :func:`run_classic` is the ``main()`` of a process that the classic watchdog
  forks for each request: the body on stdin, the method, path, query and
  headers in ``Http_*`` environment variables, the response body on stdout.
  The watchdog answers 200 with what the process printed, or 500 if it exited
  non-zero; it has no way to carry the app's headers or any other status.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, TypeAlias
from urllib.parse import urlencode

from faasify._exceptions import MalformedEventError
from faasify.core.headers import HOP_BY_HOP, safe_response_header
from faasify.core.hosted import HostedApp
from faasify.core.http import Request, Response
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path

__all__ = [
    "ClassicCodec",
    "OpenFaaSHandler",
    "TemplateCodec",
    "TemplateResult",
    "http_handler",
    "run_classic",
]

logger = logging.getLogger(__name__)

HTTP_SOURCE = "openfaas"
CLASSIC_SOURCE = "openfaas-classic"

# Variables the classic watchdog sets that are not request headers. The header
# loop in its handler.go writes ``Http_<Name>`` for every header, then these.
_CLASSIC_META = frozenset({"Http_Method", "Http_Path", "Http_Query", "Http_ContentLength"})


class _ResponseHeaders(dict[str, list[str]]):
    """Response headers for the template: each name with all of its values.

    A subclass on purpose. The template turns an exact ``dict`` into
    ``(name, value)`` pairs, and Flask would then write a list value as its
    ``repr``; any other mapping it hands to Flask unchanged, and werkzeug
    writes one header line per list item, which repeated Set-Cookie needs.
    """


#: What :class:`OpenFaaSHandler` returns to the template: the template's own
#: dict for a UTF-8 body, or a ``(bytes, status, headers)`` tuple, which the
#: template passes to Flask as it is, for any other body.
TemplateResult: TypeAlias = dict[str, Any] | tuple[bytes, int, _ResponseHeaders]


def _pairs(headers: Any) -> Iterator[tuple[Any, Any]]:
    """Header pairs from a mapping or an iterable of pairs; list values expand."""
    if headers is None:
        return
    for name, value in headers.items() if hasattr(headers, "items") else headers:
        if isinstance(value, list | tuple):
            for item in value:
                yield name, item
        else:
            yield name, value


def _response_pairs(response: Response) -> Iterator[tuple[str, str]]:
    """The app's response headers that may travel on, with the app's casing."""
    for name, value in response.headers:
        if name.lower() in HOP_BY_HOP:
            continue
        if not safe_response_header(name, value):
            logger.warning("dropped response header %r: line breaks in a header", name)
            continue
        yield name, value


# -- of-watchdog HTTP mode: the python3-http template -------------------------


def _wire_query(query: Any) -> str:
    """A query string from the template's ``event.query``.

    The template gives Flask's ``request.args``: decoded, a MultiDict. Encoding
    it again yields an equivalent query (``%20`` may come back as ``+``, a bare
    ``?flag`` as ``flag=``). A string is taken as already encoded.
    """
    if not query:
        return ""
    if isinstance(query, bytes):
        return query.decode("latin-1")
    if isinstance(query, str):
        return query.removeprefix("?")
    try:
        items = query.items(multi=True)  # werkzeug: every value of a repeated key
    except TypeError:
        items = query.items()
    pairs = list(_pairs(items))
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            raise MalformedEventError("query keys and values must be strings", field="query")
    return urlencode(pairs)


def _template_request(event: Any, context: Any, base_path: str) -> Request:
    body = event.body
    if body is None:
        body = b""
    elif isinstance(body, str):
        try:
            body = body.encode()
        except UnicodeEncodeError:
            raise MalformedEventError("event.body is not text", field="body") from None
    elif isinstance(body, bytearray | memoryview):
        body = bytes(body)
    elif not isinstance(body, bytes):
        raise MalformedEventError(
            f"event.body must be bytes, not {type(body).__name__}", field="body"
        )
    # The gateway has removed /function/<name>: the root keeps it for links.
    return request_from_parts(
        event.method,
        event.path or "/",
        _wire_query(event.query),
        _pairs(event.headers),
        body,
        path_is_encoded=False,  # Flask's request.path is decoded
        base_path=base_path,
        stripped_upstream=True,
        event=event,
        context=context,
    )


def _template_result(response: Response) -> TemplateResult:
    """The app's response in the form the template hands to Flask intact.

    The template sends a dict's ``body`` through ``str()``: right for text,
    ``"b'...'"`` for bytes. So a UTF-8 body goes as the dict, as text that
    Flask encodes back to the same bytes; any other body goes as the tuple,
    which the template returns to Flask untouched.
    """
    headers = _ResponseHeaders()
    for name, value in _response_pairs(response):
        headers.setdefault(name, []).append(value)
    try:
        text = response.body.decode("utf-8")
    except UnicodeDecodeError:
        return (response.body, response.status, headers)
    return {"statusCode": response.status, "body": text, "headers": headers}


class TemplateCodec:
    """The template's ``event`` in, what the template hands to Flask out."""

    source = HTTP_SOURCE

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path

    def decode(self, event: Any, context: Any) -> Request:
        return _template_request(event, context, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> TemplateResult:
        return _template_result(response)


class OpenFaaSHandler:
    """The ``handle(event, context)`` of the ``python3-http`` template, for one app.

    Build it once, at module scope of the function's ``handler.py``
    (``handle = http_handler(app)``): the template imports that module once per
    process, so the app starts once and serves every request after.
    """

    def __init__(self, app: Any, base_path: str, options: AppOptions) -> None:
        self.base_path = base_path
        self.hosted = HostedApp(app, options)
        # waitress calls the template from several threads at once; a WSGI app
        # runs concurrently, an ASGI app takes turns on the instance's one loop.
        self._loop = RequestLoop(self.hosted, codec=TemplateCodec(base_path), threads=True)

    def __call__(self, event: Any, context: Any = None) -> TemplateResult:
        result: TemplateResult = self._loop(event, context)
        return result

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once; see :meth:`HostedApp.close`."""
        self.hosted.close(timeout)


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
) -> OpenFaaSHandler:
    """The ``handle(event, context)`` function for the ``python3-http`` template.

    ``app`` is a WSGI or ASGI 3 app (detected). ``base_path`` is a prefix in
    front of the app's routes, such as ``/function/<name>``: the app gets it as
    its root path, so that its links include it, and it is removed from the
    path if still there (the gateway has already removed ``/function/<name>``).
    The other options are those of :func:`faasify.handler`.
    """
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    return OpenFaaSHandler(app, check_base_path(base_path), options)


# -- classic watchdog: one process per request ---------------------------------


def _classic_request(environ: Mapping[str, str], body: bytes, base_path: str) -> Request:
    """The request the classic watchdog passed in ``Http_*`` variables.

    It writes ``Http_`` plus the header's canonical name with ``-`` turned
    into ``_`` (``Http_X_Forwarded_For``), and only the first value of a
    repeated header; ``Http_Path`` is decoded, ``Http_Query`` is as sent.
    """
    method = environ.get("Http_Method") or "POST"
    path = environ.get("Http_Path") or "/"
    query = environ.get("Http_Query", "")
    pairs = [
        (key[5:].replace("_", "-"), value)
        for key, value in environ.items()
        if key.startswith("Http_") and key not in _CLASSIC_META
    ]
    return request_from_parts(
        method,
        path,
        query,
        pairs,
        body,
        path_is_encoded=False,
        base_path=base_path,
        stripped_upstream=True,
    )


class ClassicCodec:
    """The watchdog's ``Http_*`` variables and stdin in; the response itself out,
    for :func:`run_classic` to write the body to stdout."""

    source = CLASSIC_SOURCE

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path

    def decode(self, event: tuple[Mapping[str, str], bytes], context: Any) -> Request:
        environ, body = event
        return _classic_request(environ, body, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> Response:
        return response


def _output_combined(environ: Mapping[str, str]) -> bool:
    """Whether the watchdog puts stderr into the response (``combine_output``).

    It is on unless set to something other than ``true`` (readconfig.go).
    """
    return environ.get("combine_output", "") in ("", "true")


def _claim_stdout(combined: bool) -> IO[bytes]:
    """Keep the real stdout for the body alone; send stray output elsewhere.

    Whatever the app or a library prints would otherwise become part of the
    response. Stray stdout goes to stderr, which the watchdog logs; when the
    watchdog combines stderr into the response, both go to ``/dev/null``, so
    that no log line or traceback can reach the client.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    body = os.fdopen(os.dup(1), "wb")
    if combined:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    os.dup2(2, 1)
    return body


def run_classic(
    app: Any,
    *,
    base_path: str = "",
    exit_on_error: bool = True,
    environ: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> int:
    """Answer the one request of a classic-watchdog process; return the exit status.

    Use it as the function process's main:
    ``raise SystemExit(run_classic(app))``. The app starts (lifespan,
    ``on_startup``), answers the request read from ``environ`` (default
    ``os.environ``) and ``stdin``, writes the response body to ``stdout``, and
    shuts down. With ``exit_on_error``, a 5xx response exits with status 1 so
    that the watchdog answers 500: the only other status it can send.

    When ``stdout`` is not given, the process's stdout is kept for the body and
    stray output is redirected (see :func:`_claim_stdout`). ``base_path`` is as
    for :func:`http_handler`; the other options are those of :func:`faasify.handler`.
    """
    options = AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
    codec = ClassicCodec(check_base_path(base_path))
    env: Mapping[str, str] = os.environ if environ is None else environ
    out = _claim_stdout(_output_combined(env)) if stdout is None else stdout
    body = (sys.stdin.buffer if stdin is None else stdin).read()
    loop = RequestLoop(lambda: HostedApp(app, options), codec=codec)
    response: Response = loop((env, body), None)
    out.write(response.body)
    out.flush()
    loop.close()
    return 1 if exit_on_error and response.status >= 500 else 0
