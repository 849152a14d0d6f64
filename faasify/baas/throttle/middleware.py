"""Rate limits at the door of the app, and throttle errors as HTTP answers.

:class:`RateLimitMiddleware` counts every HTTP request against its client's
budget before the app sees it, so a client over its rate costs the service
one Redis round trip and no database work. A refused request gets ``429`` with
``Retry-After``; every answer, refused or not, carries the budget in the
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` headers
(the names of draft-ietf-httpapi-ratelimit-headers up to draft 07, which
clients and gateways already read), so clients can slow down before they
are refused.

:func:`throttle_error_handler` answers :class:`~faasify.baas.throttle.errors.Shed`
with ``503`` and :class:`~faasify.baas.throttle.errors.RateLimited` with
``429``, both with ``Retry-After``::

    Starlette(..., exception_handlers={ThrottledError: throttle_error_handler})

Bodies are RFC 9457 problem details, built by :mod:`faasify.baas.problems`
like every other refusal of the service.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faasify.baas.outage import OutageLog
from faasify.baas.problems import Problem, problem_response
from faasify.baas.throttle.errors import RateLimited, ThrottledError
from faasify.baas.throttle.rate import Decision, RateLimiter

__all__ = [
    "RateLimitMiddleware",
    "apply_decision",
    "client_host",
    "rate_limit_headers",
    "throttle_error_handler",
    "throttle_problem",
]

logger = logging.getLogger("faasify.baas.throttle")


def client_host(scope: Scope) -> str | None:
    """The client's address, the default key: one budget per address.

    Behind a proxy this is the proxy's address unless the server rewrites it
    from forwarding headers (uvicorn ``--proxy-headers``); faasify's Lambda
    adapter already puts the caller's ``sourceIp`` here. Requests without a
    client address are not limited.
    """
    client = scope.get("client")
    return str(client[0]) if client else None


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The ``RateLimit-*`` headers of a decision; ``Retry-After`` too when refused."""
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(math.ceil(decision.reset_after)),
    }
    if not decision.allowed:
        headers["Retry-After"] = _whole_seconds(decision.retry_after)
    return headers


def throttle_problem(exc: ThrottledError) -> Problem:
    """The problem a throttle error answers with: 429 for one client over its rate,
    503 when the service sheds load (:class:`Shed`) for everyone."""
    if isinstance(exc, RateLimited):
        return Problem(
            429,
            f"rate limit reached; retry in {_whole_seconds(exc.retry_after)} s",
            headers=rate_limit_headers(exc.decision),
        )
    return Problem(503, str(exc), headers={"Retry-After": _whole_seconds(exc.retry_after)})


async def throttle_error_handler(request: Request, exc: Exception) -> Response:
    """A Starlette exception handler for :class:`ThrottledError` and its subclasses."""
    if not isinstance(exc, ThrottledError):  # registered for the wrong class
        raise exc
    return problem_response(throttle_problem(exc))


class RateLimitMiddleware:
    """ASGI middleware: one hit per HTTP request, 429 once a client is over.

    ``key(scope)`` names the client whose budget a request spends (an address,
    an API key, a tenant); ``None`` lets the request through uncounted, for
    health checks, say. When the limiter itself fails (Redis unreachable), the
    request goes through, ``fail_open=True``, and the outage is logged once when
    it starts and once when it ends (not once per request): losing
    the rate limit for a while is better than losing the service, and the
    :class:`~faasify.baas.throttle.gate.ConcurrencyGate` still guards the
    database. With ``fail_open=False`` the error propagates (a 500).

    Only ``http`` scopes are limited; lifespan and websocket pass through.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        *,
        key: Callable[[Scope], str | None] = client_host,
        fail_open: bool = True,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.key = key
        self.fail_open = fail_open
        self._outage = OutageLog(
            "the rate limiter", "letting requests through unlimited until it is back", logger
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = self.key(scope)
        if client is None:
            await self.app(scope, receive, send)
            return
        try:
            decision = await self.limiter.hit(client)
        except Exception as exc:
            if not self.fail_open:
                raise
            self._outage.failed(exc)
            await self.app(scope, receive, send)
            return
        self._outage.succeeded()
        await apply_decision(self.app, decision, scope, receive, send)


async def apply_decision(
    app: ASGIApp, decision: Decision, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer a refused request with the 429 problem, or pass an allowed one to ``app``
    with the ``RateLimit`` headers added to its response.

    The one ending of every rate check (this middleware's, and the per-principal one
    after authentication), so that both refuse and inform alike.
    """
    if not decision.allowed:
        response = problem_response(throttle_problem(RateLimited(decision)))
        await response(scope, receive, send)
        return
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in rate_limit_headers(decision).items()
    ]

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    await app(scope, receive, send_with_headers)


def _whole_seconds(seconds: float) -> str:
    """``Retry-After`` takes whole seconds: round up, so a client never comes back early."""
    return str(max(1, math.ceil(seconds)))
