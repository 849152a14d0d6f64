"""``faasify serve``: a handler, or an app, over HTTP in this process."""

from __future__ import annotations

import argparse

from faasify.cli._errors import listen_error
from faasify.cli._target import load_handler
from faasify.local.events import EVENT_FORMATS

__all__ = ["add_arguments", "run"]

NAME = "serve"
SUMMARY = "serve a handler or an app over HTTP in this process, one request at a time"
DESCRIPTION = """\
Serve the handler over HTTP: each request becomes an API Gateway event (or the
shape --event-format names) and is answered by the handler in this process, one
request at a time, as one Lambda instance answers them. A WSGI or ASGI app is
wrapped with faasify.handler first. For real instance processes, cold starts and
scale to zero, use faasify local."""
EXAMPLES = ("faasify serve app:lambda_handler --port 8000",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="MODULE:ATTRIBUTE",
        help="the handler (app:lambda_handler) or the WSGI/ASGI app (app:app)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="the port to listen on")
    parser.add_argument(
        "--event-format",
        choices=EVENT_FORMATS,
        default="http-api-v2",
        help="the event shape requests become",
    )


def run(args: argparse.Namespace) -> int:
    from faasify.local.serve import make_server, serve_until_interrupted

    handler = load_handler(args.target)
    try:
        server = make_server(handler, args.host, args.port, args.event_format)
    except OSError as exc:
        raise listen_error(exc, args.host, args.port) from None
    serve_until_interrupted(server, args.event_format)
    return 0
