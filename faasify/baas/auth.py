"""Who is calling: API keys (stored hashed) and JWT bearer tokens.

A credential resolves to a :class:`Principal`: a tenant and an owner id within
it. Rows, kept reads, idempotency keys and rate budgets all belong to the pair,
never to the owner id alone, so two tenants that both have a user ``u1`` never
see each other's data (see "Security model" in docs/baas.md).

API keys are looked up by their SHA-256 digest, so the service's configuration
never holds a usable key. Tokens are checked with PyJWT (HS256 or RS256, expiry
and audience enforced). A credential is read the same way however it is
spelled: the scheme ``Bearer`` in any case, any run of spaces or tabs after it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from starlette.requests import HTTPConnection

from faasify.baas.errors import Problem

logger = logging.getLogger("faasify.baas")

__all__ = ["APIKeys", "Authenticator", "JWTAuth", "Principal", "bearer_token", "hash_api_key"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace(":", "%3A")


@dataclass(frozen=True)
class Principal:
    """The caller: the tenant and the owner id its rows are stored under."""

    tenant: str
    owner: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def key(self) -> str:
        """Tenant and owner as one string that no other pair maps to.

        The tenant with ``%`` and ``:`` percent-escaped, a ``:``, then the owner:
        the first ``:`` always ends the tenant, so ``("a:b", "c")`` and
        ``("a", "b:c")`` stay apart. This is the value an owned collection without
        a tenant column stores in its owner column.
        """
        return f"{_escape(self.tenant)}:{self.owner}"

    @cached_property
    def digest(self) -> str:
        """A fixed-length name for the pair, for keys in Redis and the keys table."""
        return hashlib.sha256(self.key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class Authenticator(Protocol):
    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        """The principal the request's credential names, ``None`` if it has none."""


def hash_api_key(key: str) -> str:
    """The digest to put in the service's configuration for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(connection: HTTPConnection) -> str | None:
    """The credential of an ``Authorization: Bearer`` header, however it is spelled."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


class APIKeys:
    """API keys sent as ``Authorization: Bearer <key>`` or ``X-API-Key``."""

    def __init__(self, digests: Mapping[str, Principal]) -> None:
        self._digests = {digest.lower(): principal for digest, principal in digests.items()}

    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        key = connection.headers.get("x-api-key")
        if key is None:
            key = bearer_token(connection)
            if key is None or key.count(".") == 2:  # none, or a JWT for another authenticator
                return None
        # A dictionary lookup of a SHA-256 digest: timing tells an attacker how many
        # leading digits of a digest matched, which brings no key any closer.
        principal = self._digests.get(hash_api_key(key.strip()))
        if principal is None:
            raise Problem(401, "unknown API key", headers=_CHALLENGE)
        return principal


class JWTAuth:
    """JWT bearer tokens: ``tenant_claim`` and ``owner_claim`` name the principal.

    ``tenant``: the one tenant every token of this key belongs to. A token that
    names another tenant in ``tenant_claim`` is refused, so whoever can get a
    token signed cannot move into a tenant of their choosing. Without it the
    claim names the tenant, and a token without the claim belongs to the
    tenant ``default_tenant``.
    """

    def __init__(
        self,
        key: str,
        *,
        algorithms: tuple[str, ...] = ("HS256",),
        audience: str | None = None,
        tenant_claim: str = "tenant",
        owner_claim: str = "sub",
        tenant: str | None = None,
        default_tenant: str = "default",
    ) -> None:
        self._key = key
        self._algorithms = list(algorithms)
        self._audience = audience
        self._tenant_claim = tenant_claim
        self._owner_claim = owner_claim
        self._tenant = tenant
        self._default_tenant = default_tenant

    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        import jwt

        token = bearer_token(connection)
        if token is None or token.count(".") != 2:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                options={"require": ["exp", self._owner_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise Problem(401, "the token has expired", headers=_CHALLENGE) from None
        except jwt.PyJWTError as exc:
            # The library's reason is logged, not sent: it describes the check
            # that failed, which helps whoever forges tokens more than the caller.
            logger.info("bearer token refused: %s", exc)
            raise Problem(401, "the token is not valid", headers=_CHALLENGE) from None
        owner = claims[self._owner_claim]
        claimed = claims.get(self._tenant_claim)
        if not isinstance(owner, (str, int)) or isinstance(owner, bool) or owner == "":
            raise Problem(401, "the token is not valid", headers=_CHALLENGE)
        if claimed is not None and not isinstance(claimed, str):
            raise Problem(401, "the token is not valid", headers=_CHALLENGE)
        if self._tenant is not None:
            if claimed is not None and claimed != self._tenant:
                logger.info("bearer token refused: it names tenant %r", claimed)
                raise Problem(401, "the token is not valid", headers=_CHALLENGE)
            tenant = self._tenant
        else:
            tenant = claimed or self._default_tenant
        scopes = frozenset(str(claims.get("scope", "")).split())
        return Principal(tenant=tenant, owner=str(owner), scopes=scopes)
