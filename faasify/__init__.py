"""faasify: run WSGI and ASGI web apps as stateless FaaS functions.

```python
from faasify import handler
lambda_handler = handler(app)   # Flask, Django, FastAPI, Starlette, ...
```
"""

from faasify._exceptions import (
    ConfigurationError,
    EventError,
    FaasifyError,
    LifespanError,
    LifespanShutdownError,
    LifespanStartupError,
    MalformedEventError,
    PoolConnectError,
    PoolError,
    PoolTimeoutError,
    UnsupportedEventError,
)
from faasify._version import __version__
from faasify.adapters import (
    HostedApp,
    Instance,
    LambdaHandler,
    RecordsFailedError,
    Request,
    Response,
    asgi,
    current_instance,
    handler,
    wsgi,
)

__all__ = [
    "ConfigurationError",
    "EventError",
    "FaasifyError",
    "HostedApp",
    "Instance",
    "LambdaHandler",
    "LifespanError",
    "LifespanShutdownError",
    "LifespanStartupError",
    "MalformedEventError",
    "PoolConnectError",
    "PoolError",
    "PoolTimeoutError",
    "RecordsFailedError",
    "Request",
    "Response",
    "UnsupportedEventError",
    "__version__",
    "asgi",
    "current_instance",
    "handler",
    "wsgi",
]
