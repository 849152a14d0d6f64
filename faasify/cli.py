"""The ``faasify`` command: serve or invoke a handler locally."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any

from faasify._version import __version__
from faasify.local.context import LocalContext
from faasify.local.events import EVENT_FORMATS
from faasify.local.serve import serve
from faasify.package import add_arguments as add_package_arguments
from faasify.package import run as run_package

__all__ = ["load_handler", "main"]


def load_handler(spec: str) -> Any:
    """The object named by ``module:attribute`` (``app.main:lambda_handler``)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"expected module:attribute, got {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faasify", description=__doc__)
    parser.add_argument("--version", action="version", version=f"faasify {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser(
        "serve", help="serve a handler over HTTP, one request at a time"
    )
    serve_cmd.add_argument("handler", help="module:attribute of the Lambda handler")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--event-format", choices=EVENT_FORMATS, default="http-api-v2")

    local_cmd = commands.add_parser(
        "local", help="run a handler on a local FaaS runtime: real instances, scale to zero"
    )
    local_cmd.add_argument("handler", help="module:attribute of the Lambda handler")
    local_cmd.add_argument("--host", default="127.0.0.1")
    local_cmd.add_argument("--port", type=int, default=3000)
    local_cmd.add_argument("--event-format", choices=EVENT_FORMATS, default="http-api-v2")
    local_cmd.add_argument("--max-instances", type=int, default=4)
    local_cmd.add_argument("--idle-timeout", type=float, default=60.0, help="seconds")
    local_cmd.add_argument("--timeout", type=float, default=30.0, help="seconds per invoke")
    local_cmd.add_argument(
        "--queue-timeout", type=float, default=5.0, help="seconds to wait for an instance"
    )
    local_cmd.add_argument(
        "--process-model", choices=["resident", "per-request"], default="resident"
    )
    local_cmd.add_argument(
        "--runtime-client", choices=["builtin", "awslambdaric"], default="builtin"
    )

    invoke_cmd = commands.add_parser("invoke", help="invoke a handler once with an event file")
    invoke_cmd.add_argument("handler", help="module:attribute of the Lambda handler")
    invoke_cmd.add_argument("--event", required=True, help="a JSON event file, or - for stdin")

    package_cmd = commands.add_parser(
        "package", help="build a function's deployment zip for AWS Lambda (x86_64 or arm64)"
    )
    add_package_arguments(package_cmd)

    args = parser.parse_args(argv)
    if args.command == "package":
        return run_package(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "local":
        return _run_local(args)
    target = load_handler(args.handler)
    if args.command == "serve":
        serve(target, args.host, args.port, args.event_format)
        return 0
    source = sys.stdin if args.event == "-" else open(args.event, encoding="utf-8")  # noqa: SIM115
    with source:
        event = json.load(source)
    json.dump(target(event, LocalContext()), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _run_local(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from faasify.local.runtime import Scaler, create_app
    except ImportError as exc:
        print(
            f"faasify local needs the 'local' extra ({exc.name} is missing): "
            "pip install 'faasify[local]'",
            file=sys.stderr,
        )
        return 2

    scaler = Scaler(
        args.handler,
        max_instances=args.max_instances,
        idle_timeout=args.idle_timeout,
        timeout=args.timeout,
        queue_timeout=args.queue_timeout,
        process_model=args.process_model,
        client=args.runtime_client,
    )
    logging.getLogger("faasify.local").info(
        "faasify local: http://%s:%d (%s events, up to %d instances)",
        args.host,
        args.port,
        args.event_format,
        args.max_instances,
    )
    app = create_app(scaler, args.event_format)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
