"""An app and its instance life, whatever front door delivers its requests.

:class:`HostedApp` is what every front door shares: the app's kind, its
lifespan startup at cold start, its runner on the instance's one loop, its
hooks, and its shutdown once at the end. The request loop
(:mod:`faasify.core.loop`) calls :meth:`HostedApp.respond` for each request.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from faasify.core.http import BAD_REQUEST, INTERNAL_ERROR, Request, Response
from faasify.core.instance import Instance, current_instance, seconds_since_process_start
from faasify.core.log import log_app_error, log_bad_event
from faasify.core.options import AppOptions

if TYPE_CHECKING:
    import asyncio

    from faasify.core.runners.asgi import ASGIRunner
    from faasify.core.runners.lifespan import LifespanCycle
    from faasify.core.runners.wsgi import WSGIRunner
    from faasify.core.types import WSGIEnviron

__all__ = ["HostedApp", "call_on_loop", "detect_app_kind"]


def detect_app_kind(app: object) -> Literal["asgi", "wsgi"]:
    """``"asgi"`` or ``"wsgi"``, from the app's call signature.

    An ``async def`` callable (or an object whose ``__call__`` is one) is ASGI;
    a plain callable taking two positional arguments is WSGI, three is ASGI.
    Anything else is ambiguous and needs :func:`asgi` or :func:`wsgi`.
    """
    if not callable(app):
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(f"the app must be callable, not {type(app).__name__}")
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        params = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        params = None
    if params is not None:
        positional = [
            p
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.default is inspect.Parameter.empty
        ]
        if len(positional) == 2:
            return "wsgi"
        if len(positional) == 3:
            return "asgi"
    from faasify._exceptions import ConfigurationError

    raise ConfigurationError(
        f"cannot tell whether {app!r} is a WSGI or an ASGI app; "
        "wrap it with faasify.wsgi(app) or faasify.asgi(app)"
    )


def call_on_loop(function: Callable[..., Any], instance: Instance, *args: Any) -> Any:
    """Call ``function``; if it is async, run it to completion on the instance's loop."""
    result = function(*args)
    if inspect.isawaitable(result):
        return instance.loop.run_until_complete(result)
    return result


class HostedApp:
    """A WSGI or ASGI app living on this instance: started once, run per request.

    Building it is the cold start (lifespan startup, ``on_startup`` hooks);
    :meth:`respond` is the per-request path; :meth:`close` runs once, on
    SIGTERM, at exit, or when called. ``options`` are checked already (an
    :class:`~faasify.core.options.AppOptions`); the default is all defaults.
    """

    def __init__(self, app: Any, options: AppOptions | None = None) -> None:
        started = time.perf_counter()
        options = AppOptions() if options is None else options
        if not isinstance(options, AppOptions):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(f"options must be an AppOptions, not {options!r}")
        self.app = app
        self.options = options
        self.kind: Literal["asgi", "wsgi"] = (
            detect_app_kind(app) if options.kind == "auto" else options.kind
        )
        self.shutdown_timeout = options.shutdown_timeout
        self.instance: Instance = current_instance()
        self._lifespan: LifespanCycle | None = None
        self._runner: ASGIRunner | WSGIRunner
        self._source = "unknown"
        if self.kind == "asgi":
            from faasify.core.runners.asgi import ASGIRunner
            from faasify.core.runners.lifespan import LifespanCycle

            loop = self.instance.loop
            self._lifespan = LifespanCycle(app, loop, options.lifespan)
            self._lifespan.startup()
            self._runner = ASGIRunner(app, loop, self._lifespan.state, self._report_late_error)
        else:
            from faasify.core.runners.wsgi import WSGIRunner

            self._runner = WSGIRunner(app)
        for hook in options.on_startup:
            call_on_loop(hook, self.instance)
        self._closed = False
        self.instance.on_shutdown(self.close)
        if options.handle_signals:
            self.instance.install_signal_handlers()
        #: Seconds spent in the app's startup (lifespan and hooks) at cold start.
        self.startup_seconds = time.perf_counter() - started
        #: Seconds from process start until the app was ready.
        self.init_seconds = seconds_since_process_start()

    @property
    def lifespan_supported(self) -> bool:
        """Whether the app completed ASGI lifespan startup (always False for WSGI)."""
        return self._lifespan is not None and self._lifespan.supported

    @property
    def lifespan_state(self) -> dict[str, Any] | None:
        """The state the ASGI lifespan startup filled (``None`` without one), which
        every request's scope gets a shallow copy of; for runners outside this module."""
        return None if self._lifespan is None else self._lifespan.state

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The instance's persistent event loop, shared with pools and hooks."""
        return self.instance.loop

    def respond(self, request: Request, source: str) -> Response:
        """The app's response to ``request``; a generic 500 (logged) if it raises.

        ``source`` names the event source in log lines.
        """
        self._source = source
        try:
            return self._runner.run(request)
        except Exception as exc:
            # The exceptions' module is imported by the first failure, not at cold start.
            from faasify._exceptions import InvalidRequestError

            if isinstance(exc, InvalidRequestError):
                log_bad_event(request.context, source, exc)
                return BAD_REQUEST
            log_app_error(
                request.context, source, request.method, request.root_path + request.path, exc
            )
            return INTERNAL_ERROR

    def respond_environ(
        self, environ: WSGIEnviron, context: Any, source: str, method: str, path: str
    ) -> Response:
        """A WSGI app's response to an environ a front door built itself.

        :meth:`respond`'s twin for the direct path (see
        :class:`~faasify.core.loop.RequestLoop`): ``method`` and ``path`` are
        the request's, read before the app could change the environ, for the
        log line if the app raises.
        """
        self._source = source
        try:
            return self._runner.call(environ)  # type: ignore[union-attr]
        except Exception as exc:
            from faasify._exceptions import InvalidRequestError

            if isinstance(exc, InvalidRequestError):
                log_bad_event(context, source, exc)
                return BAD_REQUEST
            log_app_error(context, source, method, path, exc)
            return INTERNAL_ERROR

    def _report_late_error(self, request: Request, exc: Exception) -> None:
        path = request.root_path + request.path
        log_app_error(request.context, self._source, request.method, path, exc)

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown (lifespan, then hooks) once, within ``timeout`` seconds.

        Called by the instance on SIGTERM or at exit; call it yourself to end an
        app early (in tests, say). Failures are logged, not raised: at shutdown
        there is no caller left to handle them.
        """
        if self._closed:
            return
        self._closed = True
        self.instance.remove_shutdown(self.close)
        budget = self.shutdown_timeout if timeout is None else min(timeout, self.shutdown_timeout)
        deadline = time.monotonic() + budget
        if self._lifespan is not None:
            try:
                self._lifespan.shutdown(max(0.0, budget))
            except Exception as exc:
                from faasify._exceptions import LifespanError

                if not isinstance(exc, LifespanError):
                    raise
                log = logging.getLogger(__name__)
                log.error("lifespan shutdown failed: %s", exc, exc_info=exc.__cause__)
        for hook in reversed(self.options.on_shutdown):
            left = deadline - time.monotonic()
            try:
                result = hook()
                if inspect.isawaitable(result):
                    import asyncio

                    self.loop.run_until_complete(asyncio.wait_for(result, max(0.0, left)))
            except Exception:
                logging.getLogger(__name__).exception("shutdown hook %r failed", hook)
