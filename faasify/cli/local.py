"""``faasify local``: the handler in real instance processes behind the Lambda Runtime API."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from faasify.cli._errors import CommandError, listen_error
from faasify.cli._target import TargetError, load_target
from faasify.local.events import EVENT_FORMATS

if TYPE_CHECKING:
    from faasify.local.async_invoke import AsyncInvocationPolicy, Queue

__all__ = ["add_arguments", "run"]

NAME = "local"
SUMMARY = "run a handler on a local FaaS runtime: real instances, cold starts, scale to zero"
DESCRIPTION = """\
Put an HTTP endpoint in front of the handler and run it in real instance
processes that speak the Lambda Runtime API, as on AWS: cold starts, warm
reuse, scale-out up to --max-instances (429 past it), scale to zero after
--idle-timeout, timeouts and crashes. The handler is imported once at start,
in a throwaway instance, so a wrong module fails there. One log line per
request. Lambda's other modes too: --invoke-mode response-stream streams each
answer to the client as it is produced, --snapstart inits once and restores
every instance from that snapshot, --max-concurrency serves several requests
per instance (Lambda Managed Instances), --tenant-isolation keeps one tenant
per instance. Asynchronous invokes (the Invoke API's Event type, OpenFaaS's
/async-function/) go through a queue, in-process or NATS JetStream (--queue),
with Lambda's retries, maximum event age and on-failure destination. Needs the
local extra: pip install 'faasify[local]' (and 'faasify[queue]' for NATS)."""
EXAMPLES = (
    "faasify local app:lambda_handler --max-instances 4 --idle-timeout 60",
    "faasify local app:app --invoke-mode response-stream --snapstart",
    "faasify local app:handler --queue nats://127.0.0.1:4222 --on-failure file:failed.jsonl",
)

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
        default=None,
        help="the event shape requests become (default: http-api-v2, or function-url "
        "with --invoke-mode response-stream)",
    )
    parser.add_argument(
        "--invoke-mode",
        choices=["buffered", "response-stream"],
        default="buffered",
        help="response-stream streams each answer to the client as the function produces "
        "it, as a Function URL in RESPONSE_STREAM mode does",
    )
    parser.add_argument(
        "--snapstart",
        action="store_true",
        help="run the init once, snapshot it, and restore every instance from it, with "
        "the SnapStart hooks",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=1,
        help="requests an instance serves at once (Lambda Managed Instances: a worker "
        "process each)",
    )
    parser.add_argument(
        "--tenant-isolation",
        action="store_true",
        help="tenant isolation mode: requests name their tenant in X-Amz-Tenant-Id, and "
        "an instance serves one tenant only",
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
        "--queue",
        default="memory",
        metavar="memory|nats://HOST:PORT",
        help="the queue behind asynchronous invokes: in-process (memory), or a NATS "
        "JetStream server, whose stream keeps events across restarts",
    )
    parser.add_argument(
        "--queue-stream",
        default=None,
        metavar="NAME",
        help="the JetStream stream (default: FAASIFY_ASYNC_ and the handler's name)",
    )
    parser.add_argument(
        "--async-retries",
        type=int,
        default=2,
        choices=[0, 1, 2],
        help="retries of a failed asynchronous invoke (Lambda's MaximumRetryAttempts)",
    )
    parser.add_argument(
        "--async-max-age",
        type=float,
        default=21600.0,
        metavar="SECONDS",
        help="how long an asynchronous event may wait (Lambda's MaximumEventAgeInSeconds)",
    )
    parser.add_argument(
        "--async-backoff",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="the wait before the first retry, doubled for the next (Lambda waits a minute)",
    )
    parser.add_argument(
        "--on-failure",
        default=None,
        metavar="file:PATH|nats:SUBJECT",
        help="where a failed asynchronous event's record goes (Lambda's on-failure "
        "destination): a JSON Lines file, or a JetStream subject (with --queue nats://)",
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
    if args.max_concurrency < 1:
        raise CommandError("--max-concurrency must be at least 1")
    streaming = args.invoke_mode == "response-stream"
    if args.event_format is None:
        args.event_format = "function-url" if streaming else "http-api-v2"
    if streaming and args.event_format not in ("function-url", "rest-v1"):
        raise CommandError(
            f"--invoke-mode response-stream needs --event-format function-url or rest-v1: "
            f"{args.event_format} answers are buffered on AWS (HTTP APIs and ALBs do not stream)"
        )
    if args.runtime_client == "awslambdaric" and (streaming or args.snapstart):
        option = "--invoke-mode response-stream" if streaming else "--snapstart"
        raise CommandError(
            f"{option} needs the builtin runtime client: awslambdaric cannot "
            f"{'stream answers' if streaming else 'be restored from the emulated snapshot'}"
        )
    if args.tenant_isolation and (args.snapstart or args.event_format == "function-url"):
        raise CommandError(
            "--tenant-isolation does not go with "
            f"{'--snapstart' if args.snapstart else 'function-url events'}: Lambda offers "
            "tenant isolation without SnapStart and Function URLs (through the Invoke API "
            "and API Gateway)"
        )
    if args.snapstart and args.max_concurrency > 1:
        raise CommandError(
            "--snapstart and --max-concurrency do not go together: Lambda Managed "
            "Instances have no SnapStart"
        )
    if ":" not in args.target:
        load_target(args.target)  # raises the sentence that explains module:attribute
    queue, policy = _async_options(args)
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
        invoke_mode=args.invoke_mode,
        concurrency=args.max_concurrency,
        snapstart=args.snapstart,
        tenant_isolation=args.tenant_isolation,
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
    from faasify.local.async_invoke import AsyncInvoker

    invoker = AsyncInvoker(scaler, queue, policy, log_format=args.log_format)

    modes = [
        word
        for word, on in (
            ("streamed", streaming),
            ("snapstart", args.snapstart),
            (f"{args.max_concurrency} requests per instance", args.max_concurrency > 1),
            ("tenant isolation", args.tenant_isolation),
            (f"async on {queue.describe()}", args.queue != "memory"),
        )
        if on
    ]

    def announce() -> None:
        logger.info(
            "faasify local: http://%s:%d (%s events, up to %d instance%s%s)",
            host,
            port,
            args.event_format,
            args.max_instances,
            "" if args.max_instances == 1 else "s",
            "".join(f", {mode}" for mode in modes),
        )

    app = create_app(scaler, args.event_format, log_format=args.log_format, async_invoker=invoker)
    serve(app, sock, announce)
    return 0


def _async_options(args: argparse.Namespace) -> tuple[Queue, AsyncInvocationPolicy]:
    """The queue and policy of asynchronous invokes; a NATS server is tried at once,
    so one that cannot be reached is an error at start, in one line."""
    from faasify._exceptions import ConfigurationError, QueueUnavailable
    from faasify.local.async_invoke import (
        AsyncInvocationPolicy,
        JetStreamQueue,
        MemoryQueue,
        parse_destination,
        stream_name,
    )

    try:
        destination = None if args.on_failure is None else parse_destination(args.on_failure)
        policy = AsyncInvocationPolicy(
            maximum_retry_attempts=args.async_retries,
            maximum_event_age=args.async_max_age,
            backoff=args.async_backoff,
            on_failure=destination,
        )
    except ConfigurationError as exc:
        raise CommandError(str(exc)) from None
    if args.queue == "memory":
        if destination is not None and destination.kind == "nats":
            raise CommandError("--on-failure nats:SUBJECT needs --queue nats://HOST:PORT")
        return MemoryQueue(), policy
    if not args.queue.startswith(("nats://", "tls://")):
        raise CommandError(f"--queue {args.queue!r}: give memory or nats://HOST:PORT")
    try:
        import nats  # noqa: F401
    except ImportError:
        raise CommandError(
            "--queue nats:// needs nats-py: pip install 'faasify[queue]'", status=2
        ) from None
    queue = JetStreamQueue(args.queue, args.queue_stream or stream_name(args.target))

    async def probe() -> None:
        await queue.open()
        await queue.close()

    try:
        asyncio.run(probe())
    except QueueUnavailable as exc:
        raise CommandError(str(exc)) from None
    return queue, policy
