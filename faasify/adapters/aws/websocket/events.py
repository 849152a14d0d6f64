"""API Gateway WebSocket API events: read them, and build them for tests and the local runtime.

A WebSocket API invokes the function once per connection event, with
``requestContext.eventType`` saying which: ``CONNECT`` (the handshake; the only
event with the client's ``headers`` and ``queryStringParameters``),
``MESSAGE`` (one frame from the client, in ``body``; ``isBase64Encoded`` for a
binary frame) and ``DISCONNECT`` (``requestContext.disconnectStatusCode`` and
``disconnectReason`` when the client closed). ``connectionId``, ``routeKey``,
``domainName``, ``stage`` and ``identity.sourceIp`` come with every one.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from faasify._exceptions import MalformedEventError
from faasify.core.headers import check_text

__all__ = [
    "EVENT_TYPES",
    "WebSocketEvent",
    "build_websocket_event",
    "is_websocket_event",
    "read_event",
]

EventType = Literal["CONNECT", "MESSAGE", "DISCONNECT"]
EVENT_TYPES: tuple[EventType, ...] = ("CONNECT", "MESSAGE", "DISCONNECT")
SOURCE = "websocket"


def is_websocket_event(event: Any) -> bool:
    """Whether ``event`` comes from a WebSocket API (a connection id and an event type)."""
    if type(event) is not dict:
        return False
    ctx = event.get("requestContext")
    return type(ctx) is dict and "connectionId" in ctx and "eventType" in ctx


class WebSocketEvent:
    """What one WebSocket API event says, read once."""

    __slots__ = (
        "body",
        "close_code",
        "connection_id",
        "domain",
        "event_type",
        "headers",
        "query",
        "route_key",
        "source_ip",
        "stage",
    )

    def __init__(
        self,
        *,
        body: str | bytes | None,
        close_code: int,
        connection_id: str,
        domain: str,
        event_type: EventType,
        headers: list[tuple[str, str]],
        query: dict[str, Any],
        route_key: str,
        source_ip: str | None,
        stage: str,
    ) -> None:
        self.body = body
        self.close_code = close_code
        self.connection_id = connection_id
        self.domain = domain
        self.event_type: EventType = event_type
        self.headers = headers
        self.query = query
        self.route_key = route_key
        self.source_ip = source_ip
        self.stage = stage


def _bad(message: str, field: str) -> MalformedEventError:
    return MalformedEventError(message, field=field, source=SOURCE)


def read_event(event: Any) -> WebSocketEvent:
    """The fields of a WebSocket API event; :class:`MalformedEventError` naming a bad one."""
    ctx = event.get("requestContext")
    event_type = ctx.get("eventType")
    if event_type not in EVENT_TYPES:
        raise _bad(
            f"requestContext.eventType must be one of {EVENT_TYPES}, not {event_type!r}",
            "requestContext.eventType",
        )
    connection_id = check_text(ctx.get("connectionId"), "requestContext.connectionId")
    headers: list[tuple[str, str]] = []
    multi = event.get("multiValueHeaders")
    single = event.get("headers")
    if multi is not None and not isinstance(multi, dict):
        raise _bad("multiValueHeaders must be a JSON object", "multiValueHeaders")
    if single is not None and not isinstance(single, dict):
        raise _bad("headers must be a JSON object", "headers")
    if multi:
        for name, values in multi.items():
            if not isinstance(values, list):
                raise _bad(f"multiValueHeaders[{name!r}] must be a list", "multiValueHeaders")
            for value in values:
                headers.append(
                    (
                        check_text(name, "a header name").lower(),
                        check_text(value, "multiValueHeaders"),
                    )
                )
    elif single:
        for name, value in single.items():
            headers.append(
                (check_text(name, "a header name").lower(), check_text(value, "headers"))
            )
    query = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters")
    if query is not None and not isinstance(query, dict):
        raise _bad("queryStringParameters must be a JSON object", "queryStringParameters")
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise _bad(f"body must be a string, not {type(body).__name__}", "body")
    data: str | bytes | None = body
    if body is not None and event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise _bad("body is flagged base64 but does not decode", "body") from None
    code = ctx.get("disconnectStatusCode")
    return WebSocketEvent(
        body=data,
        close_code=code if isinstance(code, int) else 1005,
        connection_id=connection_id,
        domain=ctx.get("domainName") or "localhost",
        event_type=event_type,
        headers=headers,
        query=query or {},
        route_key=ctx.get("routeKey") or "$default",
        source_ip=(ctx.get("identity") or {}).get("sourceIp"),
        stage=ctx.get("stage") or "$default",
    )


def build_websocket_event(
    event_type: EventType,
    connection_id: str,
    *,
    body: str | bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    query: str = "",
    route_key: str | None = None,
    domain: str = "abcdef1234.execute-api.us-east-1.amazonaws.com",
    stage: str = "dev",
    source_ip: str = "127.0.0.1",
    close_code: int = 1001,
) -> dict[str, Any]:
    """The event a WebSocket API sends for one connection event, as AWS shapes it."""
    now = time.time()
    route = route_key or {"CONNECT": "$connect", "DISCONNECT": "$disconnect"}.get(
        event_type, "$default"
    )
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex[:16] + "=",
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": int(now * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip},
        "requestId": uuid.uuid4().hex[:16] + "=",
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": domain.split(".", 1)[0],
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "CONNECT":
        grouped: dict[str, list[str]] = {}
        for name, value in (("Host", domain), *headers):
            grouped.setdefault(name, []).append(value)
        event["headers"] = {n: vs[-1] for n, vs in grouped.items()}
        event["multiValueHeaders"] = grouped
        if query:
            from urllib.parse import parse_qsl

            pairs = parse_qsl(query, keep_blank_values=True)
            multi: dict[str, list[str]] = {}
            for key, value in pairs:
                multi.setdefault(key, []).append(value)
            event["queryStringParameters"] = {k: vs[-1] for k, vs in multi.items()}
            event["multiValueQueryStringParameters"] = multi
    elif event_type == "MESSAGE":
        context["messageId"] = uuid.uuid4().hex[:16] + "="
        if isinstance(body, bytes):
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = body or ""
    else:
        context["disconnectStatusCode"] = close_code
        context["disconnectReason"] = ""
    return event
