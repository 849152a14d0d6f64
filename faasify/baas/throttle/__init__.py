"""Throttling for the data service: per-client rate limits and a concurrency gate.

```python
from faasify.baas.throttle import (
    ConcurrencyGate, RateLimitMiddleware, RedisRateLimiter, ThrottledError,
    throttle_error_handler,
)

limiter = RedisRateLimiter(lambda: cache.client, rate=100, per=1.0, burst=20)
gate = ConcurrencyGate(limit=10, queue_size=50, queue_timeout=1.0)  # limit = pool size

app = Starlette(
    routes=...,
    middleware=[Middleware(RateLimitMiddleware, limiter=limiter)],
    exception_handlers={ThrottledError: throttle_error_handler},
)
```

Each piece stands alone: a limiter (:mod:`.rate`) decides, the middleware
(:mod:`.middleware`) turns decisions and errors into HTTP, the gate
(:mod:`.gate`) bounds the work in flight, and :mod:`.errors` holds what they
raise.
"""

from faasify.baas.throttle.errors import RateLimited, Shed, ThrottledError
from faasify.baas.throttle.gate import ConcurrencyGate
from faasify.baas.throttle.middleware import (
    RateLimitMiddleware,
    client_host,
    rate_limit_headers,
    throttle_error_handler,
    throttle_problem,
)
from faasify.baas.throttle.rate import Decision, MemoryRateLimiter, RateLimiter, RedisRateLimiter

__all__ = [
    "ConcurrencyGate",
    "Decision",
    "MemoryRateLimiter",
    "RateLimitMiddleware",
    "RateLimited",
    "RateLimiter",
    "RedisRateLimiter",
    "Shed",
    "ThrottledError",
    "client_host",
    "rate_limit_headers",
    "throttle_error_handler",
    "throttle_problem",
]
