"""App runners: call a WSGI or ASGI app with a :class:`~faasify.adapters.http.Request`."""

from faasify.adapters.runners.asgi import ASGIRunner
from faasify.adapters.runners.lifespan import LifespanCycle, LifespanMode
from faasify.adapters.runners.wsgi import WSGIRunner

__all__ = ["ASGIRunner", "LifespanCycle", "LifespanMode", "WSGIRunner"]
