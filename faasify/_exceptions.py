"""The exceptions faasify raises, in one hierarchy.

Catch :class:`FaasifyError` to handle anything faasify itself reports, or a
subclass to handle one kind of failure. Errors raised by the wrapped app are
never wrapped in these: an app's own exception stays the app's.

```
FaasifyError
├── ConfigurationError          options that cannot work (also TypeError, ValueError)
├── EventError                  an event could not be turned into a request
│   ├── UnsupportedEventError   no front door recognises the event's shape
│   └── MalformedEventError     the shape is known but a field is missing or wrong
│       └── InvalidRequestError the request cannot be handed to the app
├── AppError                    the app broke a protocol faasify drives
│   ├── IncompleteResponseError the app returned without answering
│   ├── AppProtocolError        the app sent a message out of turn (also a RuntimeError)
│   ├── LifespanError           startup or shutdown did not complete
│   │   ├── LifespanStartupError
│   │   └── LifespanShutdownError
│   └── RecordsFailedError      records of a batch failed (so the platform retries)
├── PoolError                   a pool could not give the app a connection
│   ├── PoolConnectError        the server cannot be reached within connect_timeout
│   └── PoolTimeoutError        every connection stayed busy for acquire_timeout
└── LocalRuntimeError           the local FaaS runtime could not run an invoke (also a RuntimeError)
    ├── InitFailed              an instance did not finish its init phase
    ├── InvokeTimedOut          an invoke ran past its timeout
    ├── InstancesBusy           every instance stayed busy past the queue timeout
    └── QueueUnavailable        the asynchronous invocations' queue cannot take an event
```

The data service and its client (:mod:`faasify.baas`) and the packager
(:mod:`faasify.package`) add their own branches under :class:`FaasifyError`.
"""

from __future__ import annotations

__all__ = [
    "AppError",
    "AppProtocolError",
    "ConfigurationError",
    "EventError",
    "FaasifyError",
    "IncompleteResponseError",
    "InitFailed",
    "InstancesBusy",
    "InvalidRequestError",
    "InvokeTimedOut",
    "LifespanError",
    "LifespanShutdownError",
    "LifespanStartupError",
    "LocalRuntimeError",
    "MalformedEventError",
    "PoolConnectError",
    "PoolError",
    "PoolTimeoutError",
    "QueueUnavailable",
    "RecordsFailedError",
    "UnsupportedEventError",
]


class FaasifyError(Exception):
    """Root of every error faasify raises on its own account."""


class ConfigurationError(FaasifyError, TypeError, ValueError):
    """A handler, pool or service cannot be built as asked (an unknown option value,
    an app of unknown kind).

    It is also a :class:`TypeError` and a :class:`ValueError`, since it is raised
    for arguments of the wrong kind or value, which is what callers of a
    constructor expect to catch. Options
    are checked where the handler is built, at cold start, so a wrong one fails
    the deployment rather than the first request.
    """


class EventError(FaasifyError):
    """An invocation event could not be translated into an HTTP request."""


class UnsupportedEventError(EventError):
    """No front door recognises the event.

    The message names the shape that was seen (an SQS batch, an EventBridge
    event, a dict with certain keys) so that a misrouted trigger is obvious in
    the function's logs.
    """

    def __init__(self, message: str, *, shape: str) -> None:
        super().__init__(message)
        self.shape = shape


class MalformedEventError(EventError):
    """The event looks like a known shape but a field is missing or wrong.

    Codecs raise it; the request loop answers it with a 400 response shaped for
    the front door and one log line, and catches nothing broader, so a bug
    inside faasify stays a 500 rather than passing for the client's fault.
    ``field`` names what was wrong (``"headers"``, ``"requestContext.http.method"``)
    when the codec can tell; ``source`` is the front door's name.
    """

    def __init__(self, message: str, *, field: str | None = None, source: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.source = source


class InvalidRequestError(MalformedEventError, ValueError):
    """A request that a runner cannot hand to the app (a header that is not a
    string, say), found before the app is called; answered like any malformed
    event."""


class AppError(FaasifyError):
    """The wrapped app broke a protocol that faasify drives (ASGI, WSGI, lifespan,
    record batches)."""


class IncompleteResponseError(AppError):
    """The app returned without sending a whole response."""


class AppProtocolError(AppError, RuntimeError):
    """The app sent an ASGI message out of turn (a body before the start, a start
    twice). Raised into the app, from its ``send``; a :class:`RuntimeError` too,
    as servers raise there."""


class LifespanError(AppError):
    """The app's lifespan protocol did not complete."""


class LifespanStartupError(LifespanError):
    """Startup failed; raised at cold start so that the platform sees an init error."""


class LifespanShutdownError(LifespanError):
    """Shutdown failed or ran past its deadline."""


class RecordsFailedError(AppError):
    """Records of an SNS or S3 event failed; raised so that Lambda retries the event."""

    def __init__(self, source: str, failed: list[str]) -> None:
        super().__init__(f"{len(failed)} {source} record(s) failed: {', '.join(failed)}")
        self.source = source
        self.failed = failed


class PoolError(FaasifyError):
    """A pool could not give the app a working connection."""


class PoolConnectError(PoolError):
    """The server could not be reached (refused, unresolvable, or silent past
    ``connect_timeout``). Raised quickly, so the invoke fails with a clear error
    instead of hanging until the function's own timeout."""


class PoolTimeoutError(PoolError):
    """No connection came free within ``acquire_timeout`` (the pool is exhausted)."""


class LocalRuntimeError(FaasifyError, RuntimeError):
    """The local FaaS runtime (``faasify local``) could not run an invoke."""


class InitFailed(LocalRuntimeError):
    """An instance could not finish its init phase; the message says why in one line."""

    def __init__(self, reason: str, stack: str | None = None) -> None:
        super().__init__(reason)
        #: The init code's stack trace, when it raised.
        self.stack = stack


class InvokeTimedOut(LocalRuntimeError):
    """An invoke ran past its timeout; the instance was killed."""


class InstancesBusy(LocalRuntimeError):
    """Every instance stayed busy past the queue timeout (the platform would throttle)."""


class QueueUnavailable(LocalRuntimeError):
    """The queue behind asynchronous invocations (NATS JetStream) cannot be reached,
    or did not confirm an event in time: the event was not accepted."""
