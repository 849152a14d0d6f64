"""The AWS Lambda front door: every HTTP event shape, and the other events beside it.

- :func:`handler` (and :func:`asgi`, :func:`wsgi`) builds a
  :class:`LambdaHandler` for an app; it detects the event's shape per invoke
  (:mod:`faasify.adapters.aws.shapes` names them) and answers in kind.
- :mod:`faasify.adapters.aws.codecs`: one codec per shape.
- :mod:`faasify.adapters.aws.records`: SQS, SNS, S3, EventBridge, Kinesis and
  DynamoDB Streams events, routed to functions registered on the handler.
- :mod:`faasify.adapters.aws.events`: builders of every shape, for tests and the
  local runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["SHAPES", "LambdaHandler", "Shape", "asgi", "handler", "wsgi"]

# Loaded on first use, so that importing the handler's own module (which runs
# this package's __init__ first) costs no more than that module.
_HOMES = {
    "LambdaHandler": "faasify.adapters.aws.handler",
    "asgi": "faasify.adapters.aws.handler",
    "handler": "faasify.adapters.aws.handler",
    "wsgi": "faasify.adapters.aws.handler",
    "SHAPES": "faasify.adapters.aws.shapes",
    "Shape": "faasify.adapters.aws.shapes",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'faasify.adapters.aws' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from faasify.adapters.aws.handler import LambdaHandler, asgi, handler, wsgi
    from faasify.adapters.aws.shapes import SHAPES, Shape
