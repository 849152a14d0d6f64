"""WSGI environs built straight from AWS events, for the common case.

The general path reads an event into a :class:`~faasify.core.http.Request`
(a header list, a query string as bytes) and the WSGI runner then reads that
again into an environ. For a WSGI app the request is only a step on the way,
so these builders write the environ from the event in one pass: the same keys
in the same order, with the same values, as
:func:`~faasify.core.runners.wsgi.build_environ` gives after the codec's
``decode``.

They take only what they can vouch for: text that is ASCII, header names
that cannot collide once lower-cased, one value per multi-value header. For
anything else (and for a malformed event) a builder returns ``None`` and
the request takes the general path, which decodes it exactly as before, its
errors and their log lines included; so the two paths cannot disagree on an
unusual event, only the common one is faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from faasify.adapters.aws.codecs._maps import principal_v1, principal_v2, query_string
from faasify.core.body import decode_event_body
from faasify.core.paths import mount, split_root
from faasify.core.runners.wsgi import environ_key, environ_server, new_environ

if TYPE_CHECKING:
    from faasify.adapters.aws.codecs.alb import ApplicationLoadBalancer
    from faasify.adapters.aws.codecs.apigw_v1 import ApiGatewayV1
    from faasify.adapters.aws.codecs.apigw_v2 import ApiGatewayV2
    from faasify.core.types import WSGIEnviron

__all__ = ["AlbEnviron", "V1Environ", "V2Environ"]

_NO_CONTEXT: dict[str, Any] = {}


class _Keys(dict[str, str]):
    """Header name as the event spells it -> environ key (``""``: one the app must not get).

    A name is looked at once, in :meth:`__missing__`; afterwards it costs a
    subscript. ASCII names only: for them, lower-casing cannot make two names
    one key behind the general path's back (see :func:`_add_headers`' count);
    any other name raises ``KeyError``, and the builder declines.
    """

    def __missing__(self, name: Any) -> str:
        if type(name) is not str or not name.isascii():
            raise KeyError(name)
        key = environ_key(name.lower())
        if len(self) < 1024:
            self[name] = key
        return key


_KEYS = _Keys()


def _add_headers(environ: WSGIEnviron, headers: Any) -> bool:
    """Put a 2.0 event's ``{name: value}`` headers into ``environ``; whether all
    went in plainly.

    ``False`` for what the general path must handle: a value that is not
    ASCII text, or names that meet under one key ("Host" and "host"), which
    the general path folds into one value. The common header costs one
    subscript and one test. Values are taken as the 2.0 general path takes
    them (whatever reads as ASCII text); a name that is not ASCII text, or a
    value of no text type, raises here, and the builder declines.
    """
    keys = _KEYS
    expected = len(environ) + len(headers)
    for name, value in headers.items():
        key = keys[name]
        if key and value.isascii():
            environ[key] = value
        elif key or type(value) is not str:
            return False  # a value that is not ASCII text
        else:
            expected -= 1
    return len(environ) == expected


def _add_v1_headers(environ: WSGIEnviron, single: Any, multi: Any) -> bool:
    """The 1.0 shapes' two header maps, as ``headers_from_maps`` reads them:
    :func:`_add_headers`, with values of type ``str`` only and, in the
    multi-value map, exactly one value per name.

    The general path merges the maps name by name when their sizes differ;
    that case is left to it, and so is a header with no value or several (the
    unpacking below raises, and the builder declines).
    """
    keys = _KEYS
    if multi:
        if single and len(single) != len(multi):
            return False
        expected = len(environ) + len(multi)
        for name, values in multi.items():
            if type(values) is not list:
                return False
            (value,) = values
            key = keys[name]
            if key and type(value) is str and value.isascii():
                environ[key] = value
            elif key or type(value) is not str:
                return False
            else:
                expected -= 1
        return len(environ) == expected
    if single:
        expected = len(environ) + len(single)
        for name, value in single.items():
            key = keys[name]
            if key and type(value) is str and value.isascii():
                environ[key] = value
            elif key or type(value) is not str:
                return False
            else:
                expected -= 1
        return len(environ) == expected
    return True


def _address(source_ip: Any) -> bool:
    """Whether a source IP goes into ``REMOTE_ADDR`` as it is (or is absent)."""
    return source_ip is None or type(source_ip) is str


def _plain(root_path: str, path: str) -> bool:
    """Whether the paths go into the environ as they are (ASCII: no Latin-1 step)."""
    return root_path.isascii() and path.isascii()


class V2Environ:
    """Payload format 2.0: HTTP APIs and Function URLs (see ``apigw_v2``)."""

    __slots__ = ("_base_path", "_function_url")

    def __init__(self, codec: ApiGatewayV2) -> None:
        self._function_url = codec.source == "function-url"
        self._base_path = codec.options.base_path

    def __call__(self, event: Any, context: Any) -> WSGIEnviron | None:
        """The environ for ``event``, or ``None`` to take the general path.

        Whatever goes wrong here (a malformed event, say) declines: the
        general path then names the field, or fails the same way.
        """
        try:
            ctx = event["requestContext"]
            http = ctx["http"]
            method = http["method"]
            path = event.get("rawPath") or http["path"] or "/"
            query = event.get("rawQueryString") or ""
            if not (type(method) is str and type(path) is str and type(query) is str):
                return None
            root_path = ""
            if self._function_url:
                if "%" in path:
                    path = unquote(path)
            else:
                stage = ctx.get("stage")
                if stage and stage != "$default":
                    split = split_root(path, "/" + stage)
                    if split is not None:
                        root_path, path = split
            if self._base_path:
                root_path, path = mount(root_path, path, self._base_path)
            source_ip = http.get("sourceIp")
            if not (_plain(root_path, path) and query.isascii() and _address(source_ip)):
                return None
            body = event.get("body")
            environ = new_environ(
                method,
                root_path,
                path,
                query,
                source_ip or "127.0.0.1",
                decode_event_body(body, event.get("isBase64Encoded")) if body else b"",
                event,
                context,
            )
            authorizer = ctx.get("authorizer")
            if authorizer:
                user = principal_v2(authorizer)
                if user is not None:
                    environ["REMOTE_USER"] = user
            headers = event.get("headers")
            if headers:
                if type(headers) is not dict or not _add_headers(environ, headers):
                    return None
                server = environ_server(
                    environ.get("HTTP_HOST") or ctx.get("domainName") or "localhost",
                    environ.get("HTTP_X_FORWARDED_PORT"),
                    environ.get("HTTP_X_FORWARDED_PROTO"),
                )
            else:
                server = environ_server(ctx.get("domainName") or "localhost", None, None)
            environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"] = server
            cookies = event.get("cookies")
            # Function URLs send the Cookie header *and* the cookies array.
            if cookies and "HTTP_COOKIE" not in environ:
                cookie = "; ".join(cookies)
                if type(cookies) is not list or not cookie.isascii():
                    return None
                environ["HTTP_COOKIE"] = cookie
            return environ
        except Exception:
            return None


class V1Environ:
    """Payload format 1.0: REST APIs and HTTP APIs (see ``apigw_v1``)."""

    __slots__ = ("_base_path", "_http_api")

    def __init__(self, codec: ApiGatewayV1) -> None:
        self._http_api = codec.source == "http-api-v1"
        self._base_path = codec.options.base_path

    def __call__(self, event: Any, context: Any) -> WSGIEnviron | None:
        """The environ for ``event``, or ``None`` to take the general path (see
        :meth:`V2Environ.__call__`)."""
        try:
            # Direct invokes and test harnesses send the shape without a context.
            ctx = event.get("requestContext") or _NO_CONTEXT
            method = event["httpMethod"]
            path = event["path"] or "/"
            if not (type(method) is str and type(path) is str and type(ctx) is dict):
                return None
            body = event.get("body")
            identity = ctx.get("identity")
            source_ip = identity.get("sourceIp") if identity else None
            if not _address(source_ip):
                return None
            environ = new_environ(
                method,
                "",
                path,
                query_string(
                    event.get("queryStringParameters"),
                    event.get("multiValueQueryStringParameters"),
                    decoded=True,
                ).decode("ascii"),
                source_ip or "127.0.0.1",
                decode_event_body(body, event.get("isBase64Encoded")) if body else b"",
                event,
                context,
            )
            authorizer = ctx.get("authorizer")
            if authorizer:
                user = principal_v1(authorizer)
                if user is not None:
                    environ["REMOTE_USER"] = user
            if not _add_v1_headers(environ, event.get("headers"), event.get("multiValueHeaders")):
                return None
            server = environ_server(
                environ.get("HTTP_HOST") or ctx.get("domainName") or "localhost",
                environ.get("HTTP_X_FORWARDED_PORT"),
                environ.get("HTTP_X_FORWARDED_PROTO"),
            )
            environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"] = server
            stage = ctx.get("stage")
            root_path = ""
            if self._http_api:
                if stage and stage != "$default":
                    split = split_root(path, "/" + stage)
                    if split is not None:
                        root_path, path = split
            else:
                if "%" in path:
                    path = unquote(path)
                if stage and ".execute-api." in server[0]:
                    root_path = "/" + stage
            if self._base_path:
                root_path, path = mount(root_path, path, self._base_path)
            if not _plain(root_path, path):
                return None
            environ["SCRIPT_NAME"] = root_path
            environ["PATH_INFO"] = path
            return environ
        except Exception:
            return None


class AlbEnviron:
    """Application Load Balancer events, single- or multi-value (see ``alb``)."""

    __slots__ = ("_base_path",)

    def __init__(self, codec: ApplicationLoadBalancer) -> None:
        self._base_path = codec.options.base_path

    def __call__(self, event: Any, context: Any) -> WSGIEnviron | None:
        """The environ for ``event``, or ``None`` to take the general path (see
        :meth:`V2Environ.__call__`)."""
        try:
            method = event["httpMethod"]
            raw = event["path"] or "/"
            if not (type(method) is str and type(raw) is str):
                return None
            path = unquote(raw) if "%" in raw else raw
            root_path = ""
            if self._base_path:
                root_path, path = mount("", path, self._base_path)
            if not _plain(root_path, path):
                return None
            body = event.get("body")
            environ = new_environ(
                method,
                root_path,
                path,
                query_string(
                    event.get("queryStringParameters"),
                    event.get("multiValueQueryStringParameters"),
                    decoded=False,
                ).decode("ascii"),
                "127.0.0.1",
                decode_event_body(body, event.get("isBase64Encoded")) if body else b"",
                event,
                context,
            )
            if not _add_v1_headers(environ, event.get("headers"), event.get("multiValueHeaders")):
                return None
            server = environ_server(
                environ.get("HTTP_HOST") or "localhost",
                environ.get("HTTP_X_FORWARDED_PORT"),
                environ.get("HTTP_X_FORWARDED_PROTO"),
            )
            environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"] = server
            forwarded = environ.get("HTTP_X_FORWARDED_FOR")
            if forwarded is not None:
                environ["REMOTE_ADDR"] = forwarded.split(",", 1)[0].strip()
            return environ
        except Exception:
            return None
