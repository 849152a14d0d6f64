"""The Lambda handler: event in, app called, response out, instance kept warm.

Everything that can be decided once is decided when the handler is built (at
cold start): the app's kind, its lifespan startup, the codec options. An
invoke is then: detect the event's source, decode, run, encode.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from faasify._exceptions import ConfigurationError, LifespanError, UnsupportedEventError
from faasify.adapters._body import TextTypes
from faasify.adapters._log import invoke_logger, log_app_error, log_bad_event, log_invoke
from faasify.adapters.events import (
    EventOptions,
    describe_event,
    detect_source,
    is_warmup_event,
)
from faasify.adapters.http import InvalidRequestError, Request, Response
from faasify.adapters.instance import Instance, current_instance, seconds_since_process_start

if TYPE_CHECKING:
    import asyncio

    from faasify.adapters.runners.asgi import ASGIRunner
    from faasify.adapters.runners.lifespan import LifespanCycle, LifespanMode
    from faasify.adapters.runners.wsgi import WSGIRunner
    from faasify.adapters.types import ASGIApp, WSGIApp

__all__ = ["AppKind", "Hook", "LambdaHandler", "asgi", "handler", "wsgi"]

logger = logging.getLogger("faasify.handler")

AppKind = Literal["auto", "asgi", "wsgi"]
#: A startup or shutdown hook: a plain function or a coroutine function.
Hook = Callable[[], Any]

_INTERNAL_ERROR = Response(
    500, [("Content-Type", "text/plain; charset=utf-8")], b"Internal Server Error"
)
_BAD_EVENT = Response(
    400, [("Content-Type", "text/plain; charset=utf-8")], b"Bad Request: malformed event"
)
_MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


def detect_app_kind(app: object) -> Literal["asgi", "wsgi"]:
    """``"asgi"`` or ``"wsgi"``, from the app's call signature.

    An ``async def`` callable (or an object whose ``__call__`` is one) is ASGI;
    a plain callable taking two positional arguments is WSGI, three is ASGI.
    Anything else is ambiguous and needs :func:`asgi` or :func:`wsgi`.
    """
    if not callable(app):
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
    raise ConfigurationError(
        f"cannot tell whether {app!r} is a WSGI or an ASGI app; "
        "wrap it with faasify.wsgi(app) or faasify.asgi(app)"
    )


def _run_hook(hook: Hook, instance: Instance) -> None:
    result = hook()
    if inspect.isawaitable(result):
        instance.loop.run_until_complete(result)


class LambdaHandler:
    """A callable ``(event, context) -> response`` for any supported event source.

    Build it once, at module scope, so that its work happens in the platform's
    init phase: ``lambda_handler = faasify.handler(app)``. See :func:`handler`
    for the options.
    """

    def __init__(
        self,
        app: Any,
        *,
        kind: AppKind = "auto",
        lifespan: LifespanMode = "auto",
        base_path: str = "",
        text_mime_types: Iterable[str] = (),
        on_startup: Iterable[Hook] = (),
        on_shutdown: Iterable[Hook] = (),
        is_warmup: Callable[[Any], bool] | None = None,
        shutdown_timeout: float = 1.5,
        handle_signals: bool = True,
    ) -> None:
        started = time.perf_counter()
        self.app = app
        self.kind: Literal["asgi", "wsgi"] = detect_app_kind(app) if kind == "auto" else kind
        if self.kind not in ("asgi", "wsgi"):
            raise ConfigurationError(f"kind must be 'auto', 'asgi' or 'wsgi', not {kind!r}")
        if base_path and (not base_path.startswith("/") or base_path.endswith("/")):
            raise ConfigurationError(
                f"base_path must start with '/' and not end with one, not {base_path!r}"
            )
        self._options = EventOptions(text_types=TextTypes(text_mime_types), base_path=base_path)
        self._is_warmup = is_warmup
        self._on_shutdown = list(on_shutdown)
        self.shutdown_timeout = shutdown_timeout
        self._instance: Instance = current_instance()
        self._lifespan: LifespanCycle | None = None
        self._runner: ASGIRunner | WSGIRunner
        if self.kind == "asgi":
            from faasify.adapters.runners.asgi import ASGIRunner
            from faasify.adapters.runners.lifespan import LifespanCycle

            loop = self._instance.loop
            self._lifespan = LifespanCycle(app, loop, lifespan)
            self._lifespan.startup()
            self._runner = ASGIRunner(app, loop, self._lifespan.state, self._report_late_error)
        else:
            from faasify.adapters.runners.wsgi import WSGIRunner

            self._runner = WSGIRunner(app)
        for hook in on_startup:
            _run_hook(hook, self._instance)
        self._closed = False
        self._instance.on_shutdown(self.close)
        if handle_signals:
            self._instance.install_signal_handlers()
        self._cold = True
        #: Seconds spent in the app's startup (lifespan and hooks) at cold start.
        self.startup_seconds = time.perf_counter() - started
        #: Seconds from process start until this handler was ready.
        self.init_seconds = seconds_since_process_start()
        #: Invokes answered so far (HTTP and warmup).
        self.invocations = 0

    @property
    def lifespan_supported(self) -> bool:
        """Whether the app completed ASGI lifespan startup (always False for WSGI)."""
        return self._lifespan is not None and self._lifespan.supported

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The instance's persistent event loop, shared with pools and hooks."""
        return self._instance.loop

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        logging_on = invoke_logger.isEnabledFor(logging.INFO)
        started = time.perf_counter() if logging_on else 0.0
        source = detect_source(event)
        if source is None:
            return self._not_http(event, context)
        method = None
        try:
            request = source.decode(event, context, self._options)
        except _MALFORMED as exc:
            log_bad_event(context, source.name, exc)
            response = _BAD_EVENT
        else:
            method = request.method
            try:
                response = self._runner.run(request)
            except InvalidRequestError as exc:
                log_bad_event(context, source.name, exc)
                response = _BAD_EVENT
            except Exception as exc:
                log_app_error(context, source.name, request.method, request.path, exc)
                response = _INTERNAL_ERROR
        result = source.encode(response, self._options)
        self.invocations += 1
        cold = self._cold
        if cold:
            self._cold = False
        if logging_on:
            log_invoke(
                context=context,
                source=source.name,
                method=method,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
                init_ms=self.init_seconds * 1000,
            )
        if self._instance.signal_pending:
            self._instance.after_invoke()
        return result

    def _report_late_error(self, request: Request, exc: Exception) -> None:
        source = detect_source(request.event)
        name = source.name if source is not None else "unknown"
        log_app_error(request.context, name, request.method, request.path, exc)

    def _not_http(self, event: Any, context: Any) -> dict[str, Any]:
        if is_warmup_event(event) or (self._is_warmup is not None and self._is_warmup(event)):
            self.invocations += 1
            cold, self._cold = self._cold, False
            return {"warmup": True, "cold_start": cold}
        shape = describe_event(event)
        raise UnsupportedEventError(
            f"faasify received {shape}, which is not an HTTP event it knows "
            "(API Gateway REST or HTTP API, Function URL, ALB) and has no route",
            shape=shape,
        )

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown (lifespan, then hooks) once, within ``timeout`` seconds.

        Called by the instance on SIGTERM or at exit; call it yourself to end a
        handler early (in tests, say). Failures are logged, not raised: at
        shutdown there is no caller left to handle them.
        """
        if self._closed:
            return
        self._closed = True
        self._instance.remove_shutdown(self.close)
        budget = self.shutdown_timeout if timeout is None else min(timeout, self.shutdown_timeout)
        deadline = time.monotonic() + budget
        if self._lifespan is not None:
            try:
                self._lifespan.shutdown(max(0.0, budget))
            except LifespanError as exc:
                logger.error("lifespan shutdown failed: %s", exc, exc_info=exc.__cause__)
        for hook in reversed(self._on_shutdown):
            left = deadline - time.monotonic()
            try:
                result = hook()
                if inspect.isawaitable(result):
                    import asyncio

                    self._instance.loop.run_until_complete(asyncio.wait_for(result, max(0.0, left)))
            except Exception:
                logger.exception("shutdown hook %r failed", hook)


def handler(app: Any, **options: Any) -> LambdaHandler:
    """A Lambda handler for ``app``, a WSGI or ASGI 3 app (detected).

    Options: ``lifespan`` (``"auto"``/``"on"``/``"off"``), ``base_path`` (a
    custom-domain prefix to move into the root path), ``text_mime_types``
    (extra media types sent as text rather than base64), ``on_startup`` and
    ``on_shutdown`` (hooks run at cold start and at shutdown), ``is_warmup``
    (a predicate for keep-warm pings), ``shutdown_timeout`` (seconds) and
    ``handle_signals`` (shut down on SIGTERM).
    """
    return LambdaHandler(app, **options)


def asgi(app: ASGIApp, **options: Any) -> LambdaHandler:
    """A Lambda handler for an ASGI 3 app, skipping detection."""
    return LambdaHandler(app, kind="asgi", **options)


def wsgi(app: WSGIApp, **options: Any) -> LambdaHandler:
    """A Lambda handler for a WSGI app, skipping detection."""
    return LambdaHandler(app, kind="wsgi", **options)
