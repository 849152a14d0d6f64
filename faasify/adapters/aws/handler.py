"""The Lambda handler: event in, app called, response out, instance kept warm.

Everything that can be decided once is decided when the handler is built (at
cold start): the app and its instance life (:class:`~faasify.core.HostedApp`),
one codec per event shape with the handler's options. An invoke is then the
one request loop (:class:`~faasify.core.RequestLoop`) with the codec that
detection picks; events that are not HTTP go to the functions registered with
``on_sqs`` and its siblings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from faasify.adapters.aws.codecs import AwsCodecs, describe_event, is_warmup_event
from faasify.core.hosted import HostedApp
from faasify.core.loop import RequestLoop
from faasify.core.options import AppOptions, check_base_path, check_text_mime_types

if TYPE_CHECKING:
    import asyncio
    from typing import TypeVar

    from faasify.adapters.aws.records import RecordSource, Routes
    from faasify.adapters.aws.websocket.connections import Connections
    from faasify.adapters.aws.websocket.cycle import WebSocketRoute
    from faasify.core.options import AppKind, Hook, LifespanMode
    from faasify.core.types import ASGIApp, WSGIApp

    #: A function registered for non-HTTP events keeps its own signature.
    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["LambdaHandler", "asgi", "handler", "wsgi"]


class LambdaHandler(RequestLoop):
    """A callable ``(event, context) -> response`` for every AWS event shape.

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
        options = AppOptions(
            kind=kind,
            lifespan=lifespan,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            shutdown_timeout=shutdown_timeout,
            handle_signals=handle_signals,
        )
        text_types = check_text_mime_types(text_mime_types)
        checked_base_path = check_base_path(base_path)
        if is_warmup is not None and not callable(is_warmup):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(f"is_warmup must be a function, not {is_warmup!r}")
        self._codecs = AwsCodecs(text_mime_types=text_types, base_path=checked_base_path)
        self._app = HostedApp(app, options)
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
            # faasify's SnapStart hooks (pools closed before the snapshot,
            # random reseeded after each restore), for whichever runtime runs them.
            from faasify.adapters.aws.runtime.snapstart import register_hooks

            register_hooks()
        super().__init__(self._app, detect=self._codecs.detect)
        self.app = app
        self.kind = self._app.kind
        self._is_warmup = is_warmup
        self._routes: Routes | None = None  # created by the first on_* registration
        self._websocket: WebSocketRoute | None = None  # created by the first WebSocket event

    @property
    def hosted(self) -> HostedApp:
        """The app on this instance, started when the handler was built."""
        return self._app

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

    def unrouted(self, event: Any, context: Any) -> Any:
        """A keep-warm ping, a record batch with a registered function, or an error."""
        if is_warmup_event(event) or (self._is_warmup is not None and self._is_warmup(event)):
            self.invocations += 1
            cold, self._cold = self._cold, False
            return {"warmup": True, "cold_start": cold}
        from faasify.adapters.aws.websocket.events import is_websocket_event

        if is_websocket_event(event):
            self.invocations += 1
            self._cold = False
            return (self._websocket or self.websockets())(event, context)
        from faasify.adapters.aws.records import record_source

        source = record_source(event)
        if source is not None and self._routes is not None and source in self._routes:
            self.invocations += 1
            self._cold = False
            instance = self.hosted.instance
            instance.invoking += 1
            try:
                return self._routes.dispatch(source, event, context)
            finally:
                instance.invoking -= 1
                if instance.signal_pending:
                    instance.after_invoke()
        shape = describe_event(event)
        hint = (
            f"; register a function with @lambda_handler.on_{source}"
            if source is not None
            else " (API Gateway REST, HTTP or WebSocket API, Function URL, ALB, VPC Lattice, "
            "Lambda@Edge)"
        )
        from faasify._exceptions import UnsupportedEventError

        raise UnsupportedEventError(
            f"faasify received {shape}, which is not an HTTP event and has no route{hint}",
            shape=shape,
        )

    def websockets(
        self,
        *,
        path: str = "/",
        endpoint: str | None = None,
        connections: Connections | None = None,
    ) -> WebSocketRoute:
        """Set how API Gateway WebSocket events reach the app, and return the route.

        ``path`` is the app's websocket route (``"/ws"``: the scope's path);
        ``endpoint`` the ``@connections`` base URL (default: each event's
        ``https://{domainName}/{stage}``); ``connections`` a client of your own.
        Without a call, WebSocket events reach ``"/"`` with the default client.
        See :mod:`faasify.adapters.aws.websocket`.
        """
        from faasify.adapters.aws.websocket.cycle import WebSocketRoute

        self._websocket = WebSocketRoute(
            self.hosted, path=path, endpoint=endpoint, connections=connections
        )
        return self._websocket

    # -- routes for non-HTTP events (see faasify.adapters.aws.records) -------------

    def _register(self, source: RecordSource, function: F) -> F:
        if self._routes is None:
            from faasify.adapters.aws.records import Routes

            self._routes = Routes(self.hosted.instance)
        self._routes.register(source, function)
        return function

    def on_sqs(self, function: F) -> F:
        """Register ``function(record)`` for SQS messages (partial batch failures)."""
        return self._register("sqs", function)

    def on_sns(self, function: F) -> F:
        """Register ``function(record)`` for SNS notifications."""
        return self._register("sns", function)

    def on_s3(self, function: F) -> F:
        """Register ``function(record)`` for S3 event notifications."""
        return self._register("s3", function)

    def on_eventbridge(self, function: F) -> F:
        """Register ``function(event)`` for EventBridge events, schedules included."""
        return self._register("eventbridge", function)

    def on_kinesis(self, function: F) -> F:
        """Register ``function(record)`` for Kinesis records (in order, stop at a failure)."""
        return self._register("kinesis", function)

    def on_dynamodb(self, function: F) -> F:
        """Register ``function(record)`` for DynamoDB Streams records (in order)."""
        return self._register("dynamodb", function)


def handler(
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
) -> LambdaHandler:
    """A Lambda handler for ``app``, a WSGI or ASGI 3 app (its kind detected).

    - ``kind``: ``"asgi"`` or ``"wsgi"`` where detection cannot tell.
    - ``lifespan``: ``"auto"`` runs the ASGI lifespan if the app supports it,
      ``"on"`` requires it, ``"off"`` skips it. It runs once per instance.
    - ``base_path``: a custom domain's base path (``"/api"``), moved from the
      path into the root path so that routes match without it and links keep it.
    - ``text_mime_types``: more media types to send as text, not base64.
    - ``on_startup`` / ``on_shutdown``: functions (or coroutine functions) run
      once at cold start and once at shutdown.
    - ``is_warmup``: a predicate for keep-warm pings of your own making.
    - ``shutdown_timeout``: seconds for the whole shutdown.
    - ``handle_signals``: shut the instance down on SIGTERM.

    A value that cannot work raises :class:`~faasify.ConfigurationError` here.
    """
    return LambdaHandler(
        app,
        kind=kind,
        lifespan=lifespan,
        base_path=base_path,
        text_mime_types=text_mime_types,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        is_warmup=is_warmup,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )


def asgi(
    app: ASGIApp,
    *,
    lifespan: LifespanMode = "auto",
    base_path: str = "",
    text_mime_types: Iterable[str] = (),
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    is_warmup: Callable[[Any], bool] | None = None,
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> LambdaHandler:
    """A Lambda handler for an ASGI 3 app, without detection; options as :func:`handler`'s."""
    return LambdaHandler(
        app,
        kind="asgi",
        lifespan=lifespan,
        base_path=base_path,
        text_mime_types=text_mime_types,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        is_warmup=is_warmup,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )


def wsgi(
    app: WSGIApp,
    *,
    lifespan: LifespanMode = "auto",
    base_path: str = "",
    text_mime_types: Iterable[str] = (),
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    is_warmup: Callable[[Any], bool] | None = None,
    shutdown_timeout: float = 1.5,
    handle_signals: bool = True,
) -> LambdaHandler:
    """A Lambda handler for a WSGI app, without detection; options as :func:`handler`'s.

    ``lifespan`` is accepted (and checked) for symmetry; a WSGI app has none.
    """
    return LambdaHandler(
        app,
        kind="wsgi",
        lifespan=lifespan,
        base_path=base_path,
        text_mime_types=text_mime_types,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        is_warmup=is_warmup,
        shutdown_timeout=shutdown_timeout,
        handle_signals=handle_signals,
    )
