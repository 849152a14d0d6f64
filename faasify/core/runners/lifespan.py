"""The ASGI lifespan protocol, run once per instance on its persistent loop.

Startup runs when the handler is built (the platform's init phase), and the
lifespan task then stays suspended on the instance's loop, waiting for the
shutdown message, across every warm invoke. Pools and clients that the app
opens in its lifespan therefore live as long as the instance does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faasify.core.options import LifespanMode
    from faasify.core.types import ASGIApp, Message

__all__ = ["LifespanCycle", "LifespanMode"]

logger = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    if name == "LifespanMode":  # re-exported, built on first use (faasify.core.options)
        from faasify.core import options

        return options.LifespanMode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LifespanCycle:
    """Drives one app's lifespan: :meth:`startup` once, :meth:`shutdown` once.

    Mode ``"auto"`` treats an app that raises before answering the startup
    message as one without lifespan support (as uvicorn and mangum do);
    ``"on"`` makes that an error; ``"off"`` never calls the app with a
    lifespan scope. In every mode an app that answers ``startup.failed``, or
    raises after starting to answer, fails the cold start.
    """

    def __init__(
        self, app: ASGIApp, loop: asyncio.AbstractEventLoop, mode: LifespanMode = "auto"
    ) -> None:
        if mode not in ("auto", "on", "off"):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(f"lifespan must be 'auto', 'on' or 'off', not {mode!r}")
        self._app = app
        self._loop = loop
        self._mode = mode
        #: The lifespan state shared (shallow-copied) into every request scope;
        #: ``None`` when the app does not support lifespan.
        self.state: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._sent: list[Message] = []
        self._message_arrived: asyncio.Event | None = None
        self._shutdown_requested: asyncio.Event | None = None
        self._app_error: BaseException | None = None
        self._receives = 0
        self._started = False
        self._closed = False

    @property
    def supported(self) -> bool:
        """Whether the app completed lifespan startup."""
        return self._started

    async def _receive(self) -> Message:
        self._receives += 1
        if self._receives == 1:
            return {"type": "lifespan.startup"}
        assert self._shutdown_requested is not None
        await self._shutdown_requested.wait()
        if self._receives == 2:
            return {"type": "lifespan.shutdown"}
        # Nothing comes after shutdown: an app that asks again waits, as under
        # uvicorn, until the deadline cancels it (it must not spin).
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable: the future is never set")

    async def _send(self, message: Message) -> None:
        self._sent.append(message)
        assert self._message_arrived is not None
        self._message_arrived.set()

    async def _main(self) -> None:
        scope: dict[str, Any] = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self._app(scope, self._receive, self._send)
        except BaseException as exc:
            self._app_error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            assert self._message_arrived is not None
            self._message_arrived.set()

    async def _next_message(self) -> Message | None:
        """The app's next lifespan message, or ``None`` if the app returned first."""
        assert self._message_arrived is not None
        assert self._task is not None
        while not self._sent:
            if self._task.done():
                return None
            self._message_arrived.clear()
            await self._message_arrived.wait()
        return self._sent.pop(0)

    def startup(self) -> None:
        """Run lifespan startup to completion on the loop; raise if it fails."""
        if self._mode == "off" or self._started:
            return
        loop = self._loop
        self.state = {}

        async def begin() -> Message | None:
            self._message_arrived = asyncio.Event()
            self._shutdown_requested = asyncio.Event()
            self._task = loop.create_task(self._main())
            return await self._next_message()

        message = loop.run_until_complete(begin())
        kind = message["type"] if message else None
        if kind == "lifespan.startup.complete":
            self._started = True
            return
        if kind == "lifespan.startup.failed":
            # Starlette answers "failed" and then re-raises; let that land so
            # the app's own exception is the cause users see.
            assert self._task is not None
            loop.run_until_complete(asyncio.wait({self._task}, timeout=1.0))
            text = message.get("message") if message else ""
            from faasify._exceptions import LifespanStartupError

            error = LifespanStartupError(f"lifespan startup failed: {text or 'no message'}")
            raise error from self._app_error
        if self._mode == "auto" and (message is None or not str(kind).startswith("lifespan.")):
            # The app raised or returned before answering, or answered as if the
            # scope were HTTP: it does not support lifespan (uvicorn and mangum
            # read it so too). Said once, at cold start.
            logger.info(
                "the app does not support the ASGI lifespan protocol (%s); going on without it",
                f"it sent {kind!r}" if message else f"it raised {self._app_error!r}",
            )
            self._forget_task()
            self.state = None
            return
        from faasify._exceptions import LifespanStartupError

        raise LifespanStartupError(
            f"lifespan startup did not complete (app sent {kind!r})"
        ) from self._app_error

    def _forget_task(self) -> None:
        """End what is left of a lifespan task that turned out not to be one."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            self._loop.run_until_complete(asyncio.wait({task}, timeout=0.1))
        self._task = None

    def shutdown(self, timeout: float) -> None:
        """Send ``lifespan.shutdown`` and wait up to ``timeout`` seconds for the answer."""
        if not self._started or self._closed:
            return
        self._closed = True
        assert self._shutdown_requested is not None
        assert self._task is not None
        task = self._task
        self._shutdown_requested.set()

        async def finish() -> Message | None:
            return await asyncio.wait_for(self._next_message(), timeout)

        try:
            message = self._loop.run_until_complete(finish())
        except asyncio.TimeoutError:
            task.cancel()
            from faasify._exceptions import LifespanShutdownError

            raise LifespanShutdownError(
                f"lifespan shutdown did not finish within {timeout:g}s"
            ) from None
        finally:
            if not task.done():
                task.cancel()
                self._loop.run_until_complete(asyncio.wait({task}, timeout=0.1))
        kind = message["type"] if message else None
        if kind != "lifespan.shutdown.complete":
            detail = message.get("message") if message else "app returned without answering"
            from faasify._exceptions import LifespanShutdownError

            raise LifespanShutdownError(f"lifespan shutdown failed: {detail}") from self._app_error
