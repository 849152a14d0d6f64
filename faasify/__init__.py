"""faasify: run WSGI and ASGI web apps as stateless FaaS functions.

```python
from faasify import handler
lambda_handler = handler(app)   # Flask, Django, FastAPI, Starlette, ...
```

This package holds what a function author needs: the AWS Lambda handler
factories and the exceptions. Other platforms' factories are in
:mod:`faasify.adapters` (``faasify.adapters.gcf``, ...), pools in
:mod:`faasify.pools`, the data service in :mod:`faasify.baas`, and what a new
front door is built from in :mod:`faasify.core`.
"""

from __future__ import annotations

from faasify._exceptions import (
    AppError,
    AppProtocolError,
    ConfigurationError,
    EventError,
    FaasifyError,
    IncompleteResponseError,
    InvalidRequestError,
    LifespanError,
    LifespanShutdownError,
    LifespanStartupError,
    MalformedEventError,
    PoolConnectError,
    PoolError,
    PoolTimeoutError,
    RecordsFailedError,
    UnsupportedEventError,
)
from faasify._moved import moved_names
from faasify._version import __version__
from faasify.adapters.aws.handler import LambdaHandler, asgi, handler, wsgi

__all__ = [
    "AppError",
    "AppProtocolError",
    "ConfigurationError",
    "EventError",
    "FaasifyError",
    "IncompleteResponseError",
    "InvalidRequestError",
    "LambdaHandler",
    "LifespanError",
    "LifespanShutdownError",
    "LifespanStartupError",
    "MalformedEventError",
    "PoolConnectError",
    "PoolError",
    "PoolTimeoutError",
    "RecordsFailedError",
    "UnsupportedEventError",
    "__version__",
    "asgi",
    "handler",
    "wsgi",
]

# Platform-author machinery that this package exported before faasify.core
# existed: still importable from here for one release, with a warning.
__getattr__ = moved_names(
    "faasify",
    {
        name: (home, "faasify.core")
        for name, home in {
            "HostedApp": "faasify.core.hosted",
            "Instance": "faasify.core.instance",
            "Request": "faasify.core.http",
            "Response": "faasify.core.http",
            "current_instance": "faasify.core.instance",
        }.items()
    },
)
