"""The life of one FaaS instance (one process): its loop, its cold start, its end.

An instance is created the first time a handler is built in a process. It owns
the one event loop that every ASGI request, lifespan and pool of the process
runs on, for as long as the process lives; warm invokes find it as the last
one left it. It ends once: on SIGTERM (sent by Lambda when an extension is
registered, and by container platforms on scale-in) or at interpreter exit,
running every registered shutdown callback within a deadline.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["Instance", "current_instance"]


_IMPORTED_AT = time.perf_counter()

ShutdownCallback = Callable[[float], None]


def _seconds_since_process_start() -> float:
    """How long this process has been alive, for the init time of a cold start.

    Read from ``/proc`` where there is one (Linux, hence every FaaS platform),
    so that module imports before faasify's count; elsewhere, from the import
    of faasify itself.
    """
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as uptime:
            up = float(uptime.read().split()[0])
        return max(0.0, up - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED_AT


def _signals() -> Any:
    """The signal functions, without the ``signal`` module's enums.

    ``signal`` wraps the C module ``_signal`` in three enum classes whose
    creation costs a WSGI app's cold start about 3 million instructions; the
    two calls made here need none of them. Elsewhere, ``signal`` itself.
    """
    try:
        import _signal  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - not CPython
        import signal as _signal
    return _signal


class Instance:
    """One process's persistent event loop and its ordered shutdown.

    Shutdown callbacks receive the seconds left before the deadline and run in
    reverse order of registration, so that what started last stops first (an
    app's lifespan before the pools it used).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._callbacks: list[ShutdownCallback] = []
        self._closed = False
        #: A SIGTERM arrived mid-invoke; the handler checks this after each invoke.
        self.signal_pending = False
        #: Invokes under way now (the request loop counts them), so that a SIGTERM
        #: during one waits for it to end, whether or not the event loop is running.
        self.invoking = 0
        self._previous_sigterm: Any = None
        self._signals_installed = False
        atexit.register(self.shutdown)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The instance's one event loop, created on first use.

        A WSGI app with no async hooks never creates it, and so never pays for
        importing asyncio at cold start. The loop is also made the thread's
        current loop, for libraries that look it up at import or setup time.
        """
        loop = self._loop
        if loop is None:
            import asyncio

            from faasify.core.eager import new_loop

            loop = self._loop = new_loop()
            asyncio.set_event_loop(loop)
        return loop

    @property
    def closed(self) -> bool:
        return self._closed

    def on_shutdown(self, callback: ShutdownCallback) -> None:
        """Run ``callback(seconds_left)`` once when the instance shuts down."""
        self._callbacks.append(callback)

    def remove_shutdown(self, callback: ShutdownCallback) -> None:
        """Forget a callback that already ran on its own (a closed handler)."""
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def install_signal_handlers(self) -> None:
        """Shut down on SIGTERM; only the main thread may install signal handlers."""
        if self._signals_installed or threading.current_thread() is not threading.main_thread():
            return
        signals = _signals()
        self._previous_sigterm = signals.signal(signals.SIGTERM, self._on_sigterm)
        self._signals_installed = True

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self.invoking or (self._loop is not None and self._loop.is_running()):
            # Mid-invoke: let the request finish, then shut down (see after_invoke).
            self.signal_pending = True
            return
        self._terminate(signum, frame)

    def after_invoke(self) -> None:
        """Honour a SIGTERM that arrived during the invoke that just ended.

        The invoke's response is already built, so the instance shuts down
        now; the process is left for the platform to end (it sent SIGTERM to
        end it), because exiting here would lose the response on its way out.
        """
        if self.signal_pending:
            self.signal_pending = False
            log = logging.getLogger(__name__)
            log.info("SIGTERM received during an invoke: shutting down after it")
            self.shutdown()

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("SIGTERM received: shutting down the instance")
        self.shutdown()
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
        elif previous != _signals().SIG_IGN:
            sys.exit(0)

    def shutdown(self, timeout: float | None = None) -> None:
        """Run every shutdown callback once, newest first, within ``timeout`` seconds.

        The deadline defaults to the longest any callback asked for (see
        :func:`current_instance`); a callback past it still runs, with 0 left,
        so that each gets to close what it can without waiting.
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + (timeout if timeout is not None else 2.0)
        while self._callbacks:
            callback = self._callbacks.pop()
            try:
                callback(max(0.0, deadline - time.monotonic()))
            except Exception:
                logging.getLogger(__name__).exception("shutdown callback %r failed", callback)
        loop = self._loop
        if loop is not None and not loop.is_running() and not loop.is_closed():
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()


_instance: Instance | None = None
_instance_lock = threading.Lock()


def current_instance() -> Instance:
    """The process's instance, created on first use (at cold start)."""
    global _instance
    instance = _instance
    if instance is None or instance.closed:
        with _instance_lock:
            if _instance is None or _instance.closed:
                _instance = Instance()
            instance = _instance
    return instance


def seconds_since_process_start() -> float:
    """Public face of the process age used for init times."""
    return _seconds_since_process_start()
