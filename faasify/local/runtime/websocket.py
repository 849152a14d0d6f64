"""``faasify local`` as an API Gateway WebSocket API: one socket per client, three events.

A browser's WebSocket to any path of the runtime becomes a connection with an
id of its own, and its life becomes the events a WebSocket API sends the
function: ``CONNECT`` with the handshake's headers and query string (a 200
from the function accepts, anything else refuses), ``MESSAGE`` for every
frame, ``DISCONNECT`` when either side closes. The ``@connections`` API is
served beside it, at ``/{stage}/@connections/{id}``: the function's POST
reaches the client as one frame, its DELETE closes the socket, a GET tells
the connection's age, and an id no longer connected answers 410, as on AWS.

The instances learn the API's address from ``FAASIFY_CONNECTIONS_ENDPOINT``,
which :func:`instance_env` sets and :class:`~faasify.adapters.aws.websocket.WebSocketRoute`
reads; the requests they sign with the local credentials are not checked.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from faasify.adapters.aws.websocket.events import build_websocket_event
from faasify.local.runtime.request_log import LogFormat, log_request

if TYPE_CHECKING:
    from faasify.local.runtime.scaler import InvokeOutcome, Scaler

__all__ = ["STAGE", "WebSocketApi", "instance_env"]

logger = logging.getLogger(__name__)

#: The stage in the ``@connections`` URL, as a deployed API has one.
STAGE = "local"
ENDPOINT_VARIABLE = "FAASIFY_CONNECTIONS_ENDPOINT"


def instance_env(base_url: str) -> dict[str, str]:
    """What the function's instances need to reach this runtime's ``@connections``.

    ``base_url`` is the runtime's (``http://127.0.0.1:8000``). Credentials are
    set only where the environment has none: the local API does not check them.
    """
    env = {ENDPOINT_VARIABLE: f"{base_url.rstrip('/')}/{STAGE}"}
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        env["AWS_ACCESS_KEY_ID"] = "faasify-local"
        env["AWS_SECRET_ACCESS_KEY"] = "faasify-local-secret"
    return env


def _connection_id() -> str:
    # The shape of API Gateway's ids (base64, ending in "="), without "/" or "+".
    return base64.b64encode(os.urandom(10), altchars=b"-_").decode("ascii")


class WebSocketApi:
    """The WebSocket front door and the ``@connections`` API of one runtime."""

    def __init__(self, scaler: Scaler, *, log_format: LogFormat = "text") -> None:
        self._scaler = scaler
        self._log_format = log_format
        self._sockets: dict[str, tuple[WebSocket, float]] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                f"/{STAGE}/@connections/{{cid:path}}",  # an id may hold an encoded "/"
                self._connection,
                methods=["GET", "POST", "DELETE"],
            ),
            WebSocketRoute("/{path:path}", self._socket),
        ]

    async def _invoke(self, event: dict[str, Any], what: str, path: str) -> InvokeOutcome:
        outcome = await self._scaler.invoke(event)
        result = outcome.result or {}
        status = result.get("statusCode") if isinstance(result, dict) else None
        log_request(
            what, path, status if isinstance(status, int) else outcome.status, outcome,
            self._log_format,
        )  # fmt: skip
        return outcome

    async def _socket(self, websocket: WebSocket) -> None:
        cid = _connection_id()
        host = websocket.headers.get("host", "127.0.0.1")
        client = websocket.client.host if websocket.client else "127.0.0.1"
        path = websocket.url.path
        common: dict[str, Any] = {"domain": host, "stage": STAGE, "source_ip": client}
        connect = build_websocket_event(
            "CONNECT",
            cid,
            headers=[(k, v) for k, v in websocket.headers.items()],
            query=websocket.url.query,
            **common,
        )
        outcome = await self._invoke(connect, "CONNECT", path)
        answer = outcome.result if isinstance(outcome.result, dict) else {}
        if answer.get("statusCode") != 200:
            await websocket.close()  # before accept: the client's handshake gets a 403
            return
        subprotocol = (answer.get("headers") or {}).get("Sec-WebSocket-Protocol")
        await websocket.accept(subprotocol=subprotocol)
        self._sockets[cid] = (websocket, time.time())
        code = 1005
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    code = int(message.get("code") or 1005)
                    break
                data: str | bytes = message.get("text") or message.get("bytes") or ""
                event = build_websocket_event("MESSAGE", cid, body=data, **common)
                await self._invoke(event, "MESSAGE", path)
        except WebSocketDisconnect as gone:
            code = gone.code
        finally:
            self._sockets.pop(cid, None)
            goodbye = build_websocket_event("DISCONNECT", cid, close_code=code, **common)
            await self._invoke(goodbye, "DISCONNECT", path)

    async def _connection(self, request: Request) -> Response:
        cid = request.path_params["cid"]
        found = self._sockets.get(cid)
        if found is None:
            return Response(json.dumps({"message": "Gone"}), 410, media_type="application/json")
        websocket, since = found
        if request.method == "GET":
            info = {
                "connectedAt": since,
                "identity": {"sourceIp": request.client.host if request.client else None},
            }
            return Response(json.dumps(info), 200, media_type="application/json")
        if request.method == "DELETE":
            self._sockets.pop(cid, None)
            await websocket.close()
            return Response(status_code=204)
        data = await request.body()
        try:
            await websocket.send_text(data.decode("utf-8"))
        except UnicodeDecodeError:
            await websocket.send_bytes(data)
        except (RuntimeError, WebSocketDisconnect):
            self._sockets.pop(cid, None)
            return Response(json.dumps({"message": "Gone"}), 410, media_type="application/json")
        return Response(status_code=200)
