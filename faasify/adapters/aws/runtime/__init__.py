"""faasify's own Lambda runtime loop: streaming, work after the response, SnapStart,
Lambda Managed Instances, tenant isolation.

``faasify runtime module:handler`` (or ``python -m faasify.adapters.aws.runtime``)
talks to ``$AWS_LAMBDA_RUNTIME_API`` in place of AWS's runtime client: set it as
the function's exec wrapper (``AWS_LAMBDA_EXEC_WRAPPER``) on a managed Python
runtime, or run it as a container image's entry point. It needs nothing but the
standard library. ``faasify.handler(app)`` with AWS's runtime client stays the
default; this loop is for what that client cannot do:

- :mod:`.invoker`: ``--invoke-mode response-stream`` streams the app's body as
  produced; either mode posts the answer before the app's work after it.
- :mod:`.snapstart`: pools closed before the snapshot, ``random`` reseeded
  after each restore, your hooks around them, the restore endpoints.
- :mod:`.managed`: a worker process per concurrent request on Managed Instances.
- :mod:`.client`: the Runtime API calls, the invocation id echoed.
"""

from faasify.adapters.aws.runtime.errors import RuntimeAPIError, StreamBroken
from faasify.adapters.aws.runtime.invocation import Invocation, LambdaContext
from faasify.adapters.aws.runtime.invoker import INVOKE_MODES, STREAM_LIMIT, InvokeMode
from faasify.adapters.aws.runtime.loop import INVOKE_MODE_VARIABLE, run
from faasify.adapters.aws.runtime.snapstart import after_restore, before_snapshot
from faasify.core.streaming import after_response

__all__ = [
    "INVOKE_MODES",
    "INVOKE_MODE_VARIABLE",
    "STREAM_LIMIT",
    "Invocation",
    "InvokeMode",
    "LambdaContext",
    "RuntimeAPIError",
    "StreamBroken",
    "after_response",
    "after_restore",
    "before_snapshot",
    "run",
]
