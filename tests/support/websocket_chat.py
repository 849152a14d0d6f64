"""A chat behind faasify's Lambda handler, for faasify local's WebSocket API tests.

Members live in the instance's memory: the tests run one instance.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import faasify
from faasify.adapters.aws.websocket import ConnectionGoneError

MEMBERS: set[str] = set()


async def chat(websocket: WebSocket) -> None:
    me = websocket.scope["aws.connection_id"]
    if websocket.query_params.get("token") == "bad":
        await websocket.close()
        return
    await websocket.accept()
    if websocket.scope["aws.event_type"] == "CONNECT":
        MEMBERS.add(me)
    try:
        while True:
            text = await websocket.receive_text()
            if text == "who":
                await websocket.send_text(f"{len(MEMBERS)} here")
                continue
            for member in sorted(MEMBERS):
                try:
                    await websocket.scope["aws.connections"].send(member, f"said: {text}".encode())
                except ConnectionGoneError:
                    MEMBERS.discard(member)
    except WebSocketDisconnect:
        MEMBERS.discard(me)


lambda_handler = faasify.handler(Starlette(routes=[WebSocketRoute("/chat", chat)]))
lambda_handler.websockets(path="/chat")
