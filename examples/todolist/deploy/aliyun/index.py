"""The todolist on Alibaba Cloud Function Compute 3.0: handler ``index.handler``.

FC 3.0's built-in Python runtime calls ``handler(event, context)`` with its
HTTP trigger's JSON event, which is not Lambda's; faasify's FC adapter
translates it for the same Flask app the Lambda function runs. The module is
imported once per instance, so the app and its store are built once.

``faasify package`` puts this file at the zip's root (see docs/deploy/aliyun-fc.md).
"""

from __future__ import annotations

from examples.todolist.flask_app import app
from faasify.adapters.aliyun import event_handler

__all__ = ["handler"]

handler = event_handler(app)
