"""Who is calling: API keys (stored hashed) and JWT bearer tokens.

A credential resolves to a :class:`Principal`, whose ``owner`` scopes every
query on an owned collection. API keys are compared by their SHA-256 digest,
so the service's configuration never holds a usable key. Tokens are checked
with PyJWT (HS256 or RS256, expiry and audience enforced).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import HTTPConnection

from faasify.baas.problems import Problem

logger = logging.getLogger("faasify.baas")

__all__ = ["APIKeys", "Authenticator", "JWTAuth", "Principal", "hash_api_key"]


@dataclass(frozen=True)
class Principal:
    """The caller: the tenant and the owner id its rows are stored under."""

    tenant: str
    owner: str
    scopes: frozenset[str] = field(default_factory=frozenset)


class Authenticator(Protocol):
    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        """The principal the request's credential names, ``None`` if it has none."""


def hash_api_key(key: str) -> str:
    """The digest to put in the service's configuration for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


class APIKeys:
    """API keys sent as ``Authorization: Bearer <key>`` or ``X-API-Key``."""

    def __init__(self, digests: Mapping[str, Principal]) -> None:
        self._digests = dict(digests)

    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        key = connection.headers.get("x-api-key")
        if key is None:
            scheme, _, value = connection.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not value or value.count(".") == 2:
                return None
            key = value
        digest = hash_api_key(key.strip())
        for known, principal in self._digests.items():
            if hmac.compare_digest(known, digest):
                return principal
        raise Problem(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})


class JWTAuth:
    """JWT bearer tokens: ``tenant_claim`` and ``owner_claim`` name the principal."""

    def __init__(
        self,
        key: str,
        *,
        algorithms: tuple[str, ...] = ("HS256",),
        audience: str | None = None,
        tenant_claim: str = "tenant",
        owner_claim: str = "sub",
    ) -> None:
        self._key = key
        self._algorithms = list(algorithms)
        self._audience = audience
        self._tenant_claim = tenant_claim
        self._owner_claim = owner_claim

    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        import jwt

        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
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
            raise Problem(
                401, "the token has expired", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        except jwt.PyJWTError as exc:
            # The library's reason is logged, not sent: it describes the check
            # that failed, which helps whoever forges tokens more than the caller.
            logger.info("bearer token refused: %s", exc)
            raise Problem(
                401, "the token is not valid", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        owner = str(claims[self._owner_claim])
        tenant = str(claims.get(self._tenant_claim, owner))
        scopes = frozenset(str(claims.get("scope", "")).split())
        return Principal(tenant=tenant, owner=owner, scopes=scopes)
