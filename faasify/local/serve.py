"""A development server: real HTTP in, the handler called with real-shaped events.

Requests are served one at a time on the calling thread, as a Lambda instance
serves them, so a handler behaves here as it will behave deployed: one loop,
lifespan once, warm reuse from the second request on. Each answer closes its
connection: a browser that kept one idle connection open would otherwise hold
the only thread while its other connections (the page's CSS and JS) wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from faasify.local.context import LocalContext
from faasify.local.events import EventFormat, build_event, read_result

__all__ = ["make_server", "serve", "serve_until_interrupted"]

logger = logging.getLogger("faasify.local")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_server(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 8000,
    event_format: EventFormat = "http-api-v2",
) -> HTTPServer:
    """An :class:`HTTPServer` that answers every request through ``handler``."""

    class _RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "faasify-local"

        def _invoke(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            event = build_event(
                event_format,
                self.command,
                path,
                query,
                [
                    *self.headers.items(),
                    # What the platform's front door adds: the client spoke plain HTTP.
                    ("X-Forwarded-Proto", "http"),
                    ("X-Forwarded-Port", str(port)),
                ],
                body,
                source_ip=self.client_address[0],
            )
            try:
                result = read_result(handler(event, LocalContext()))
            except Exception:
                logger.exception("the handler raised")
                self.send_error(502, "the function raised; see the server log")
                return
            self.send_response(result.status)
            for name, value in result.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(result.body)))
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(result.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _invoke

        def log_message(self, format: str, *args: Any) -> None:
            logger.info("%s %s", self.address_string(), format % args)

    server = HTTPServer((host, port), _RequestHandler)
    port = server.server_port  # the closure above reads the real port (port=0 picks one)
    return server


def serve(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 8000,
    event_format: EventFormat = "http-api-v2",
) -> None:
    """Serve ``handler`` until interrupted."""
    serve_until_interrupted(make_server(handler, host, port, event_format), event_format)


def serve_until_interrupted(server: HTTPServer, event_format: EventFormat) -> None:
    """Announce ``server``'s URL (it listens already), then serve it until Ctrl-C."""
    host, port = server.server_address[:2]
    logger.info("faasify serve: http://%s:%d (%s events)", host, port, event_format)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
