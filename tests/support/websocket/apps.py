"""Small websocket apps for the WebSocket API tests, and a client that records."""

from __future__ import annotations

from typing import Any

from faasify.adapters.aws.websocket.connections import ConnectionGoneError


class RecordingConnections:
    """A ``Connections`` that keeps what the app sent; ``gone`` ids answer 410."""

    def __init__(self, gone: tuple[str, ...] = ()) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.closed: list[str] = []
        self.gone = set(gone)

    async def send(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.gone:
            raise ConnectionGoneError(connection_id)
        self.sent.append((connection_id, data))

    async def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)


def chat_app(members: set[str], log: list[str]) -> Any:
    """A Starlette chat: members join on connect, every message goes to every member."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def chat(websocket: WebSocket) -> None:
        me = websocket.scope["aws.connection_id"]
        if websocket.query_params.get("token") == "bad":
            await websocket.close(code=1008)
            return
        await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
        if websocket.scope["aws.event_type"] == "CONNECT":
            members.add(me)
        try:
            while True:
                text = await websocket.receive_text()
                log.append(f"{me}: {text}")
                if text == "bye":
                    await websocket.close()
                    return
                if text == "boom":
                    raise RuntimeError("boom in the chat")
                clients = websocket.scope["aws.connections"]
                for member in sorted(members):
                    try:
                        await clients.send(member, f"{me}: {text}".encode())
                    except ConnectionGoneError:
                        members.discard(member)
                await websocket.send_text("delivered")
        except WebSocketDisconnect as gone:
            members.discard(me)
            log.append(f"{me} left ({gone.code})")

    return Starlette(routes=[WebSocketRoute("/chat", chat)])
