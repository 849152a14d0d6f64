"""``faasify runtime``: faasify's own Lambda runtime loop, in place of AWS's runtime client."""

from __future__ import annotations

import argparse
import os
import sys

from faasify.cli._errors import CommandError

__all__ = ["add_arguments", "main", "run"]

NAME = "runtime"
SUMMARY = "run a handler as the Lambda runtime itself: streaming, SnapStart, managed instances"
DESCRIPTION = """\
Talk to the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API in place of AWS's
runtime client: import the handler (a WSGI or ASGI app is wrapped with
faasify.handler), then answer invocations until the environment ends. Start it
from the function's exec wrapper (AWS_LAMBDA_EXEC_WRAPPER, on a managed Python
runtime) or a container image's bootstrap. With --invoke-mode response-stream
the app's body goes out as it is produced (Function URLs in RESPONSE_STREAM
mode, API Gateway REST APIs in STREAM mode); in either mode the answer is posted
before the app's background work runs. SnapStart's snapshot and restore and
Lambda Managed Instances' concurrent requests are handled as AWS's Python
runtime handles them. Needs only the standard library."""
EXAMPLES = (
    "faasify runtime app:lambda_handler --invoke-mode response-stream",
    "faasify runtime app.lambda_handler --processes 4",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from faasify.adapters.aws.runtime.invoker import INVOKE_MODES

    parser.add_argument(
        "target",
        metavar="MODULE:ATTRIBUTE",
        help="the handler (app:lambda_handler, or app.lambda_handler as _HANDLER writes it) "
        "or the WSGI/ASGI app (app:app)",
    )
    parser.add_argument(
        "--invoke-mode",
        choices=INVOKE_MODES,
        default=None,
        help="buffered posts each answer whole; response-stream streams HTTP answers as "
        "produced (default: $FAASIFY_INVOKE_MODE, else buffered)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes, one request at a time each "
        "(default: $AWS_LAMBDA_MAX_CONCURRENCY, else 1)",
    )


def run(args: argparse.Namespace) -> int:
    from faasify.adapters.aws.runtime.loop import (
        invoke_mode_from_environment,
        run,
        stream_limit_from_environment,
    )

    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        raise CommandError(
            "AWS_LAMBDA_RUNTIME_API is not set: faasify runtime answers a Lambda Runtime API, "
            "so it runs inside a function (its exec wrapper or bootstrap) or under "
            "`faasify local`; to try a handler here, use `faasify serve` or `faasify invoke`"
        )
    if args.processes is not None and args.processes < 1:
        raise CommandError("--processes must be at least 1")
    try:
        mode = args.invoke_mode or invoke_mode_from_environment()
        stream_limit = stream_limit_from_environment()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return run(
        args.target,
        address=address,
        mode=mode,
        processes=args.processes,
        stream_limit=stream_limit,
    )


def main(argv: list[str] | None = None) -> int:
    """``faasify runtime ARGS`` without importing the other commands (``python -m``)."""
    from faasify.cli._help import HelpFormatter

    parser = argparse.ArgumentParser(
        prog=f"faasify {NAME}", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except CommandError as exc:
        print(f"faasify {NAME}: {exc}", file=sys.stderr)
        return exc.status
