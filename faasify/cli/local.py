"""``faasify local``: the handler in real instance processes behind the Lambda Runtime API."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from faasify.cli._errors import CommandError, listen_error
from faasify.cli._target import TargetError, load_target
from faasify.local.events import EVENT_FORMATS

__all__ = ["add_arguments", "run"]

NAME = "local"
SUMMARY = "run a handler on a local FaaS runtime: real instances, cold starts, scale to zero"
DESCRIPTION = """\
Put an HTTP endpoint in front of the handler and run it in real instance
processes that speak the Lambda Runtime API, as on AWS: cold starts, warm
reuse, scale-out up to --max-instances (429 past it), scale to zero after
--idle-timeout, timeouts and crashes. The handler is imported once at start,
in a throwaway instance, so a wrong module fails there. One log line per
request. Needs the local extra: pip install 'faasify[local]'."""
EXAMPLES = ("faasify local app:lambda_handler --max-instances 4 --idle-timeout 60",)

logger = logging.getLogger("faasify.local")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="MODULE:ATTRIBUTE",
        help="the handler (app:lambda_handler), or with the builtin runtime client the "
        "WSGI/ASGI app (app:app)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=3000, help="the port to listen on")
    parser.add_argument(
        "--event-format",
        choices=EVENT_FORMATS,
        default="http-api-v2",
        help="the event shape requests become",
    )
    parser.add_argument(
        "--max-instances",
        type=int,
        default=4,
        help="instances alive at most; past that requests wait, then get 429",
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=60.0, help="seconds an idle instance lives"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds an invoke may take")
    parser.add_argument(
        "--queue-timeout",
        type=float,
        default=5.0,
        help="seconds a request may wait for an instance before 429",
    )
    parser.add_argument(
        "--process-model",
        choices=["resident", "per-request"],
        default="resident",
        help="per-request starts a fresh process for every request, to compare",
    )
    parser.add_argument(
        "--runtime-client",
        choices=["builtin", "awslambdaric"],
        default="builtin",
        help="the loop in each instance: faasify's own, or AWS's awslambdaric",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="one line per request, for a person (text) or a log tool (json)",
    )


def _missing_extra(exc: ImportError) -> int:
    print(
        f"faasify local needs the 'local' extra ({exc.name} is missing): "
        "pip install 'faasify[local]'",
        file=sys.stderr,
    )
    return 2


def run(args: argparse.Namespace) -> int:
    try:
        from faasify.local.runtime import InitFailed, Scaler, create_app
        from faasify.local.runtime.server import listen, serve
    except ImportError as exc:
        return _missing_extra(exc)
    if args.max_instances < 1:
        raise CommandError("--max-instances must be at least 1")
    if ":" not in args.target:
        load_target(args.target)  # raises the sentence that explains module:attribute
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        raise listen_error(exc, args.host, args.port) from None
    from faasify.local.runtime.websocket import instance_env

    bound_host, bound_port = sock.getsockname()[:2]
    reachable = "127.0.0.1" if bound_host in ("0.0.0.0", "::") else bound_host
    reachable = f"[{reachable}]" if ":" in reachable else reachable
    scaler = Scaler(
        args.target,
        env=instance_env(f"http://{reachable}:{bound_port}"),
        max_instances=args.max_instances,
        idle_timeout=args.idle_timeout,
        timeout=args.timeout,
        queue_timeout=args.queue_timeout,
        process_model=args.process_model,
        client=args.runtime_client,
    )
    try:
        asyncio.run(scaler.check())
    except InitFailed as exc:
        sock.close()
        if exc.stack:
            sys.stderr.write(exc.stack)
        raise TargetError(f"{args.target} failed to start: {exc}") from None
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host

    def announce() -> None:
        logger.info(
            "faasify local: http://%s:%d (%s events, up to %d instance%s)",
            host,
            port,
            args.event_format,
            args.max_instances,
            "" if args.max_instances == 1 else "s",
        )

    serve(create_app(scaler, args.event_format, log_format=args.log_format), sock, announce)
    return 0
