"""A Lambda context object for local invokes, with the attributes apps read."""

from __future__ import annotations

import time
import uuid

__all__ = ["LocalContext"]


class LocalContext:
    """Mirrors ``awslambdaric``'s context: ids, limits and the remaining time."""

    def __init__(
        self,
        function_name: str = "faasify-local",
        timeout: float = 30.0,
        memory_limit_in_mb: int = 1024,
        request_id: str | None = None,
    ) -> None:
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
