"""faasify's own instance loop for the Lambda Runtime API (what awslambdaric does).

``python -m faasify.local.bootstrap module:handler`` imports the handler (or
the app, wrapped with faasify.handler: the init phase), then asks
``$AWS_LAMBDA_RUNTIME_API`` for the next invocation, calls the handler and
posts its result or error, forever. An import failure is posted as an init
error. It needs nothing but the standard library, so a
function can run behind the local runtime without awslambdaric installed.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import time
import traceback
from typing import Any

from faasify.cli._target import ImportFailed, TargetError, load_handler, user_traceback

__all__ = ["RuntimeAPIClient", "main"]

_BASE = "/2018-06-01/runtime"


def _error_body(exc: BaseException) -> bytes:
    if isinstance(exc, ImportFailed):  # the function's own module raised: its error, its trace
        return json.dumps(
            {
                "errorMessage": str(exc.error),
                "errorType": type(exc.error).__name__,
                "stackTrace": user_traceback(exc.error),
            }
        ).encode()
    if isinstance(exc, TargetError):
        # The handler's name is wrong: the message says it all, as awslambdaric's
        # Runtime.ImportModuleError does, and a trace of faasify's loader would not help.
        return json.dumps(
            {"errorMessage": str(exc), "errorType": "Runtime.ImportModuleError"}
        ).encode()
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(exc),
        }
    ).encode()


class RuntimeAPIClient:
    """The four calls of the Runtime API, over one keep-alive connection."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self._address)
        connection.connect()
        assert connection.sock is not None
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, bytes]:
        for attempt in (1, 2):
            try:
                self._connection.request(method, _BASE + path, body=body)
                response = self._connection.getresponse()
                return response.status, response.headers, response.read()
            except (ConnectionError, http.client.HTTPException):
                self._connection.close()
                self._connection = self._connect()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def next(self) -> tuple[Any, bytes]:
        status, headers, body = self._call("GET", "/invocation/next")
        if status != 200:
            raise RuntimeError(f"runtime API answered {status} to next")
        return headers, body

    def respond(self, request_id: str, body: bytes) -> None:
        self._call("POST", f"/invocation/{request_id}/response", body)

    def fail(self, request_id: str, body: bytes) -> None:
        self._call("POST", f"/invocation/{request_id}/error", body)

    def init_error(self, body: bytes) -> None:
        self._call("POST", "/init/error", body)


class _Context:
    """The context object handlers receive, from the invocation's headers."""

    def __init__(self, headers: Any) -> None:
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "faasify-local")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m faasify.local.bootstrap module:handler", file=sys.stderr)
        return 2
    client = RuntimeAPIClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        function = load_handler(args[0])
    except BaseException as exc:  # the init phase failed: tell the runtime, then exit
        client.init_error(_error_body(exc))
        return 1
    while True:
        headers, body = client.next()
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        try:
            result = function(json.loads(body), _Context(headers))
            payload = json.dumps(result).encode()
        except Exception as exc:
            client.fail(request_id, _error_body(exc))
        else:
            client.respond(request_id, payload)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
