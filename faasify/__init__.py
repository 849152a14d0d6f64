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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any


def _moved_names(module: str, moved: dict[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module`` that finds each moved name in its new home.

    ``moved`` maps a name to ``(the module it lives in, where users should
    import it from)``; using one gives a :class:`DeprecationWarning`.
    """

    def __getattr__(name: str) -> Any:
        found = moved.get(name)
        if found is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        import importlib
        import warnings

        home, public = found
        warnings.warn(
            f"{module}.{name} is deprecated and will be removed in faasify 0.3; "
            f"import it from {public}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return __getattr__


if TYPE_CHECKING:
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
    from faasify._version import __version__

# The names below import the front door's modules, which use _moved_names.
from faasify.adapters.aws.handler import LambdaHandler, asgi, handler, wsgi  # noqa: E402

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
_moved = _moved_names(
    "faasify",
    {
        "HostedApp": ("faasify.core.hosted", "faasify.core"),
        "Instance": ("faasify.core.instance", "faasify.core"),
        "Request": ("faasify.core.http", "faasify.core"),
        "Response": ("faasify.core.http", "faasify.core"),
        "current_instance": ("faasify.core.instance", "faasify.core"),
    },
)


#: The exceptions, defined in faasify._exceptions: that module (twenty classes) is
#: imported by the first use of one, not by ``import faasify``, since a function
#: that raises none of them should not pay for building them at cold start.
_EXCEPTIONS = frozenset(
    {
        "AppError",
        "AppProtocolError",
        "ConfigurationError",
        "EventError",
        "FaasifyError",
        "IncompleteResponseError",
        "InvalidRequestError",
        "LifespanError",
        "LifespanShutdownError",
        "LifespanStartupError",
        "MalformedEventError",
        "PoolConnectError",
        "PoolError",
        "PoolTimeoutError",
        "RecordsFailedError",
        "UnsupportedEventError",
    }
)


def __getattr__(name: str) -> Any:
    if name == "__version__":  # faasify/_version.py, which the build also reads
        from faasify._version import __version__

        globals()[name] = __version__
        return __version__
    if name in _EXCEPTIONS:
        from faasify import _exceptions

        value = getattr(_exceptions, name)
        globals()[name] = value
        return value
    return _moved(name)
