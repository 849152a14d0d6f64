"""One invocation as the Runtime API hands it over, and the context a handler gets.

``GET /runtime/invocation/next`` answers with the event as its body and the
invocation's facts as headers (Runtime API reference, "Next invocation":
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-next):
request id, deadline, function ARN, X-Ray trace header, and, when they apply,
the mobile SDK's client context and Cognito identity. Two more arrive only
where they apply:

- ``Lambda-Runtime-Aws-Tenant-Id``, for functions in tenant isolation mode
  (https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation.html); AWS's
  Python client gives it to handlers as ``context.tenant_id``.
- ``Lambda-Runtime-Invocation-Id``, a per-attempt id that the runtime echoes
  on ``/response`` and ``/error`` so that Lambda can refuse the late answer
  of an attempt that timed out (AWS's runtime clients added the echo in
  2026: aws-lambda-python-runtime-interface-client 4.0.2, PR #214;
  aws-lambda-cpp PR #221; aws-lambda-rust-runtime PR #1159).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Protocol

__all__ = ["Invocation", "LambdaContext", "forget_function_facts"]

_ENV = os.environ


class Headers(Protocol):
    """What a header map must answer: ``http.client``'s message, a dict, ..."""

    def get(self, name: str, /) -> str | None: ...


class Invocation:
    """The event and the headers of one ``next`` answer, read once."""

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "deadline_ms",
        "function_arn",
        "invocation_id",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, headers: Headers, body: bytes) -> None:
        get = headers.get
        self.body = body
        self.request_id: str = get("Lambda-Runtime-Aws-Request-Id") or ""
        self.invocation_id: str | None = get("Lambda-Runtime-Invocation-Id") or None
        try:
            self.deadline_ms = int(get("Lambda-Runtime-Deadline-Ms") or 0)
        except ValueError:
            self.deadline_ms = 0
        self.function_arn: str = get("Lambda-Runtime-Invoked-Function-Arn") or ""
        self.trace_id: str | None = get("Lambda-Runtime-Trace-Id") or None
        self.tenant_id: str | None = get("Lambda-Runtime-Aws-Tenant-Id") or None
        self.client_context: str | None = get("Lambda-Runtime-Client-Context") or None
        self.cognito_identity: str | None = get("Lambda-Runtime-Cognito-Identity") or None

    def remaining_seconds(self) -> float:
        """Seconds until the invocation's deadline (negative past it)."""
        return self.deadline_ms / 1000 - time.time()

    def __repr__(self) -> str:
        return f"<Invocation {self.request_id}>"


_facts: tuple[str, str, str, str, str] | None = None


def forget_function_facts() -> None:
    """Read the function's facts from the environment again (a copy whose environment
    changed after a fork)."""
    global _facts
    _facts = None


def _function_facts() -> tuple[str, str, str, str, str]:
    """The function's name, version, memory, log group and stream, read once per process."""
    global _facts
    facts = _facts
    if facts is None:
        facts = _facts = (
            _ENV.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            _ENV.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            _ENV.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", ""),
            _ENV.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            _ENV.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        )
    return facts


def _json_header(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(f"the {name} header is not JSON") from None


class LambdaContext:
    """The handler's ``context``: the attributes AWS's Python runtime gives, plus two.

    As ``awslambdaric``'s: ``aws_request_id``, ``invoked_function_arn``,
    ``function_name``, ``function_version``, ``memory_limit_in_mb``,
    ``log_group_name``, ``log_stream_name``, ``tenant_id``, ``identity`` and
    ``client_context`` (here the decoded JSON, or ``None``) and
    :meth:`get_remaining_time_in_millis`. Added: ``trace_id``, this
    invocation's X-Ray header (the one to use where several invocations share
    a process's environment), and ``invocation_id``.
    """

    __slots__ = (
        "_deadline_ms",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invocation_id",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, invocation: Invocation) -> None:
        self.aws_request_id = invocation.request_id
        self.invoked_function_arn = invocation.function_arn
        self.tenant_id = invocation.tenant_id
        self.trace_id = invocation.trace_id
        self.invocation_id = invocation.invocation_id
        self._deadline_ms = invocation.deadline_ms
        (
            self.function_name,
            self.function_version,
            self.memory_limit_in_mb,
            self.log_group_name,
            self.log_stream_name,
        ) = _function_facts()
        self.client_context = _json_header(invocation.client_context, "client context")
        self.identity = _json_header(invocation.cognito_identity, "Cognito identity")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return f"<LambdaContext {self.aws_request_id}>"
