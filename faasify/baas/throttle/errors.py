"""The refusals of the throttle, as exceptions that say when to come back.

```
ThrottledError        the service refused work to protect itself; retry_after says when to retry
├── RateLimited       this client went over its rate (answered 429)
└── Shed              the service is saturated for everyone (answered 503)
```

Both carry ``retry_after`` in seconds, which becomes the ``Retry-After``
header, so a well-behaved client backs off exactly as long as needed.
"""

from __future__ import annotations

from faasify.baas.errors import BaaSError
from faasify.baas.throttle.rate import Decision

__all__ = ["RateLimited", "Shed", "ThrottledError"]


class ThrottledError(BaaSError):
    """A request was refused to protect the service; retry after ``retry_after`` s."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(ThrottledError):
    """The client went over its rate limit; ``decision`` has its whole budget.

    :class:`~faasify.baas.throttle.middleware.RateLimitMiddleware` answers
    429 itself; raise this from an endpoint that checks a limiter of its own
    (say, a tighter one on writes).
    """

    def __init__(self, decision: Decision, message: str = "rate limit reached") -> None:
        super().__init__(message, retry_after=decision.retry_after)
        self.decision = decision


class Shed(ThrottledError):
    """The service refused the request at once rather than queue it for long.

    Raised by :class:`~faasify.baas.throttle.gate.ConcurrencyGate` when its
    queue is full or a waiter has waited ``queue_timeout``: a quick 503 the
    client can retry beats a response that arrives after its timeout.
    """

    def __init__(self, message: str = "the service is busy", *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
