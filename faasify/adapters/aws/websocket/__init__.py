"""API Gateway WebSocket APIs, on the ASGI ``websocket`` scope.

``faasify.handler(app)`` answers WebSocket API events as well as HTTP ones:
``$connect`` runs the app's websocket handshake, ``$default`` and custom
routes deliver ``websocket.receive``, ``$disconnect`` delivers
``websocket.disconnect``, and the app's ``websocket.send`` goes out through
the ``@connections`` API. :meth:`faasify.LambdaHandler.websockets` sets the
route's path and client. See :mod:`.cycle` for what each event runs and
:mod:`.connections` for the client.
"""

from faasify.adapters.aws.websocket.connections import (
    Boto3Connections,
    ConnectionGoneError,
    Connections,
    ConnectionsError,
    SignedConnections,
    connections_for,
)
from faasify.adapters.aws.websocket.cycle import WebSocketRoute
from faasify.adapters.aws.websocket.events import build_websocket_event, is_websocket_event

__all__ = [
    "Boto3Connections",
    "ConnectionGoneError",
    "Connections",
    "ConnectionsError",
    "SignedConnections",
    "WebSocketRoute",
    "build_websocket_event",
    "connections_for",
    "is_websocket_event",
]
