"""The loop each instance of the local runtime runs, and its SnapStart snapshot.

``python -m faasify.local.bootstrap module:handler`` is ``faasify runtime``
(:mod:`faasify.adapters.aws.runtime`): it imports the handler (or the app,
wrapped with faasify.handler: the init phase), then asks
``$AWS_LAMBDA_RUNTIME_API`` for invocations and answers them, forever, in the
invoke mode ``FAASIFY_INVOKE_MODE`` names. It needs nothing but the standard
library, so a function runs behind the local runtime without AWS's runtime
client installed.

``python -m faasify.local.bootstrap --snapshot COMMANDS EVENTS module:handler``
is how ``faasify local --snapstart`` emulates a snapshot. The process runs the
init phase once, the before-snapshot hooks, and ``GET /runtime/restore/next``
on its Runtime API, as a SnapStart init does; it then stands still as the
"snapshot". For every new instance the runtime writes ``fork HOST:PORT NAME``
to the ``COMMANDS`` descriptor: the process forks, and the copy, a restored
instance, calls ``restore/next`` on the instance's own Runtime API, runs the
after-restore hooks and serves. ``pid N`` (the copy) and ``exit N STATUS`` (a
copy that ended) come back on ``EVENTS``. A fork copies memory, as a snapshot
does, so what SnapStart breaks breaks here too: a connection opened at init
and left open, ``random``'s state, ids made at init. It copies no threads:
thread pools started at init must start again after the restore (the asyncio
loop's own executor and its wake-up pipe and selector are renewed here).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import sys
from collections.abc import Callable
from typing import Any

from faasify.adapters.aws.runtime.client import RuntimeAPIClient
from faasify.adapters.aws.runtime.invocation import forget_function_facts
from faasify.adapters.aws.runtime.invoker import Invoker
from faasify.adapters.aws.runtime.loop import (
    EXIT_BEFORE_SNAPSHOT,
    EXIT_INIT_FAILED,
    hook_error_body,
    invoke_mode_from_environment,
    load,
    restored,
    run,
    serve_forever,
    stream_limit_from_environment,
)

__all__ = ["RuntimeAPIClient", "main"]

_USAGE = (
    "usage: python -m faasify.local.bootstrap module:handler\n"
    "       python -m faasify.local.bootstrap --snapshot COMMANDS EVENTS module:handler"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        mode = invoke_mode_from_environment()
        limit = stream_limit_from_environment()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if len(args) == 4 and args[0] == "--snapshot":
        return _snapshot(int(args[1]), int(args[2]), args[3])
    if len(args) != 1:
        print(_USAGE, file=sys.stderr)
        return 2
    return run(args[0], address=os.environ["AWS_LAMBDA_RUNTIME_API"], mode=mode, stream_limit=limit)


# -- the emulated snapshot ----------------------------------------------------------------


def _snapshot(commands: int, events: int, spec: str) -> int:
    from faasify.adapters.aws.runtime import snapstart

    client = RuntimeAPIClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    target = load(client, spec)
    if target is None:
        return EXIT_INIT_FAILED
    try:
        snapstart.run_before_snapshot()
    except Exception as exc:
        client.init_error(hook_error_body(exc), "Runtime.BeforeSnapshotError")
        return EXIT_BEFORE_SNAPSHOT
    client.restore_next()  # the snapshot is "taken" when this call arrives
    client.close()  # no connection goes into the copies
    return _serve_forks(commands, events, target)


def _write(fd: int, line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, line.encode() + b"\n")


def _serve_forks(commands: int, events: int, target: Callable[[Any, Any], Any]) -> int:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    # A handler (doing nothing) makes SIGCHLD reach the wake-up pipe.
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    copies: set[int] = set()
    buffered = b""
    try:
        while True:
            try:
                readable, _, _ = select.select([commands, wake_read], [], [])
            except InterruptedError:
                continue
            if wake_read in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 512)
                _reap(copies, events)
            if commands not in readable:
                continue
            data = os.read(commands, 4096)
            if not data:
                return 0  # the runtime is gone
            buffered += data
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                words = line.decode().split()
                if len(words) == 3 and words[0] == "fork":
                    pid = os.fork()
                    if pid == 0:
                        fds = (commands, events, wake_read, wake_write)
                        os._exit(_restore(words[1], words[2], target, fds))
                    copies.add(pid)
                    _write(events, f"pid {pid}")
    finally:
        for pid in copies:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _reap(copies: set[int], events: int) -> None:
    while copies:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        copies.discard(pid)
        _write(events, f"exit {pid} {os.waitstatus_to_exitcode(status)}")


def _renew_event_loop() -> None:
    """Give the copy an event loop of its own, the same object with new kernel parts.

    After a fork the loop's selector (an epoll descriptor) and its wake-up
    socket pair are shared with the snapshot process and with every other
    copy: each copy would see the others' events. The loop keeps its tasks
    and callbacks (the app's lifespan, pools bound to it); its selector, wake-up
    pair and default executor (whose threads did not survive the fork) are new.
    """
    from faasify.core.instance import current_instance

    instance = current_instance()
    loop: Any = instance._loop
    if loop is None:
        return
    old = loop._selector
    keys = list(old.get_map().values())
    loop._selector = type(old)()
    internal = {loop._ssock.fileno(), loop._csock.fileno()}
    for key in keys:
        if key.fd not in internal:
            loop._selector.register(key.fileobj, key.events, key.data)
    old.close()
    loop._ssock.close()
    loop._csock.close()
    loop._internal_fds -= 1
    loop._make_self_pipe()
    loop._default_executor = None


def _restore(
    address: str, name: str, target: Callable[[Any, Any], Any], fds: tuple[int, ...]
) -> int:
    status = 70
    try:
        os.setsid()  # its own process group, which the runtime signals to stop it
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        _renew_event_loop()
        os.environ["AWS_LAMBDA_RUNTIME_API"] = address
        os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = name
        forget_function_facts()
        client = RuntimeAPIClient(address)
        client.restore_next()  # the instance's Runtime API: the restore begins
        failed = restored(client)
        if failed is not None:
            return failed
        invoker = Invoker(
            target,
            client,
            mode=invoke_mode_from_environment(),
            stream_limit=stream_limit_from_environment(),
        )
        status = serve_forever(client, invoker)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        if not (isinstance(exc, OSError) and exc.errno == errno.EPIPE):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
