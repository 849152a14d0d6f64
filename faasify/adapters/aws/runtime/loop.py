"""faasify's Lambda runtime: init, SnapStart's snapshot and restore, then the loop.

What a custom runtime must do (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html),
in the order it does it:

1. Import the handler (``module:attribute``, or ``module.attribute`` as
   ``_HANDLER`` writes it); a WSGI or ASGI app is wrapped with
   :func:`faasify.handler`. An import that fails is reported with ``POST
   /runtime/init/error`` and the process exits with status 1.
2. In a SnapStart init, run the before-snapshot hooks and wait in ``GET
   /runtime/restore/next``; once restored, run the after-restore hooks
   (:mod:`.snapstart`). A failing hook is reported (``init/error`` with
   ``Runtime.BeforeSnapshotError``, or ``restore/error`` with
   ``Runtime.AfterRestoreError``) and the process exits with 64 or 65, as
   AWS's Python runtime does.
3. Forever: ``next``, run the invocation, post its answer (:mod:`.invoker`).

On Lambda Managed Instances the process first forks a worker per concurrent
request, each of which does all of the above (:mod:`.managed`).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from faasify.adapters.aws.runtime import managed, snapstart
from faasify.adapters.aws.runtime.client import RuntimeAPIClient
from faasify.adapters.aws.runtime.errors import RuntimeAPIError
from faasify.adapters.aws.runtime.invoker import (
    INVOKE_MODES,
    STREAM_LIMIT,
    InvokeMode,
    Invoker,
)

__all__ = [
    "EXIT_AFTER_RESTORE",
    "EXIT_BEFORE_SNAPSHOT",
    "EXIT_INIT_FAILED",
    "EXIT_RUNTIME_API",
    "INVOKE_MODE_VARIABLE",
    "STREAM_LIMIT_VARIABLE",
    "handler_spec",
    "hook_error_body",
    "init_error_body",
    "invoke_mode_from_environment",
    "load",
    "restored",
    "run",
    "run_one",
    "serve_forever",
    "snapshot_and_restore",
    "stream_limit_from_environment",
]

logger = logging.getLogger(__name__)

#: The function's invoke mode when ``--invoke-mode`` is not given.
INVOKE_MODE_VARIABLE = "FAASIFY_INVOKE_MODE"
#: The most bytes a streamed body may have, when not the default 200 MB.
STREAM_LIMIT_VARIABLE = "FAASIFY_STREAM_LIMIT"
#: Set by ``faasify local`` in its instances, which report init errors themselves.
LOCAL_RUNTIME_VARIABLE = "FAASIFY_LOCAL_RUNTIME"
EXIT_INIT_FAILED = 1
EXIT_BEFORE_SNAPSHOT = 64
EXIT_AFTER_RESTORE = 65
EXIT_RUNTIME_API = 70


def invoke_mode_from_environment() -> InvokeMode:
    """``FAASIFY_INVOKE_MODE`` (``buffered`` when unset); ``ValueError`` for another word."""
    value = os.environ.get(INVOKE_MODE_VARIABLE, "").strip()
    # Function URLs spell them BUFFERED and RESPONSE_STREAM: both spellings do.
    word = value.lower().replace("_", "-") or "buffered"
    for mode in INVOKE_MODES:
        if word == mode:
            return mode
    raise ValueError(
        f"{INVOKE_MODE_VARIABLE}={value!r} is not an invoke mode: "
        f"use {' or '.join(INVOKE_MODES)} (or BUFFERED, RESPONSE_STREAM)"
    )


def stream_limit_from_environment() -> int:
    value = os.environ.get(STREAM_LIMIT_VARIABLE, "").strip()
    if not value:
        return STREAM_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise ValueError(f"{STREAM_LIMIT_VARIABLE}={value!r} is not a number of bytes") from None
    if limit < 1:
        raise ValueError(f"{STREAM_LIMIT_VARIABLE} must be at least 1 byte")
    return limit


def handler_spec(spec: str) -> str:
    """``module:attribute`` from ``spec``, which may be written as ``_HANDLER`` writes it
    (``app.lambda_handler``, ``src/app.lambda_handler``)."""
    if ":" in spec or "." not in spec:
        return spec
    module, _, attribute = spec.rpartition(".")
    return f"{module.replace('/', '.')}:{attribute}"


def init_error_body(exc: BaseException) -> dict[str, Any]:
    """The init error as the Runtime API takes it, with the user's part of the trace."""
    from faasify.cli._target import ImportFailed, TargetError, user_traceback

    if isinstance(exc, ImportFailed):  # the function's own module raised: its error, its trace
        return {
            "errorMessage": str(exc.error),
            "errorType": type(exc.error).__name__,
            "stackTrace": user_traceback(exc.error),
        }
    if isinstance(exc, TargetError):
        # The handler's name is wrong: the message says it all, as AWS's
        # runtime's Runtime.ImportModuleError does.
        return {"errorMessage": str(exc), "errorType": "Runtime.ImportModuleError"}
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(exc),
    }


def hook_error_body(exc: BaseException) -> dict[str, Any]:
    """A failed SnapStart hook, as the Runtime API takes an error."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def load(client: RuntimeAPIClient, spec: str) -> Callable[[Any, Any], Any] | None:
    """Import the handler ``spec`` names; on failure report it and return ``None``."""
    from faasify.cli._target import load_handler

    try:
        return load_handler(handler_spec(spec))
    except BaseException as exc:  # the init phase failed: tell the runtime, then exit
        body = init_error_body(exc)
        if not os.environ.get(LOCAL_RUNTIME_VARIABLE):
            # For the function's log (the local runtime prints it itself).
            sys.stderr.write("".join(body.get("stackTrace") or []))
            logger.error("init failed: %s: %s", body["errorType"], body["errorMessage"])
        client.init_error(body)
        return None


def snapshot_and_restore(client: RuntimeAPIClient) -> int | None:
    """The SnapStart part of init; an exit status when a hook failed, else ``None``."""
    try:
        snapstart.run_before_snapshot()
        client.restore_next()
    except RuntimeAPIError:
        raise
    except Exception as exc:
        logger.error("a before-snapshot hook failed: %r", exc, exc_info=exc)
        client.init_error(hook_error_body(exc), "Runtime.BeforeSnapshotError")
        return EXIT_BEFORE_SNAPSHOT
    return restored(client)


def restored(client: RuntimeAPIClient) -> int | None:
    """After a restore: the hooks; an exit status when one failed, else ``None``."""
    try:
        snapstart.run_after_restore()
    except Exception as exc:
        logger.error("an after-restore hook failed: %r", exc, exc_info=exc)
        client.restore_error(hook_error_body(exc), "Runtime.AfterRestoreError")
        return EXIT_AFTER_RESTORE
    return None


def serve_forever(client: RuntimeAPIClient, invoker: Invoker) -> int:
    """``next``, invoke, answer, until the Runtime API fails (a SIGTERM ends the process)."""
    try:
        while True:
            invoker(client.next())
    except RuntimeAPIError as exc:
        logger.error("%s; the runtime exits", exc)
        return EXIT_RUNTIME_API


def run_one(
    spec: str,
    *,
    address: str,
    mode: InvokeMode,
    stream_limit: int = STREAM_LIMIT,
) -> int:
    """One process of the runtime: init, SnapStart if asked, then the loop."""
    client = RuntimeAPIClient(address)
    target = load(client, spec)
    if target is None:
        return EXIT_INIT_FAILED
    if snapstart.snapshotting():
        status = snapshot_and_restore(client)
        if status is not None:
            return status
    return serve_forever(client, Invoker(target, client, mode=mode, stream_limit=stream_limit))


class _Formatter(logging.Formatter):
    """``[LEVEL]\tlogger\tmessage``; faasify's JSON lines as they are, for log queries."""

    def __init__(self) -> None:
        super().__init__("[%(levelname)s]\t%(name)s\t%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        message = record.msg
        if (
            record.name.startswith("faasify.")
            and isinstance(message, str)
            and message.startswith("{")
            and not record.args
        ):
            return message
        return super().format(record)


def _prepare_output() -> None:
    # Lambda reads stdout and stderr from pipes: lines go out as written, not
    # when a block fills (or never, if the environment is frozen first).
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    root = logging.getLogger()
    if not root.handlers:
        # What AWS's runtime gives: a handler on the root logger, so that
        # logging.getLogger().setLevel(logging.INFO) is all a function needs.
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_Formatter())
        root.addHandler(handler)
        level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
        if isinstance(logging.getLevelName(level), int):
            root.setLevel(level)


def run(
    spec: str,
    *,
    address: str,
    mode: InvokeMode,
    processes: int | None = None,
    stream_limit: int = STREAM_LIMIT,
) -> int:
    """The runtime: ``processes`` workers (default: ``AWS_LAMBDA_MAX_CONCURRENCY``, else 1)."""
    _prepare_output()
    count = managed.worker_count() if processes is None else processes
    if count > 1:
        return managed.run_workers(
            count,
            lambda: run_one(spec, address=address, mode=mode, stream_limit=stream_limit),
        )
    return run_one(spec, address=address, mode=mode, stream_limit=stream_limit)
