"""Adapters: turn a WSGI or ASGI app into a FaaS handler."""

from faasify.adapters.handler import LambdaHandler, asgi, detect_app_kind, handler, wsgi
from faasify.adapters.hosted import HostedApp
from faasify.adapters.http import Request, Response
from faasify.adapters.instance import Instance, current_instance
from faasify.adapters.records import RecordsFailedError

__all__ = [
    "HostedApp",
    "Instance",
    "LambdaHandler",
    "RecordsFailedError",
    "Request",
    "Response",
    "asgi",
    "current_instance",
    "detect_app_kind",
    "handler",
    "wsgi",
]
