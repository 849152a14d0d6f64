"""The constructors of mangum and apig-wsgi, answered by faasify's handler.

A function moving to faasify can change one import and keep its call:

```python
from faasify.compat import Mangum                  # was: from mangum import Mangum
lambda_handler = Mangum(app, lifespan="auto", api_gateway_base_path="/api")

from faasify.compat import make_lambda_handler     # was: from apig_wsgi import ...
lambda_handler = make_lambda_handler(app, binary_support=True)
```

Each option is mapped onto :func:`faasify.handler`'s options. Where faasify
behaves differently it says so here and in the migration guides. An option it
has no equivalent for raises (``custom_handlers``; a media type written as a
prefix, ending in ``/``, ``.``, ``-`` or ``+``, other than ``text/``) or warns
(``binary_support=False``; a media type that looks cut short of longer ones,
see :func:`_text_types`) rather than being ignored. The result is a plain
:class:`~faasify.adapters.aws.handler.LambdaHandler`, so faasify's own options
(``on_startup``, ``shutdown_timeout``, ...) may be passed as keywords too.
"""

from __future__ import annotations

import functools
import mimetypes
import warnings
from collections.abc import Iterable
from typing import Any, Literal

from faasify.adapters.aws.handler import LambdaHandler
from faasify.core.body import DEFAULT_TEXT_MIME_TYPES, TextTypes
from faasify.core.types import StartResponse, WSGIApp, WSGIEnviron

__all__ = ["Mangum", "make_lambda_handler"]


#: Registration trees: ``application/vnd`` alone names no media type.
_TREES = frozenset({"vnd", "prs", "x"})


@functools.cache
def _known_types() -> frozenset[str]:
    """Media types known here: faasify's text types and Python's built-in table.

    Only the table shipped with Python (not the machine's ``/etc/mime.types``),
    so the same arguments warn alike everywhere a given Python runs.
    """
    table = mimetypes.MimeTypes()
    return (
        DEFAULT_TEXT_MIME_TYPES
        | set(table.types_map[True].values())
        | set(table.types_map[False].values())
    )


def _cut_short(media: str) -> list[str]:
    """Binary types that ``media`` is the start of, if it looks cut short; else ``[]``.

    The rule: ``media`` is not itself a known type, and either its subtype is a
    registration tree alone (``application/vnd``, ``application/x``) or a known
    type continues it after a ``.``, ``+`` or ``-`` (``application/vnd.ms`` of
    ``application/vnd.ms-excel``). Longer types faasify sends as text anyway
    (``image/svg`` of ``image/svg+xml``) do not count: nothing changes for them.
    """
    known = _known_types()
    if media in known:
        return []
    text = TextTypes()
    longer = sorted(
        other
        for other in known
        if other[len(media) : len(media) + 1] in (".", "+", "-")
        and other.startswith(media)
        and not text.is_text(other)
    )
    if longer or media.partition("/")[2] not in _TREES:
        return longer
    return [f"{media}.*"]


def _text_types(values: Iterable[str] | None, option: str) -> tuple[str, ...]:
    """The exact media types among ``values``; ``text/`` prefixes are dropped.

    mangum matches these as substrings of the Content-Type and apig-wsgi as
    prefixes; faasify matches exact media types (parameters ignored) and treats
    every ``text/*``, JSON, XML and ``+json``/``+xml``/``+yaml`` type as text
    already. A value written as a prefix (ending in ``/``, ``.``, ``-`` or
    ``+``) cannot be expressed, and guessing would send binary bodies as text,
    so it is refused with :class:`ValueError`. A value that reads as a whole
    type is taken as one, exactly; when it looks cut short of longer types (see
    :func:`_cut_short`: ``application/vnd``, ``application/vnd.ms``) a
    :class:`UserWarning` says that those longer types are not matched.
    """
    exact: list[str] = []
    for value in values or ():
        media = value.strip().lower()
        if media in ("text/", "text/*"):
            continue
        kind, _, subtype = media.partition("/")
        if not kind or not subtype or not subtype[-1].isalnum():
            raise ValueError(
                f"{option}: {value!r} is a prefix, not a media type; faasify sends "
                "text/* as text already and matches other types exactly: list each "
                "full type (for example 'application/vnd.api+json')"
            )
        longer = [] if kind == "text" else _cut_short(media)
        if longer:
            warnings.warn(
                f"{option}: {value!r} looks cut short: mangum and apig-wsgi match it "
                f"in longer media types ({', '.join(longer[:3])}"
                f"{', ...' if len(longer) > 3 else ''}), but faasify matches media types "
                f"exactly, so it applies to a Content-Type of exactly {media!r} only; "
                "list each full type to send as text",
                UserWarning,
                stacklevel=3,
            )
        exact.append(media)
    return tuple(exact)


def _excluding(result: Any, names: frozenset[str]) -> Any:
    """``result`` without the response headers named in ``names`` (lower case)."""
    if not isinstance(result, dict):
        return result
    for key in ("headers", "multiValueHeaders"):
        headers = result.get(key)
        if headers:
            result[key] = {k: v for k, v in headers.items() if k.lower() not in names}
    if "set-cookie" in names:
        result.pop("cookies", None)
    return result


class _ExcludingHandler(LambdaHandler):
    """A handler that drops some response headers, for mangum's ``exclude_headers``."""

    def __init__(self, app: Any, exclude_headers: frozenset[str], **options: Any) -> None:
        super().__init__(app, **options)
        self.exclude_headers = exclude_headers

    def __call__(self, event: Any, context: Any = None) -> Any:
        return _excluding(super().__call__(event, context), self.exclude_headers)


def Mangum(  # named like the class it replaces
    app: Any,
    lifespan: Literal["auto", "on", "off"] = "auto",
    api_gateway_base_path: str = "/",
    custom_handlers: list[Any] | None = None,
    text_mime_types: list[str] | None = None,
    exclude_headers: list[str] | None = None,
    **options: Any,
) -> LambdaHandler:
    """A faasify handler built from mangum's constructor arguments.

    - ``lifespan``: the same three modes, but the lifespan runs **once per
      instance** (at cold start, shutdown on SIGTERM or exit), where mangum
      runs startup and shutdown around every invoke.
    - ``api_gateway_base_path``: becomes ``base_path`` (``"api"``, ``"/api"``
      and ``"/api/"`` all mean ``"/api"``; ``"/"`` means none). mangum cuts the
      prefix off the path; faasify also moves it into ``root_path``, so links
      the app builds keep it. It applies to ALB events too.
    - ``text_mime_types``: full media types are added to faasify's text types
      (mangum's list replaces its defaults; faasify's always include ``text/*``
      and JSON). A prefix other than ``text/`` raises :class:`ValueError`;
      a value that looks cut short of longer types (``application/vnd``)
      warns, since mangum matched it inside them and faasify does not.
    - ``exclude_headers``: those response headers are removed from the result
      (``set-cookie`` also removes the ``cookies`` array of 2.0 responses).
    - ``custom_handlers``: no equivalent; faasify detects every AWS HTTP event
      shape itself and routes other events with ``on_sqs``, ``on_s3``, ... A
      non-empty list raises :class:`TypeError`.

    Other keywords are faasify's own handler options.
    """
    if custom_handlers:
        raise TypeError(
            "faasify.compat.Mangum: custom_handlers has no equivalent. faasify detects "
            "API Gateway (REST, HTTP API 1.0 and 2.0), Function URL and ALB events "
            "itself; for other events register a function on the handler "
            "(@lambda_handler.on_sqs, on_sns, on_s3, on_eventbridge, ...)"
        )
    base = (api_gateway_base_path or "/").strip("/")
    options.setdefault("base_path", f"/{base}" if base else "")
    options.setdefault("lifespan", lifespan)
    extra = _text_types(text_mime_types, "text_mime_types")
    options.setdefault("text_mime_types", extra)
    excluded = frozenset(h.strip().lower() for h in exclude_headers or ())
    if excluded:
        return _ExcludingHandler(app, excluded, **options)
    return LambdaHandler(app, **options)


def _with_apig_wsgi_keys(app: WSGIApp) -> WSGIApp:
    """``app`` finding the event and context under apig-wsgi's environ keys too."""

    def wrapped(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        event = environ.get("faasify.event")
        environ["apig_wsgi.full_event"] = event
        environ["apig_wsgi.context"] = environ.get("faasify.context")
        if isinstance(event, dict):
            environ["apig_wsgi.request_context"] = event.get("requestContext")
        return app(environ, start_response)

    return wrapped


def make_lambda_handler(
    wsgi_app: WSGIApp,
    binary_support: bool | None = None,
    non_binary_content_type_prefixes: Iterable[str] | None = None,
    **options: Any,
) -> LambdaHandler:
    """A faasify handler built from apig-wsgi's arguments, for a WSGI app.

    - ``binary_support``: faasify always sends a body that is not UTF-8 text
      as base64, on every event format, which is what ``True`` asks for (and
      apig-wsgi's default for HTTP APIs and ALB). ``False`` cannot be honoured
      (it made apig-wsgi fail on a binary body) and gives a
      :class:`UserWarning`; text responses are sent as text either way.
    - ``non_binary_content_type_prefixes``: full media types are added to
      faasify's text types; ``text/`` is text already; another prefix raises
      :class:`ValueError`, and a value that looks cut short of longer types
      (``application/vnd.ms``) warns.

    The app finds the event and context under apig-wsgi's environ keys
    (``apig_wsgi.full_event``, ``apig_wsgi.context``,
    ``apig_wsgi.request_context``) as well as faasify's: it is called through a
    small wrapper that sets them. The handler's ``app`` is ``wsgi_app`` itself,
    as with :func:`faasify.handler`; ``handler.hosted.app`` is the wrapper.
    Other keywords are faasify's own handler options.
    """
    if binary_support is False:
        warnings.warn(
            "faasify.compat.make_lambda_handler: binary_support=False has no "
            "equivalent; faasify sends text responses as text and every other body "
            "as base64 (configure binary media types on a REST API to pass it "
            "through as bytes)",
            UserWarning,
            stacklevel=2,
        )
    extra = _text_types(non_binary_content_type_prefixes, "non_binary_content_type_prefixes")
    options.setdefault("text_mime_types", extra)
    options.setdefault("kind", "wsgi")
    handler = LambdaHandler(_with_apig_wsgi_keys(wsgi_app), **options)
    handler.app = wsgi_app  # what the user passed, not the environ-key wrapper
    return handler
