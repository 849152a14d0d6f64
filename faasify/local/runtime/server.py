"""The runtime's HTTP server: uvicorn on a socket bound first, announced once listening.

Binding before anything else starts means a port in use fails at once, with
nothing started; the URL is announced only after uvicorn serves on the socket,
so it is never printed for a server that then failed to start.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

__all__ = ["listen", "serve"]


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (IPv4 or IPv6); raises ``OSError`` if it cannot."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_listening`` once its startup has finished."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_listening()


def serve(app: Starlette, sock: socket.socket, on_listening: Callable[[], None]) -> None:
    """Serve ``app`` on ``sock`` until interrupted (Ctrl-C, SIGTERM)."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    _Server(config, on_listening).run(sockets=[sock])
