"""Who is calling, and whether they are within their budget: one ASGI middleware
that runs before any endpoint.

Each request is authenticated once. Its rate budget is the authenticated
principal's (its tenant and owner), however the credential is spelled and
whichever credential names it (an API key or a token of the same principal
spend one budget); a request without a valid credential spends its address's.
A refused credential is not answered here: the endpoint that needs a
principal answers 401 (still after the request was counted, so guessing keys
costs budget too). Health and readiness checks are never limited.

When the limiter fails (Redis unreachable), the request goes through: losing
the limit for a while is better than losing the service, and the gate still
guards the database. The outage is logged once when it starts and once when it
ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from faasify.baas.auth import Authenticator, Principal
from faasify.baas.errors import Problem
from faasify.baas.outage import OutageLog
from faasify.baas.throttle import RateLimiter
from faasify.baas.throttle.middleware import apply_decision

__all__ = ["ANONYMOUS", "AccessMiddleware", "principal_of"]

#: Everyone, on a service without authenticators.
ANONYMOUS = Principal(tenant="public", owner="public")

_PRINCIPAL, _REFUSAL = "faasify.principal", "faasify.refusal"
_UNLIMITED = frozenset({"/healthz", "/readyz"})
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def principal_of(scope: Scope) -> Principal:
    """The request's principal, or the 401 its credential (or lack of one) earns."""
    principal: Principal | None = scope.get(_PRINCIPAL)
    if principal is not None:
        return principal
    refusal: Problem | None = scope.get(_REFUSAL)
    raise refusal or Problem(401, "credentials required", headers=_CHALLENGE)


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticators: Sequence[Authenticator],
        limiter: RateLimiter | None,
        outage: OutageLog,
    ) -> None:
        self.app = app
        self.authenticators = list(authenticators)
        self.limiter = limiter
        self.outage = outage

    def _authenticate(self, scope: Scope) -> None:
        if not self.authenticators:
            scope[_PRINCIPAL] = ANONYMOUS
            return
        connection = HTTPConnection(scope)
        try:
            for authenticator in self.authenticators:
                principal = authenticator.authenticate(connection)
                if principal is not None:
                    scope[_PRINCIPAL] = principal
                    return
        except Problem as refusal:
            scope[_REFUSAL] = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._authenticate(scope)
        limiter = self.limiter
        if limiter is None or scope["path"] in _UNLIMITED:
            await self.app(scope, receive, send)
            return
        principal: Principal | None = scope.get(_PRINCIPAL)
        if principal is not None and principal is not ANONYMOUS:
            key = f"p:{principal.digest}"
        else:
            client = scope.get("client")
            if not client:
                await self.app(scope, receive, send)
                return
            key = f"addr:{client[0]}"
        try:
            decision = await limiter.hit(key)
        except Exception as exc:
            self.outage.failed(exc)
            await self.app(scope, receive, send)
            return
        self.outage.succeeded()
        await apply_decision(self.app, decision, scope, receive, send)
