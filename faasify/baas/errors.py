"""The exceptions of the data service and its client, under ``FaasifyError``.

```
FaasifyError
├── ConfigurationError
│   └── ServiceConfigurationError  the service cannot be built as declared (a ValueError too)
└── BaaSError                      anything the data service or its client reports
    ├── Problem                    the service refuses a request: answered as problem+json
    ├── CircuitOpen                the database is considered down (the breaker is open)
    ├── ThrottledError             refused to protect the service: RateLimited, Shed
    └── ServiceError               the client: the service refused or failed a call
        ├── InvalidRequest, Unauthorized, Forbidden, NotFound, Conflict
        ├── Throttled
        │   └── ServiceUnavailable
        └── TransportFailed
```

Catch ``BaaSError`` for anything the data service stands behind, ``ServiceError``
in a function that calls it, or one leaf for one kind of answer.
"""

from __future__ import annotations

from typing import Any

from faasify._exceptions import ConfigurationError, FaasifyError

__all__ = ["BaaSError", "Problem", "ServiceConfigurationError"]


class BaaSError(FaasifyError):
    """Root of what the data service and its client raise."""


class ServiceConfigurationError(ConfigurationError, ValueError):
    """The service cannot be built as declared: an option out of range, a column
    that cannot be filtered on, a reserved name. Raised when the service is built
    (or at startup, for what only the running process can tell)."""


class Problem(BaaSError):
    """Raise anywhere in a request to answer with a problem+json response.

    ``status`` and ``detail`` become the RFC 9457 body; ``headers`` go with the
    answer (``Retry-After``, ``WWW-Authenticate``); ``extra`` adds members to it.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "about:blank",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extra = extra or {}
