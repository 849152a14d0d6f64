"""The one request loop: what every front door does with each request.

A front door is a :class:`Codec` (event in, request out; response in, result
out) plus its host's contract: how the host calls the function, whether from
several threads, whether the app may start at import. Everything else is
here, once: timing, decoding under a guard, taking turns on the instance's
loop, the app's response, encoding with a 500 fallback, the invoke's log line,
a SIGTERM that arrived mid-invoke.

The guard is narrow on purpose. A codec raises
:class:`~faasify.MalformedEventError` for an event it cannot read, and that
alone becomes a 400; any other exception from a codec is a bug in faasify,
answered with a 500 and logged with its traceback, not passed off as the
client's fault.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faasify.core.hosted import HostedApp
from faasify.core.http import BAD_REQUEST, INTERNAL_ERROR, Request, Response
from faasify.core.instance import Instance
from faasify.core.log import (
    invoke_logger,
    log_bad_event,
    log_internal_error,
    log_invoke,
    log_startup_failure,
)

if TYPE_CHECKING:
    from typing import TypeVar

    from faasify.core.codec import Codec, Executor
    from faasify.core.types import WSGIEnviron

    _T = TypeVar("_T")

__all__ = ["RequestLoop"]

_INFO = logging.INFO


def _no_codec(event: Any) -> Codec | None:
    return None


def _no_environ(event: Any, context: Any) -> None:
    """The environ builder of a codec without one: every request takes the general path."""
    return None


def _undecoded(context: Any, source: str, exc: Exception) -> Response:
    """The answer to an event its codec could not read: a 400 for a malformed
    event, a 500 for anything else (a bug in faasify, logged with its traceback).

    The exceptions' module is imported by the first such event, not at cold start.
    """
    from faasify._exceptions import MalformedEventError

    if isinstance(exc, MalformedEventError):
        log_bad_event(context, source, exc)
        return BAD_REQUEST
    log_internal_error(context, source, "decode", exc)
    return INTERNAL_ERROR


def _call_here(function: Callable[..., _T], /, *args: Any) -> _T:
    return function(*args)


class RequestLoop:
    """Serves requests through a codec to a :class:`HostedApp`: ``loop(event, context)``.

    ``app`` is the hosted app, or a function that builds it when the first
    request arrives (for hosts that fork after import, or that cannot run the
    instance's loop at import): a failed build is logged and answered with a
    500, and the next request tries again. ``codec`` is the front door's codec;
    a loop without one picks it per event with :meth:`codec_for`. ``threads``
    says that the host calls from several threads at once: an ASGI app then
    takes turns on the instance's one loop, while a WSGI app runs concurrently.
    ``executor`` runs the app's work somewhere else than the calling thread.
    ``detect`` picks the codec per event when there is no fixed ``codec``; an
    event it has none for goes to :meth:`unrouted`.
    """

    def __init__(
        self,
        app: HostedApp | Callable[[], HostedApp],
        *,
        codec: Codec | None = None,
        detect: Callable[[Any], Codec | None] | None = None,
        threads: bool = False,
        executor: Executor | None = None,
    ) -> None:
        if (codec is None) == (detect is None):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError("a request loop needs a codec or a detect function")
        self._codec = codec
        self._detect: Callable[[Any], Codec | None] = detect or _no_codec
        self._threads = threads
        self._run: Executor | None = executor
        self._turn: threading.Lock | None = None
        self._hosted: HostedApp | None = None
        self._instance: Instance | None = None
        self._direct = False
        self._build: Callable[[], HostedApp] | None = None
        self._building = threading.Lock()
        self._cold = True
        # Codec id -> its WSGI environ builder, for a WSGI app called right here
        # (see _serve_environ); None for every other app.
        self._environs: dict[int, Callable[[Any, Any], WSGIEnviron | None]] | None = None
        self._pinned: list[Codec] = []
        #: Requests answered so far.
        self.invocations = 0
        if isinstance(app, HostedApp):
            self._adopt(app)
        elif callable(app):
            self._build = app
        else:
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(f"app must be a HostedApp or a function, not {app!r}")

    # -- the app ----------------------------------------------------------------

    def _adopt(self, hosted: HostedApp) -> None:
        if self._threads and hosted.kind == "asgi":
            self._turn = threading.Lock()
        # The common case, checked once per request: the app runs right here.
        self._direct = self._turn is None and self._run is None
        # A fixed codec without a builder of its own would only ever decline.
        offers = self._codec is None or hasattr(self._codec, "wsgi_environ")
        if self._direct and hosted.kind == "wsgi" and offers:
            self._environs = {}
        self._instance = hosted.instance
        self._hosted = hosted

    def _start(self, context: Any, source: str) -> HostedApp | None:
        """The hosted app, built now if it was left for the first request."""
        with self._building:
            if self._hosted is None and self._build is not None:
                run = self._run or _call_here
                try:
                    self._adopt(run(self._build))
                except Exception as exc:
                    from faasify._exceptions import ConfigurationError

                    if isinstance(exc, ConfigurationError):
                        raise  # cannot get better by trying again
                    log_startup_failure(context, source, exc)
        return self._hosted

    def start(self) -> HostedApp | None:
        """Start the app now rather than with the first request, where the host
        allows it; a failure is logged and left for the first request to retry."""
        hosted = self._hosted
        if hosted is None:
            hosted = self._start(None, getattr(self._codec, "source", "unknown"))
        return hosted

    @property
    def hosted(self) -> HostedApp | None:
        """The app on this instance; ``None`` while it has not started."""
        return self._hosted

    # -- the loop -----------------------------------------------------------------

    def unrouted(self, event: Any, context: Any) -> Any:
        """The answer to an event no codec reads; front doors with other routes override it."""
        from faasify._exceptions import UnsupportedEventError

        raise UnsupportedEventError(
            f"no front door reads a {type(event).__name__} event", shape=type(event).__name__
        )

    def __call__(self, event: Any, context: Any = None) -> Any:
        codec = self._codec
        if codec is None:
            codec = self._detect(event)
            if codec is None:
                return self.unrouted(event, context)
        logging_on = invoke_logger.isEnabledFor(_INFO)
        started = time.perf_counter() if logging_on else 0.0
        hosted = self._hosted
        if hosted is None:
            hosted = self._start(context, codec.source)
        request = None
        response: Response
        if hosted is None:
            response = INTERNAL_ERROR
        else:
            environs = self._environs
            if environs is not None:
                build = environs.get(id(codec)) or self._environ_builder(codec)
                environ = build(event, context)
                if environ is not None:
                    return self._serve_environ(
                        codec, environ, event, context, hosted, logging_on, started
                    )
            try:
                request = codec.decode(event, context)
            except Exception as exc:
                response = _undecoded(context, codec.source, exc)
            else:
                busy = hosted.instance
                busy.invoking += 1
                try:
                    if self._direct:
                        response = hosted.respond(request, codec.source)
                    else:
                        response = self._respond_elsewhere(hosted, request, codec.source)
                finally:
                    busy.invoking -= 1
        try:
            result = codec.encode(response, event, context)
        except Exception as exc:
            log_internal_error(context, codec.source, "encode", exc)
            response = INTERNAL_ERROR
            result = codec.encode(response, event, context)
        self.invocations += 1
        cold = self._cold
        if cold:
            self._cold = False
        if logging_on:
            log_invoke(
                context=context if request is None else request.context,
                source=codec.source,
                method=None if request is None else request.method,
                path=None if request is None else request.root_path + request.path,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
                init_ms=None if hosted is None else hosted.init_seconds * 1000,
            )
        instance = self._instance
        if instance is not None and instance.signal_pending:
            instance.after_invoke()
        return result

    # -- the direct WSGI path -------------------------------------------------------

    def _environ_builder(self, codec: Codec) -> Callable[[Any, Any], WSGIEnviron | None]:
        """The codec's own environ builder, asked for once per codec (at its first event).

        A codec without one (or one outside AWS) gets a builder that always
        declines, so that its requests take the general path.
        """
        offer = getattr(codec, "wsgi_environ", None)
        build = offer() if offer is not None else None
        if build is None:
            build = _no_environ
        assert self._environs is not None
        self._pinned.append(codec)  # keeps id(codec) its own while it is a key
        self._environs[id(codec)] = build
        return build

    def _serve_environ(
        self,
        codec: Codec,
        environ: WSGIEnviron,
        event: Any,
        context: Any,
        hosted: HostedApp,
        logging_on: bool,
        started: float,
    ) -> Any:
        """The rest of an invoke whose environ the codec built straight from the event.

        What :meth:`__call__` does after decoding, for a WSGI app called right
        here: the request never exists, so the log lines take the method and
        path from the environ, read before the app may rewrite it.
        """
        method = environ["REQUEST_METHOD"]
        path = environ["SCRIPT_NAME"] + environ["PATH_INFO"]
        busy = hosted.instance
        busy.invoking += 1
        try:
            response = hosted.respond_environ(environ, context, codec.source, method, path)
        finally:
            busy.invoking -= 1
        # The same end as __call__'s (kept apart so that the general path
        # pays no extra call for sharing it).
        try:
            result = codec.encode(response, event, context)
        except Exception as exc:
            log_internal_error(context, codec.source, "encode", exc)
            response = INTERNAL_ERROR
            result = codec.encode(response, event, context)
        self.invocations += 1
        cold = self._cold
        if cold:
            self._cold = False
        if logging_on:
            log_invoke(
                context=context,
                source=codec.source,
                method=method,
                path=path,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
                init_ms=hosted.init_seconds * 1000,
            )
        instance = self._instance
        if instance is not None and instance.signal_pending:
            instance.after_invoke()
        return result

    def _respond_elsewhere(self, hosted: HostedApp, request: Request, source: str) -> Response:
        """The app's response, taking turns with other threads or on the executor."""
        run = self._run or _call_here
        turn = self._turn
        if turn is None:
            return run(hosted.respond, request, source)
        with turn:
            return run(hosted.respond, request, source)

    def close(self, timeout: float | None = None) -> None:
        """Run the app's shutdown once, if it started; see :meth:`HostedApp.close`."""
        hosted = self._hosted
        if hosted is not None:
            (self._run or _call_here)(hosted.close, timeout)
