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

from faasify.adapters.aws.handler import LambdaHandler, asgi, handler, wsgi
from faasify.adapters.aws.shapes import SHAPES, Shape

__all__ = ["SHAPES", "LambdaHandler", "Shape", "asgi", "handler", "wsgi"]
