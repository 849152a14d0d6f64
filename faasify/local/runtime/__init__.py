"""A local FaaS runtime: real instance processes behind the Lambda Runtime API,
with cold starts, warm reuse, scale-out up to a limit and scale to zero."""

from faasify.local.runtime.front import METRICS_PATH, create_app
from faasify.local.runtime.instance import FunctionInstance, InitFailed, InvokeTimedOut
from faasify.local.runtime.scaler import InvokeOutcome, ProcessModel, Scaler, Throttled

__all__ = [
    "METRICS_PATH",
    "FunctionInstance",
    "InitFailed",
    "InvokeOutcome",
    "InvokeTimedOut",
    "ProcessModel",
    "Scaler",
    "Throttled",
    "create_app",
]
