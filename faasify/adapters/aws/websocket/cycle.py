"""One API Gateway WebSocket event through an ASGI app's ``websocket`` scope.

An ASGI server keeps one coroutine of the app per connection. A WebSocket
API invokes the function once per *event* of a connection, possibly on
another instance each time, so faasify runs the app's websocket handler once
per event and ends it when that event is handled:

- ``CONNECT``: ``websocket.connect``; the app's ``websocket.accept`` answers
  200 (with its subprotocol), ``websocket.close`` (or returning) 403, and a
  denial response (``websocket.http.response.*``) its own status. When the
  app then waits for a message, its handler is cancelled: the connection's
  next event is another invoke.
- ``MESSAGE``: ``websocket.connect`` (the app's accept is taken as given, the
  connection is open already), then ``websocket.receive`` with the frame's
  ``text`` or ``bytes``; when the app waits for the next message, its
  handler is cancelled.
- ``DISCONNECT``: ``websocket.connect``, then ``websocket.disconnect`` with the
  client's close code; the handler runs to its end.

What the app sends goes through the ``@connections`` API: ``websocket.send``
POSTs to its own connection, ``websocket.close`` DELETEs it. The scope carries
``aws.connection_id`` and ``aws.connections`` (a :class:`~.connections.Connections`
client, for sending to other connections), ``aws.route_key``, and the event
and context as ``aws.event``/``aws.context``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from faasify._exceptions import ConfigurationError, MalformedEventError
from faasify.adapters.aws.websocket.connections import (
    ConnectionGoneError,
    Connections,
    connections_for,
)
from faasify.adapters.aws.websocket.events import SOURCE, WebSocketEvent, read_event
from faasify.core.log import invoke_logger, log_app_error, log_bad_event, log_invoke
from faasify.core.paths import check_base_path

if TYPE_CHECKING:
    from faasify.core.hosted import HostedApp
    from faasify.core.types import Message

__all__ = ["WebSocketRoute"]

logger = logging.getLogger(__name__)
_ASGI = {"version": "3.0", "spec_version": "2.4"}
_OK = {"statusCode": 200}
_INFO = logging.INFO


class _Cycle:
    """The state of one event's run of the app."""

    def __init__(self, event: WebSocketEvent, connections: Connections) -> None:
        self.event = event
        self.connections = connections
        self.inbox: list[Message] = [{"type": "websocket.connect"}]
        if event.event_type == "MESSAGE":
            body = event.body
            frame: Message = {"type": "websocket.receive"}
            frame["bytes" if isinstance(body, bytes) else "text"] = body or ""
            self.inbox.append(frame)
        elif event.event_type == "DISCONNECT":
            self.inbox.append({"type": "websocket.disconnect", "code": event.close_code})
        self.handled = asyncio.get_running_loop().create_future()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.denial: list[bytes] = []
        self.connecting = event.event_type == "CONNECT"

    def _done(self) -> None:
        if not self.handled.done():
            self.handled.set_result(None)

    async def receive(self) -> Message:
        if self.inbox:
            return self.inbox.pop(0)
        # Everything this event carried is delivered: the app waits for the
        # connection's next event, which is another invoke.
        self._done()
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            if self.connecting and not self.status:
                self.status = 200
                subprotocol = message.get("subprotocol")
                if subprotocol:
                    self.headers["Sec-WebSocket-Protocol"] = subprotocol
        elif kind == "websocket.send":
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode("utf-8")
            if self.connecting:
                # API Gateway opens the connection only once $connect has answered.
                logger.warning(
                    "a message sent during the handshake of %s was dropped: the connection "
                    "opens only when $connect returns",
                    self.event.connection_id,
                )
                return
            try:
                await self.connections.send(self.event.connection_id, data)
            except ConnectionGoneError:
                if self.event.event_type != "DISCONNECT":
                    raise
        elif kind == "websocket.close":
            if self.connecting:
                if not self.status:
                    self.status = 403
            elif self.event.event_type == "MESSAGE":
                with contextlib.suppress(ConnectionGoneError):
                    await self.connections.close(self.event.connection_id)
        elif kind == "websocket.http.response.start":
            if self.connecting and not self.status:
                self.status = int(message["status"])
                for name, value in message.get("headers") or ():
                    self.headers[name.decode("latin-1")] = value.decode("latin-1")
        elif kind == "websocket.http.response.body":
            self.denial.append(message.get("body") or b"")


class WebSocketRoute:
    """Runs API Gateway WebSocket events through an ASGI app, one event per invoke.

    ``path`` is the websocket route the app serves (``"/ws"``); ``endpoint``
    the ``@connections`` URL's base (default: ``FAASIFY_CONNECTIONS_ENDPOINT``,
    which ``faasify local`` sets, else ``https://{domainName}/{stage}`` from
    each event); ``connections`` a client of your own (a
    :class:`~.connections.Connections`), else boto3's or faasify's signed one.
    """

    def __init__(
        self,
        hosted: HostedApp,
        *,
        path: str = "/",
        endpoint: str | None = None,
        connections: Connections | None = None,
    ) -> None:
        if path != "/":
            check_base_path(path)
        self._hosted = hosted
        self.path = path
        # faasify local tells its instances where its @connections API is.
        self.endpoint = endpoint or os.environ.get("FAASIFY_CONNECTIONS_ENDPOINT") or None
        self._connections = connections
        self._by_endpoint: dict[str, Connections] = {}

    def connections(self, event: WebSocketEvent) -> Connections:
        """The ``@connections`` client for ``event``'s API, made once per endpoint."""
        if self._connections is not None:
            return self._connections
        endpoint = self.endpoint or f"https://{event.domain}/{event.stage}"
        found = self._by_endpoint.get(endpoint)
        if found is None:
            found = self._by_endpoint[endpoint] = connections_for(endpoint)
        return found

    def _scope(self, event: WebSocketEvent, raw: Any, context: Any) -> dict[str, Any]:
        pairs = []
        for key, values in event.query.items():
            for value in values if isinstance(values, list) else (values,):
                pairs.append(f"{quote(str(key), safe='')}={quote(str(value), safe='')}")
        subprotocols = [
            p.strip()
            for name, value in event.headers
            if name == "sec-websocket-protocol"
            for p in value.split(",")
            if p.strip()
        ]
        scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": _ASGI,
            "http_version": "1.1",
            "scheme": "wss",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": "&".join(pairs).encode("ascii"),
            "headers": [(n.encode(), v.encode()) for n, v in event.headers],
            "client": (event.source_ip, 0) if event.source_ip else None,
            "server": (event.domain, 443),
            "subprotocols": subprotocols,
            "extensions": {"websocket.http.response": {}},
            "aws.event": raw,
            "aws.context": context,
            "aws.connection_id": event.connection_id,
            "aws.route_key": event.route_key,
            "aws.event_type": event.event_type,
        }
        state = self._hosted.lifespan_state
        if state:
            scope["state"] = state.copy()
        return scope

    async def _run(self, scope: dict[str, Any], cycle: _Cycle) -> None:
        task = asyncio.ensure_future(self._hosted.app(scope, cycle.receive, cycle.send))
        await asyncio.wait((task, cycle.handled), return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            task.result()  # the app's exception, if it raised

    def __call__(self, raw: Any, context: Any) -> dict[str, Any]:
        """The answer to one WebSocket API event."""
        logging_on = invoke_logger.isEnabledFor(_INFO)
        started = time.perf_counter()
        status = 200
        event_type = None
        try:
            event = read_event(raw)
            event_type = event.event_type
        except MalformedEventError as exc:
            log_bad_event(context, SOURCE, exc)
            status = 400
        else:
            if self._hosted.kind != "asgi":
                raise ConfigurationError(
                    "a WebSocket API needs an ASGI app: a WSGI app has no websocket scope"
                )
            scope = self._scope(event, raw, context)
            scope["aws.connections"] = connections = self.connections(event)
            loop = self._hosted.loop

            async def run() -> _Cycle:
                cycle = _Cycle(event, connections)
                await self._run(scope, cycle)
                return cycle

            try:
                cycle = loop.run_until_complete(run())
            except Exception as exc:
                log_app_error(context, SOURCE, event.event_type, self.path, exc)
                status = 500
            else:
                if event.event_type == "CONNECT":
                    status = cycle.status or 403
                    if logging_on:
                        self._log(context, event_type, status, started)
                    answer: dict[str, Any] = {"statusCode": status}
                    if cycle.headers:
                        answer["headers"] = cycle.headers
                    if cycle.denial:
                        answer["body"] = b"".join(cycle.denial).decode("utf-8", "replace")
                    return answer
        if logging_on:
            self._log(context, event_type, status, started)
        return _OK if status == 200 else {"statusCode": status}

    def _log(self, context: Any, event_type: str | None, status: int, started: float) -> None:
        log_invoke(
            context=context,
            source=SOURCE,
            method=event_type,
            path=self.path if event_type else None,
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            cold=False,
            init_ms=None,
        )
