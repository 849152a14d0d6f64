"""Adapters: turn a WSGI or ASGI app into a FaaS handler."""

from faasify.adapters.handler import LambdaHandler, asgi, detect_app_kind, handler, wsgi
from faasify.adapters.http import Request, Response
from faasify.adapters.instance import Instance, current_instance

__all__ = [
    "Instance",
    "LambdaHandler",
    "Request",
    "Response",
    "asgi",
    "current_instance",
    "detect_app_kind",
    "handler",
    "wsgi",
]
