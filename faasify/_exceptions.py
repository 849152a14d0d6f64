"""The exceptions faasify raises, in one hierarchy.

Catch :class:`FaasifyError` to handle anything faasify itself reports, or a
subclass to handle one kind of failure. Errors raised by the wrapped app are
never wrapped in these: an app's own exception stays the app's.

```
FaasifyError
├── ConfigurationError        the handler was built with options that cannot work
├── EventError                an event could not be turned into a request
│   ├── UnsupportedEventError no event source recognises the event's shape
│   └── MalformedEventError   the shape is known but a field is missing or wrong
├── LifespanError             the app's startup or shutdown did not complete
│   ├── LifespanStartupError
│   └── LifespanShutdownError
└── PoolError                 a pool could not give the app a connection
    ├── PoolConnectError      the server cannot be reached within connect_timeout
    └── PoolTimeoutError      every connection stayed busy for acquire_timeout
```
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "EventError",
    "FaasifyError",
    "LifespanError",
    "LifespanShutdownError",
    "LifespanStartupError",
    "MalformedEventError",
    "PoolConnectError",
    "PoolError",
    "PoolTimeoutError",
    "UnsupportedEventError",
]


class FaasifyError(Exception):
    """Root of every error faasify raises on its own account."""


class ConfigurationError(FaasifyError, TypeError):
    """The handler cannot be built as asked (for example, an app of unknown kind).

    It is also a :class:`TypeError` because it is raised for arguments of the
    wrong kind, which is what callers of a constructor expect to catch.
    """


class EventError(FaasifyError):
    """An invocation event could not be translated into an HTTP request."""


class UnsupportedEventError(EventError):
    """No event source recognises the event.

    The message names the shape that was seen (an SQS batch, an EventBridge
    event, a dict with certain keys) so that a misrouted trigger is obvious in
    the function's logs.
    """

    def __init__(self, message: str, *, shape: str) -> None:
        super().__init__(message)
        self.shape = shape


class MalformedEventError(EventError):
    """The event looks like a known source but cannot be decoded.

    The handler answers such an event with a 400 response shaped for its source
    instead of raising, so an API Gateway client sees a clean error.
    """

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.source = source


class LifespanError(FaasifyError):
    """The app's lifespan protocol did not complete."""


class LifespanStartupError(LifespanError):
    """Startup failed; raised at cold start so that the platform sees an init error."""


class LifespanShutdownError(LifespanError):
    """Shutdown failed or ran past its deadline."""


class PoolError(FaasifyError):
    """A pool could not give the app a working connection."""


class PoolConnectError(PoolError):
    """The server could not be reached (refused, unresolvable, or silent past
    ``connect_timeout``). Raised quickly, so the invoke fails with a clear error
    instead of hanging until the function's own timeout."""


class PoolTimeoutError(PoolError):
    """No connection came free within ``acquire_timeout`` (the pool is exhausted)."""
