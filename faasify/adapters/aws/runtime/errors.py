"""What faasify's runtime loop reports about the Runtime API itself, under FaasifyError.

An app's own exceptions never become these: they are the app's, reported to
Lambda as the invocation's error. These say that the conversation with the
Runtime API broke.
"""

from __future__ import annotations

from faasify._exceptions import FaasifyError

__all__ = ["RuntimeAPIError", "StreamBroken"]


class RuntimeAPIError(FaasifyError, RuntimeError):
    """The Runtime API answered what the loop cannot go on from (a 500: exit at once)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class StreamBroken(RuntimeAPIError):
    """The connection of a streamed response closed before the response was whole."""
