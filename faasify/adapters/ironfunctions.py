"""IronFunctions (iron-io/functions): a function image's ``main()``, for both formats.

IronFunctions runs a route's Docker image for each call and talks to it over
stdin and stdout, in one of two formats (the route's ``format``):

- ``default``: one process per call. The request body is on stdin (for
  ``POST``; a ``GET`` gets its ``payload`` query parameter there instead), the
  rest of the request is in environment variables (``METHOD``,
  ``REQUEST_URL``, ``ROUTE``, ``HEADER_<NAME>``, ``PARAM_<NAME>``, and the
  app's and route's config under their own upper-cased names), and whatever
  the process writes to stdout is the response body. :func:`run_default`.
- ``http`` ("hot" functions): one process for many calls. Each call arrives
  on stdin as an HTTP/1.1 message, ``GET /`` with those same variables as
  header fields (``Method``, ``Request_url``, ``Header_content_type``, ...)
  and the payload as its body, and the process answers each with an HTTP/1.1
  response on stdout framed by ``Content-Length``. :func:`run_hot`, which
  builds the app once and serves calls until stdin closes.

In both formats IronFunctions sends the client the response *body* with
status 200 (or a 500 of its own when the process fails): the app's status and
headers do not reach the client. Stdout belongs to the protocol, so both
entry points point file descriptor 1 at stderr while the app runs: a stray
``print`` goes to the logs instead of into a response.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from faasify._exceptions import MalformedEventError
from faasify.core.headers import HOP_BY_HOP
from faasify.core.hosted import HostedApp
from faasify.core.http import BAD_REQUEST, INTERNAL_ERROR, Request, Response
from faasify.core.log import log_bad_event
from faasify.core.loop import RequestLoop
from faasify.core.options import AppKind, AppOptions, Hook, LifespanMode
from faasify.core.parts import request_from_parts
from faasify.core.paths import check_base_path

if TYPE_CHECKING:
    import h11

__all__ = ["CallInfo", "IronCodec", "request_from_variables", "run_default", "run_hot"]

logger = logging.getLogger(__name__)

#: The front door's name in faasify's log lines.
SOURCE = "ironfunctions"

# Methods whose stdin is not a request body: IronFunctions fills a GET's stdin
# from its "payload" query parameter, which the app still sees in the query.
_NO_BODY = frozenset({"GET", "HEAD"})
# The call's own variables (config values are left out of the event).
_CALL_VARIABLES = ("METHOD", "ROUTE", "REQUEST_URL")
_READ_SIZE = 65536
# A request head may carry every config value as a header field: allow room.
_MAX_HEAD = 1 << 20


class CallInfo:
    """What IronFunctions says about a call besides the HTTP request.

    The app finds it as ``environ["faasify.context"]`` (WSGI) or
    ``scope["aws.context"]`` (ASGI). ``call_id`` is the hot format's
    ``Task-ID`` (``None`` in the default format, which has none); ``route``
    is the matched route (``/hello/:name``); ``params`` the route parameters.
    """

    __slots__ = ("call_id", "params", "route")

    def __init__(self, call_id: str | None, route: str | None, params: dict[str, str]) -> None:
        self.call_id = call_id
        self.route = route
        self.params = params

    @property
    def aws_request_id(self) -> str | None:
        """The call id under the name faasify's log lines read."""
        return self.call_id

    def __repr__(self) -> str:
        return f"<CallInfo {self.call_id} {self.route}>"


def _iron_root(path: str) -> str:
    """``/r/<app>``: the prefix IronFunctions' router puts before every route."""
    if not path.startswith("/r/") or len(path) == 3:
        return ""
    end = path.find("/", 3)
    return unquote(path if end == -1 else path[:end])


def request_from_variables(
    variables: Mapping[str, str],
    body: bytes,
    *,
    base_path: str | None = None,
    call_id: str | None = None,
) -> Request:
    """The neutral request that IronFunctions' call variables describe.

    ``variables`` maps upper-case names to values: the process environment in
    the default format, the message's header fields in the hot one.
    ``REQUEST_URL`` is the path and query the client asked for (with
    ``scheme://host`` in front on recent servers), percent-encoded, below
    ``/r/<app>``, which becomes the root path unless ``base_path`` says
    otherwise. Raises :class:`~faasify.MalformedEventError` when ``REQUEST_URL``
    is missing or not a URL.
    """
    method = (variables.get("METHOD") or "GET").upper()
    if "REQUEST_URL" not in variables:
        raise MalformedEventError("the call has no REQUEST_URL", field="REQUEST_URL")
    try:
        url = urlsplit(variables["REQUEST_URL"])
    except ValueError as exc:
        raise MalformedEventError(f"REQUEST_URL is not a URL: {exc}", field="REQUEST_URL") from None
    path = url.path or "/"
    headers: list[tuple[str, str]] = []
    params: dict[str, str] = {}
    call = {key: variables[key] for key in _CALL_VARIABLES if key in variables}
    for key, value in variables.items():
        if key.startswith("HEADER_") and len(key) > 7:
            call[key] = value
            name = key[7:].replace("_", "-").lower()
            if name != "content-length":
                headers.append((name, value))
        elif key.startswith("PARAM_") and len(key) > 6:
            call[key] = value
            params[key[6:].lower()] = value
    host = next((value for name, value in headers if name == "host"), None)
    if host is None and url.netloc:
        host = url.netloc
        headers.append(("host", host))
    if method in _NO_BODY:
        body = b""
    # Not behind a proxy, the URL IronFunctions was called with names the scheme.
    return request_from_parts(
        method,
        path,
        url.query,
        headers,
        body,
        base_path=_iron_root(path) if base_path is None else base_path,
        stripped_upstream=base_path is not None,
        default_scheme=url.scheme or "http",
        event=call,
        context=CallInfo(call_id, variables.get("ROUTE"), params),
    )


def _clean(value: str) -> str:
    """An environment value as text: bytes that were not UTF-8 become U+FFFD."""
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _claim_stdout() -> int:
    """A private descriptor for the protocol's stdout; fd 1 now goes to stderr."""
    sys.stdout.flush()
    out = os.dup(1)
    os.dup2(2, 1)
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class IronCodec:
    """One call in (its variables and body, or a hot-format message); the
    response itself out, for the entry point to write in the call's format."""

    source = SOURCE

    def __init__(self, base_path: str | None) -> None:
        self._base_path = base_path

    def decode(self, event: tuple[Any, bytes], context: Any) -> Request:
        message, body = event
        if isinstance(message, dict):
            return request_from_variables(message, body, base_path=self._base_path)
        return _hot_request(message, body, self._base_path)

    def encode(self, response: Response, event: Any, context: Any) -> Response:
        return response


def _options(
    kind: AppKind,
    lifespan: LifespanMode,
    on_startup: Iterable[Hook],
    on_shutdown: Iterable[Hook],
    shutdown_timeout: float,
    handle_signals: bool,
) -> AppOptions:
    return AppOptions(
        kind=kind,
        lifespan=lifespan,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )


# -- the default format --------------------------------------------------------------


def run_default(
    app: Any,
    *,
    base_path: str | None = None,
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> int:
    """Serve the one call of a ``default``-format process; the exit status.

    Use it as the image's entry point: ``sys.exit(run_default(app))``. The
    app's response body goes to stdout. The status is 0, or 1 when the app
    answered with a 5xx, so that IronFunctions reports the call as failed.
    ``base_path`` replaces the ``/r/<app>`` root path (``""`` for none);
    the other options are those of :func:`faasify.handler`.
    """
    options = _options(kind, lifespan, on_startup, on_shutdown, shutdown_timeout, handle_signals)
    codec = IronCodec(None if base_path is None else check_base_path(base_path))
    out = _claim_stdout()
    hosted = HostedApp(app, options)
    try:
        variables = {key: _clean(value) for key, value in os.environ.items()}
        method = (variables.get("METHOD") or "GET").upper()
        stdin = sys.stdin.buffer
        body = b"" if method in _NO_BODY or stdin.isatty() else stdin.read()
        response: Response = RequestLoop(hosted, codec=codec)((variables, body), None)
        _write_all(out, response.body)
    finally:
        os.close(out)
        hosted.close()
    return 1 if response.status >= 500 else 0


# -- the hot ("http") format ---------------------------------------------------------


class _Stdin:
    """Stdin read in whatever pieces arrive, with what was read but not used."""

    __slots__ = ("_buffer", "_fd")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def head(self) -> bytes:
        """Everything up to the blank line after a message head (b"" at EOF).

        Bytes after it stay here, so that the body can be handed to h11 no
        further than the message goes. A head cut short by EOF is returned as
        it is, for h11 to reject.
        """
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end == -1:
                end = self._buffer.find(b"\n\n")
                cut = end + 2 if end != -1 else -1
            else:
                cut = end + 4
            if cut != -1 or len(self._buffer) > _MAX_HEAD:
                cut = cut if cut != -1 else len(self._buffer)
                head, self._buffer = self._buffer[:cut], self._buffer[cut:]
                return head
            chunk = os.read(self._fd, _READ_SIZE)
            if not chunk:
                head, self._buffer = self._buffer, b""
                return head
            self._buffer += chunk

    def take(self, most: int) -> bytes:
        """At most ``most`` bytes (b"" at EOF)."""
        if not self._buffer:
            self._buffer = os.read(self._fd, max(most, _READ_SIZE))
        data, self._buffer = self._buffer[:most], self._buffer[most:]
        return data


def _with_host(head: bytes) -> bytes:
    """The head with ``Host: localhost`` added when it has none.

    IronFunctions writes its messages with Go's ``httputil.DumpRequest`` on a
    request for ``/`` without a host, so they carry no ``Host`` field, which
    HTTP/1.1 requires and h11 enforces; the field is not used for the app.
    """
    line_end = head.find(b"\n")
    if line_end == -1 or b"\nhost:" in head.lower():
        return head
    return head[: line_end + 1] + b"Host: localhost\r\n" + head[line_end + 1 :]


def _read_message(conn: h11.Connection, stdin: _Stdin) -> tuple[h11.Request, bytes] | None:
    """The next request message and its body; ``None`` when stdin has ended."""
    import h11

    head = stdin.head()
    if not head:
        return None
    conn.receive_data(_with_host(head))
    event = conn.next_event()
    if event is h11.NEED_DATA:
        conn.receive_data(b"")  # stdin ended inside a head: h11 says how
        event = conn.next_event()
    if isinstance(event, h11.ConnectionClosed):
        return None
    if not isinstance(event, h11.Request):
        raise h11.RemoteProtocolError(f"expected a request, got {event!r}", 400)
    request = event
    length = next((int(v) for k, v in request.headers if k == b"content-length"), None)
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            wanted = length - len(body) if length is not None else _READ_SIZE
            conn.receive_data(stdin.take(max(wanted, 1)))
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return request, bytes(body)
        else:
            raise h11.RemoteProtocolError(f"unexpected {event!r} in a request body", 400)


def _hot_request(request: h11.Request, body: bytes, base_path: str | None) -> Request:
    """The neutral request in a hot-format message.

    IronFunctions' messages carry the call in header fields named after its
    variables; a message without ``Request_url`` is taken as the client's own
    request, so that the app can also sit behind anything that speaks plain
    HTTP over stdin.
    """
    fields = [
        (name.decode("latin-1"), value.decode("utf-8", "replace"))
        for name, value in request.headers
    ]
    variables = {name.upper(): value for name, value in fields}
    if "REQUEST_URL" in variables:
        return request_from_variables(
            variables, body, base_path=base_path, call_id=variables.get("TASK-ID")
        )
    target = request.target.decode("latin-1")
    path, _, query = target.partition("?")
    return request_from_parts(
        request.method.decode("ascii"),
        path,
        query,
        fields,
        body,
        base_path=base_path or "",
        stripped_upstream=True,
    )


def _bodiless(status: int) -> bool:
    """Whether HTTP forbids a body with this status (1xx, 204, 304)."""
    return status < 200 or status in (204, 304)


def _hot_response(response: Response) -> tuple[h11.Response, bytes]:
    """The h11 response event for ``response`` (a 500 if its headers are not HTTP)."""
    import h11

    def event(resp: Response) -> h11.Response:
        # Header strings carry their bytes as Latin-1, as WSGI and the ASGI runner give them.
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in resp.headers
            if name.lower() not in HOP_BY_HOP
        ]
        if not _bodiless(resp.status):
            headers.append((b"Content-Length", str(len(resp.body)).encode()))
        try:
            reason = HTTPStatus(resp.status).phrase.encode()
        except ValueError:
            reason = b""
        return h11.Response(status_code=resp.status, headers=headers, reason=reason)

    try:
        return event(response), b"" if _bodiless(response.status) else response.body
    except (h11.LocalProtocolError, UnicodeEncodeError) as exc:
        logger.error("the app's response is not valid HTTP: %s", exc)
        return event(INTERNAL_ERROR), INTERNAL_ERROR.body


def _send(conn: h11.Connection, response: Response) -> bytes:
    """The bytes of ``response`` as the next message on ``conn``."""
    import h11

    head, body = _hot_response(response)
    return b"".join(
        conn.send(event) or b"" for event in (head, h11.Data(data=body), h11.EndOfMessage())
    )


def run_hot(
    app: Any,
    *,
    base_path: str | None = None,
    kind: AppKind = "auto",
    lifespan: LifespanMode = "auto",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> int:
    """Serve calls in the ``http`` (hot) format until stdin ends; the exit status.

    Use it as the image's entry point: ``sys.exit(run_hot(app))``. The app is
    built once (its lifespan starts once) and shut down when stdin closes or
    SIGTERM arrives. A message that is not HTTP gets a 400 and ends the
    process with status 1, since the stream can no longer be followed.
    ``base_path`` replaces the ``/r/<app>`` root path (``""`` for none);
    the other options are those of :func:`faasify.handler`. Needs the ``h11``
    package.
    """
    import h11

    options = _options(kind, lifespan, on_startup, on_shutdown, shutdown_timeout, handle_signals)
    codec = IronCodec(None if base_path is None else check_base_path(base_path))
    out = _claim_stdout()
    hosted = HostedApp(app, options)
    serve = RequestLoop(hosted, codec=codec)
    instance = hosted.instance
    stdin = _Stdin(0)
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)
    status = 0
    try:
        while True:
            try:
                message = _read_message(conn, stdin)
            except h11.RemoteProtocolError as exc:
                # h11 still lets a server answer; the stream cannot be followed after.
                log_bad_event(None, SOURCE, exc)
                _write_all(out, _send(conn, BAD_REQUEST))
                status = 1
                break
            if message is None:
                break
            response = serve(message, None)
            _write_all(out, _send(conn, response))
            if instance.closed:  # a SIGTERM arrived mid-call: the loop shut down after it
                break
            if conn.our_state is h11.MUST_CLOSE:
                break
            conn.start_next_cycle()
    finally:
        os.close(out)
        hosted.close()
    return status
