"""faasify.baas: a small data service that owns the database and Redis pools.

Functions call it over HTTP instead of each holding a database connection, so
the number of functions no longer decides the number of connections.

```python
from faasify.baas import Collection, Service      # the service side
from faasify.baas import Client                   # the function side
```

Names load on first use: a function that imports only the client does not
pay for SQLAlchemy and Starlette at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faasify.baas.auth import APIKeys, JWTAuth, Principal, hash_api_key
    from faasify.baas.breaker import CircuitBreaker, CircuitOpen
    from faasify.baas.client import (
        AsyncClient,
        Client,
        Conflict,
        Forbidden,
        InvalidRequest,
        NotFound,
        ServiceError,
        ServiceUnavailable,
        Throttled,
        TransportFailed,
        Unauthorized,
    )
    from faasify.baas.collection import Collection
    from faasify.baas.config import (
        DatabaseConfig,
        IdempotencyConfig,
        LimitsConfig,
        OutageConfig,
        Pooler,
    )
    from faasify.baas.errors import BaaSError, Problem, ServiceConfigurationError
    from faasify.baas.query import NamedQuery
    from faasify.baas.service import Service

__all__ = [
    "APIKeys",
    "AsyncClient",
    "BaaSError",
    "CircuitBreaker",
    "CircuitOpen",
    "Client",
    "Collection",
    "Conflict",
    "DatabaseConfig",
    "Forbidden",
    "IdempotencyConfig",
    "InvalidRequest",
    "JWTAuth",
    "LimitsConfig",
    "NamedQuery",
    "NotFound",
    "OutageConfig",
    "Pooler",
    "Principal",
    "Problem",
    "Service",
    "ServiceConfigurationError",
    "ServiceError",
    "ServiceUnavailable",
    "Throttled",
    "TransportFailed",
    "Unauthorized",
    "hash_api_key",
]

_HOMES = {
    "APIKeys": "auth",
    "JWTAuth": "auth",
    "Principal": "auth",
    "hash_api_key": "auth",
    "CircuitBreaker": "breaker",
    "CircuitOpen": "breaker",
    "Collection": "collection",
    "DatabaseConfig": "config",
    "IdempotencyConfig": "config",
    "LimitsConfig": "config",
    "OutageConfig": "config",
    "Pooler": "config",
    "BaaSError": "errors",
    "Problem": "errors",
    "ServiceConfigurationError": "errors",
    "NamedQuery": "query",
    "Service": "service",
    **dict.fromkeys(
        [
            "AsyncClient",
            "Client",
            "Conflict",
            "Forbidden",
            "InvalidRequest",
            "NotFound",
            "ServiceError",
            "ServiceUnavailable",
            "Throttled",
            "TransportFailed",
            "Unauthorized",
        ],
        "client",
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'faasify.baas' has no attribute {name!r}")
    return getattr(importlib.import_module(f"faasify.baas.{home}"), name)
