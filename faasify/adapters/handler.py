"""The Lambda handler: event in, app called, response out, instance kept warm.

Everything that can be decided once is decided when the handler is built (at
cold start): the app and its instance life (:class:`HostedApp`), the codec
options. An invoke is then: detect the event's source, decode, run, encode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from faasify._exceptions import UnsupportedEventError
from faasify.adapters._body import TextTypes
from faasify.adapters._log import invoke_logger, log_bad_event, log_invoke
from faasify.adapters.events import (
    EventOptions,
    check_base_path,
    describe_event,
    detect_source,
    is_warmup_event,
)
from faasify.adapters.hosted import BAD_REQUEST, AppKind, Hook, HostedApp, detect_app_kind

if TYPE_CHECKING:
    import asyncio

    from faasify.adapters.records import RecordFunction, RecordSource, Routes
    from faasify.adapters.runners.lifespan import LifespanMode
    from faasify.adapters.types import ASGIApp, WSGIApp

__all__ = ["LambdaHandler", "asgi", "detect_app_kind", "handler", "wsgi"]

_MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


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
        check_base_path(base_path)
        self.hosted = HostedApp(
            app,
            kind=kind,
            lifespan=lifespan,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            shutdown_timeout=shutdown_timeout,
            handle_signals=handle_signals,
        )
        self.app = app
        self.kind = self.hosted.kind
        self._options = EventOptions(text_types=TextTypes(text_mime_types), base_path=base_path)
        self._is_warmup = is_warmup
        self._instance = self.hosted.instance
        self._routes: Routes | None = None  # created by the first on_* registration
        self._cold = True
        #: Invokes answered so far (HTTP and warmup).
        self.invocations = 0

    @property
    def lifespan_supported(self) -> bool:
        """Whether the app completed ASGI lifespan startup (always False for WSGI)."""
        return self.hosted.lifespan_supported

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The instance's persistent event loop, shared with pools and hooks."""
        return self.hosted.loop

    @property
    def startup_seconds(self) -> float:
        """Seconds spent in the app's startup (lifespan and hooks) at cold start."""
        return self.hosted.startup_seconds

    @property
    def init_seconds(self) -> float:
        """Seconds from process start until the handler was ready."""
        return self.hosted.init_seconds

    def __call__(self, event: Any, context: Any = None) -> Any:
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
            response = BAD_REQUEST
        else:
            method = request.method
            response = self.hosted.respond(request, source.name)
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
                init_ms=self.hosted.init_seconds * 1000,
            )
        if self._instance.signal_pending:
            self._instance.after_invoke()
        return result

    def _not_http(self, event: Any, context: Any) -> Any:
        if is_warmup_event(event) or (self._is_warmup is not None and self._is_warmup(event)):
            self.invocations += 1
            cold, self._cold = self._cold, False
            return {"warmup": True, "cold_start": cold}
        from faasify.adapters.records import record_source

        source = record_source(event)
        if source is not None and self._routes is not None and source in self._routes:
            self.invocations += 1
            self._cold = False
            try:
                return self._routes.dispatch(source, event, context)
            finally:
                if self._instance.signal_pending:
                    self._instance.after_invoke()
        shape = describe_event(event)
        hint = (
            f"; register a function with @lambda_handler.on_{source}"
            if source is not None
            else " (API Gateway REST or HTTP API, Function URL, ALB)"
        )
        raise UnsupportedEventError(
            f"faasify received {shape}, which is not an HTTP event and has no route{hint}",
            shape=shape,
        )

    # -- routes for non-HTTP events (see faasify.adapters.records) -------------

    def _register(self, source: RecordSource, function: RecordFunction) -> RecordFunction:
        if self._routes is None:
            from faasify.adapters.records import Routes

            self._routes = Routes(self._instance)
        return self._routes.register(source, function)

    def on_sqs(self, function: RecordFunction) -> RecordFunction:
        """Register ``function(record)`` for SQS messages (partial batch failures)."""
        return self._register("sqs", function)

    def on_sns(self, function: RecordFunction) -> RecordFunction:
        """Register ``function(record)`` for SNS notifications."""
        return self._register("sns", function)

    def on_s3(self, function: RecordFunction) -> RecordFunction:
        """Register ``function(record)`` for S3 event notifications."""
        return self._register("s3", function)

    def on_eventbridge(self, function: RecordFunction) -> RecordFunction:
        """Register ``function(event)`` for EventBridge events, schedules included."""
        return self._register("eventbridge", function)

    def on_kinesis(self, function: RecordFunction) -> RecordFunction:
        """Register ``function(record)`` for Kinesis records (in order, stop at a failure)."""
        return self._register("kinesis", function)

    def on_dynamodb(self, function: RecordFunction) -> RecordFunction:
        """Register ``function(record)`` for DynamoDB Streams records (in order)."""
        return self._register("dynamodb", function)

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown (lifespan, then hooks) once; see :meth:`HostedApp.close`."""
        self.hosted.close(timeout)


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
