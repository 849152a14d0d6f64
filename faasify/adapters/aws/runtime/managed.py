"""Lambda Managed Instances: several requests at once in one execution environment.

On Managed Instances an environment takes up to ``AWS_LAMBDA_MAX_CONCURRENCY``
invocations at a time: the Runtime API answers that many ``next`` calls
concurrently (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
AWS's Python runtime serves them with one process per concurrent request,
each with its own init, one request at a time each
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-python-runtime.html),
forking its workers before it imports the handler (awslambdaric,
lambda_multi_concurrent_utils.py). ``faasify runtime`` does the same: a parent
that forks the workers and watches them, and in each worker faasify's loop,
as in any environment. Each worker's pools are its own: an environment holds
processes x pool size connections. ``/tmp`` is one directory for all of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

__all__ = [
    "INITIALIZATION_TYPE",
    "MAX_CONCURRENCY_VARIABLE",
    "managed_instances",
    "run_workers",
    "worker_count",
]

logger = logging.getLogger(__name__)

#: ``AWS_LAMBDA_INITIALIZATION_TYPE`` on Lambda Managed Instances.
INITIALIZATION_TYPE = "lambda-managed-instances"
MAX_CONCURRENCY_VARIABLE = "AWS_LAMBDA_MAX_CONCURRENCY"
# Where each worker's stdout and stderr go on Managed Instances: a Unix socket
# whose every connection is one worker's log stream (awslambdaric,
# lambda_config.py and MultiConcurrentRunner._redirect_output).
_LOG_SOCKET_VARIABLE = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
#: Exit statuses after which a worker is not started again: its init failed
#: (1), its snapshot or restore hooks did (64, 65), or the Runtime API said the
#: environment is broken (70). Any other end of a worker (a crash
#: mid-invocation) is replaced by a new one.
FINAL_STATUSES = frozenset({1, 64, 65, 70})


def managed_instances() -> bool:
    """Whether this environment is one of Lambda Managed Instances."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == INITIALIZATION_TYPE


def worker_count() -> int:
    """How many requests the environment takes at once (1 outside Managed Instances)."""
    value = os.environ.get(MAX_CONCURRENCY_VARIABLE, "")
    try:
        count = int(value)
    except ValueError:
        return 1
    return max(1, count)


def _redirect_output(path: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            os.dup2(sock.fileno(), stream.fileno())


def _start(work: Callable[[], int]) -> int:
    pid = os.fork()
    if pid:
        return pid
    # The worker: its own signal dispositions, its own log stream, its init.
    status = 70
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        log_socket = os.environ.get(_LOG_SOCKET_VARIABLE)
        if log_socket:
            _redirect_output(log_socket)
        status = work()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        logger.exception("a runtime worker failed")
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def run_workers(count: int, work: Callable[[], int]) -> int:
    """Fork ``count`` workers that each run ``work()``, and watch them until they end.

    A worker that crashes is replaced; one whose init failed is not (every
    other would fail the same way). SIGTERM and SIGINT are passed on to the
    workers, so that each shuts its app down. Returns the last worker's status.
    """
    workers: set[int] = set()
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger.info("starting %d runtime workers", count)
    status = 0
    try:
        for _ in range(count):
            workers.add(_start(work))
        while workers:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            if pid not in workers:
                continue
            workers.discard(pid)
            status = os.waitstatus_to_exitcode(wait_status)
            if stopping or status in FINAL_STATUSES:
                continue
            logger.warning("runtime worker %d ended with %d; starting another", pid, status)
            workers.add(_start(work))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
